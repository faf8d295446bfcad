"""Sessions that end: logout, logout-all, a password change and a reset each end access
tokens at once (the next request is a 401), and a person sees and ends their sessions."""

import uuid

import pytest
from sqlalchemy import text

from tests.conftest import PASSWORD, assert_problem, emailed_token, new_person, service_scalar


@pytest.fixture
async def email(db) -> str:
    return (await new_person(db, "sessions"))[1]


async def sign_in(client, email: str, password: str = PASSWORD, agent: str = "pytest") -> dict:
    response = await client.post(
        "/auth/token", data={"username": email, "password": password}, headers={"User-Agent": agent}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def works(client, pair: dict) -> bool:
    response = await client.get("/me", headers=bearer(pair))
    if response.status_code == 401:
        assert_problem(response, 401, "unauthorized")
        return False
    assert response.status_code == 200, response.text
    return True


async def test_logout_ends_the_access_token_at_once(client, email):
    pair, other = await sign_in(client, email), await sign_in(client, email)
    assert (await client.post("/auth/logout", headers=bearer(pair))).status_code == 204
    assert not await works(client, pair)
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401)
    # Another session of the same person goes on.
    assert await works(client, other)


async def test_logout_all_ends_every_session(client, email):
    pairs = [await sign_in(client, email) for _ in range(3)]
    assert (await client.post("/auth/logout-all", headers=bearer(pairs[0]))).status_code == 204
    for pair in pairs:
        assert not await works(client, pair)
        assert_problem(await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401)
    assert_problem(await client.post("/auth/logout-all"), 401, "unauthorized")


async def test_a_password_change_ends_the_other_sessions(client, email):
    mine, other = await sign_in(client, email), await sign_in(client, email)
    wrong = await client.post(
        "/auth/password", json={"current_password": "not it", "new_password": "a new password"}, headers=bearer(mine)
    )
    assert_problem(wrong, 403, "wrong-password")
    response = await client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "a new password"}, headers=bearer(mine)
    )
    assert response.status_code == 200, response.text
    assert not await works(client, other)
    assert await works(client, response.json())
    assert await works(client, mine)  # this session goes on
    assert_problem(
        await client.post("/auth/token", data={"username": email, "password": PASSWORD}), 401, "unauthorized"
    )
    await sign_in(client, email, "a new password")


async def test_a_reset_sets_the_password_and_ends_every_session(client, db, settings, email):
    pair = await sign_in(client, email)
    response = await client.post("/auth/password-reset", json={"email": email.upper()})
    assert response.status_code == 202, response.text
    reset_id = await service_scalar(
        db,
        "select r.id from server.password_resets r join public.users u on u.id = r.user_id"
        " where lower(u.email) = lower(:email)",
        email=email,
    )
    token = await emailed_token(db, settings, reset_id)
    confirm = {"token": token, "new_password": "reset password"}
    assert (await client.post("/auth/password-reset/confirm", json=confirm)).status_code == 204
    assert not await works(client, pair)
    await sign_in(client, email, "reset password")
    # The link is single-use.
    reused = await client.post("/auth/password-reset/confirm", json={**confirm, "new_password": "another one"})
    assert_problem(reused, 400, "invalid-token")
    assert_problem(
        await client.post("/auth/password-reset/confirm", json={"token": "x" * 43, "new_password": "whatever!"}),
        400,
        "invalid-token",
    )


async def test_reset_requests_for_unknown_addresses_are_answered_alike_and_queue_nothing(client, db):
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    response = await client.post("/auth/password-reset", json={"email": unknown})
    assert response.status_code == 202
    async with db.as_service() as session:
        queued = await session.scalar(
            text("select count(*) from server.mail_outbox where to_address = :a"), {"a": unknown}
        )
    assert queued == 0


async def test_reset_requests_are_limited_per_account(client, db, email):
    for _ in range(5):
        assert (await client.post("/auth/password-reset", json={"email": email})).status_code == 202
    async with db.as_service() as session:
        queued = await session.scalar(
            text("select count(*) from server.mail_outbox where to_address = :a and kind = 'password_reset'"),
            {"a": email},
        )
    assert queued == 3


async def test_my_sessions_are_listed_and_one_can_be_ended(client, email):
    phone = await sign_in(client, email, agent="Phone Browser")
    laptop = await sign_in(client, email, agent="Laptop Browser")
    response = await client.get("/me/sessions", headers=bearer(laptop))
    assert response.status_code == 200, response.text
    sessions = response.json()
    assert sorted(s["client"] for s in sessions) == ["Laptop Browser", "Phone Browser"]
    assert [s["current"] for s in sessions if s["client"] == "Laptop Browser"] == [True]
    assert all(s["created_at"] and s["last_used_at"] and s["address"] for s in sessions)

    phone_id = next(s["id"] for s in sessions if s["client"] == "Phone Browser")
    assert (await client.delete(f"/me/sessions/{phone_id}", headers=bearer(laptop))).status_code == 204
    assert not await works(client, phone)
    assert [s["client"] for s in (await client.get("/me/sessions", headers=bearer(laptop))).json()] == [
        "Laptop Browser"
    ]
    # Ending it again, or someone else's, or one that never was: 404.
    assert_problem(await client.delete(f"/me/sessions/{phone_id}", headers=bearer(laptop)), 404, "not-found")
    assert_problem(await client.delete(f"/me/sessions/{uuid.uuid4()}", headers=bearer(laptop)), 404, "not-found")


async def test_someone_elses_session_cannot_be_ended(client, db, email):
    mine = await sign_in(client, email)
    _, other_email = await new_person(db, "other")
    theirs = await sign_in(client, other_email)
    their_id = (await client.get("/me/sessions", headers=bearer(theirs))).json()[0]["id"]
    assert_problem(await client.delete(f"/me/sessions/{their_id}", headers=bearer(mine)), 404, "not-found")
    assert await works(client, theirs)
