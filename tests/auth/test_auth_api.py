"""The auth API end to end: sign-in (form and JSON), the access token, throttling,
token rejection, refresh-token rotation with reuse detection, and logout.

Tests that change a person (failed logins, disabling) use people of their own, so the
shared world stays usable for every other test."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import jwt
import pytest
from sqlalchemy import text

from schoolbase.auth.tokens import issue_access_token
from tests.conftest import PASSWORD, assert_problem, new_person


@pytest.fixture
async def person(db) -> tuple[uuid.UUID, str]:
    return await new_person(db)


def address_client(app, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def dedicated_address() -> str:
    # The shared ``client`` fixture uses 10.0-249.0.1, so 10.251.x.y is never anyone else's.
    n = uuid.uuid4().int
    return f"10.251.{n % 250}.{(n >> 8) % 250 + 1}"


async def token_form(client, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "password", "username": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Sign-in


async def test_token_with_oauth2_form(client, person, settings):
    user_id, email = person
    response = await token_form(client, email)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == settings.access_token_minutes * 60
    assert pair["access_token"] and pair["refresh_token"]
    assert pair["access_token"] != pair["refresh_token"]

    me = await client.get("/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == str(user_id)
    assert me.json()["user"]["email"] == email


async def test_token_with_json_body(client, person):
    user_id, email = person
    response = await client.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    me = await client.get("/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["user"]["id"] == str(user_id)


async def test_email_is_matched_without_regard_to_case(client, person):
    user_id, email = person
    response = await client.post("/auth/token", json={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 200, response.text
    me = await client.get("/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["user"]["id"] == str(user_id)


async def test_form_with_another_grant_type_is_refused(client, person):
    _, email = person
    response = await client.post(
        "/auth/token", data={"grant_type": "client_credentials", "username": email, "password": PASSWORD}
    )
    assert_problem(response, 400, "unsupported-grant-type")


async def test_access_token_is_hs256_with_supabase_claims(client, person, settings):
    user_id, email = person
    before = int(time.time())
    token = (await token_form(client, email)).json()["access_token"]

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    claims = jwt.decode(
        token, settings.jwt_secret.get_secret_value(), algorithms=["HS256"], audience=settings.jwt_audience
    )
    assert claims["sub"] == str(user_id)
    assert claims["role"] == "authenticated"
    assert claims["aud"] == settings.jwt_audience
    assert claims["email"] == email
    lifetime = settings.access_token_minutes * 60
    assert before + lifetime - 5 <= claims["exp"] <= int(time.time()) + lifetime + 5
    # The token names no organization roles: those are read from the database on every request.
    assert not {"roles", "org_roles", "organizations"} & claims.keys()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "some-other-secret-0123456789abcdef0123", algorithms=["HS256"], audience=settings.jwt_audience
        )


async def test_wrong_password_is_a_401_problem(client, person):
    _, email = person
    response = await token_form(client, email, "not the password")
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body and "refresh_token" not in body


async def test_unknown_email_is_answered_like_a_wrong_password(client, person):
    _, email = person
    unknown = assert_problem(await token_form(client, f"nobody-{uuid.uuid4().hex[:8]}@example.org"), 401)
    wrong = assert_problem(await token_form(client, email, "not the password"), 401)
    # The answer must not reveal which accounts exist.
    assert unknown["detail"] == wrong["detail"]
    assert unknown["type"] == wrong["type"]


async def test_disabled_account_is_answered_like_a_wrong_password(client, db, person):
    user_id, email = person
    async with db.as_service() as session:
        await session.execute(text("update users set disabled_at = now() where id = :id"), {"id": user_id})
    disabled = assert_problem(await token_form(client, email), 401, "unauthorized")
    wrong = assert_problem(await token_form(client, email, "not the password"), 401, "unauthorized")
    assert disabled == wrong


# Throttling


def assert_throttled(response, settings, reason: str) -> None:
    """A 429 for too many failed sign-ins whose detail names ``reason``, to retry within the window."""
    body = assert_problem(response, 429, "too-many-login-failures")
    assert reason in body["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= settings.login_window_seconds


async def test_failures_from_one_address_never_lock_the_owner_out_elsewhere(app, db, client, person, settings):
    _, email = person
    for _ in range(10):
        response = await token_form(client, email, "wrong password")
        assert response.status_code in (401, 429), response.text
    # The guessing address is refused for this account...
    assert_throttled(await token_form(client, email), settings, "account from this address")
    # ...while the owner signs in from anywhere else at once.
    async with address_client(app, dedicated_address()) as elsewhere:
        assert (await token_form(elsewhere, email)).status_code == 200
    # Another account from the guessing address is not affected.
    _, other = await new_person(db)
    assert (await token_form(client, other)).status_code == 200


async def test_guessing_from_many_addresses_slows_down_but_never_locks(app, db, slow_settings):
    _, email = await new_person(db)
    waits = []
    for _ in range(6):
        async with address_client(app, dedicated_address()) as http:
            started = time.monotonic()
            assert_problem(await token_form(http, email, "a guess"), 401, "unauthorized")
            waits.append(time.monotonic() - started)
    # Past the threshold (3) each attempt waits twice as long as the one before (0.25 s, 0.5 s, 1 s).
    assert waits[4] >= 0.5 and waits[5] >= 1.0, waits
    # The owner still gets in from a new address, after the capped wait (1 s), never refused.
    async with address_client(app, dedicated_address()) as owner:
        started = time.monotonic()
        assert (await token_form(owner, email)).status_code == 200
        assert time.monotonic() - started >= 1.0
    # And the success clears the account's count, so the next sign-in does not wait.
    async with db.as_service() as session:
        left = await session.scalar(
            text("select count(*) from server.login_failures where scope = 'account' and key = :k"), {"k": email}
        )
    assert left == 0


async def test_success_resets_the_account_counter(client, person, settings):
    _, email = person
    limit = settings.login_max_failures_per_account_address
    for _ in range(limit - 1):
        assert_problem(await token_form(client, email, "wrong password"), 401)
    assert (await token_form(client, email)).status_code == 200
    # Without the reset this would be failure number 2 * (limit - 1) >= limit.
    for _ in range(limit - 1):
        assert_problem(await token_form(client, email, "wrong password"), 401)
    assert (await token_form(client, email)).status_code == 200


@pytest.fixture
def slow_settings(app):
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={"login_account_slowdown_after": 3, "login_account_max_delay_seconds": 1.0}
    )
    yield app.state.settings
    app.state.settings = original


@pytest.fixture
def strict_settings(app):
    """Routes read ``app.state.settings``; a stricter copy for one test, then the original again.
    (monkeypatch cannot undo attributes of Starlette's State, which keeps them in a dict.)"""
    original = app.state.settings
    app.state.settings = original.model_copy(update={"login_max_failures_per_address": 3})
    yield app.state.settings
    app.state.settings = original


async def test_address_is_throttled_after_too_many_failures(app, db, strict_settings):
    strict = strict_settings
    _, email = await new_person(db)
    address = dedicated_address()

    async with address_client(app, address) as http:
        # Failures spread over several accounts: no single account reaches its limit.
        for _ in range(strict.login_max_failures_per_address):
            assert_problem(await token_form(http, f"guess-{uuid.uuid4().hex[:8]}@example.org"), 401)
        assert_throttled(await token_form(http, email), strict, "address")

    # The same person from another address is fine: the block is on the address.
    async with address_client(app, dedicated_address()) as other:
        assert (await token_form(other, email)).status_code == 200


# Access tokens the API must refuse


def forged(claims: dict, *, secret: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def good_claims(settings, user_id: uuid.UUID, email: str, session_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "role": "authenticated",
        "aud": settings.jwt_audience,
        "email": email,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


BAD_TOKENS = {
    "other-secret": lambda s, c: forged(c, secret="another-secret-0123456789abcdef0123456789"),
    "expired": lambda s, c: forged({**c, "iat": c["iat"] - 7200, "exp": c["iat"] - 3600}, secret=s),
    "alg-none": lambda s, c: unsigned(c),
    "alg-none-with-signature": lambda s, c: unsigned(c) + "c2lnbmF0dXJl",
    "hs512": lambda s, c: forged(c, secret=s, algorithm="HS512"),
    "wrong-audience": lambda s, c: forged({**c, "aud": "somebody-else"}, secret=s),
    "no-audience": lambda s, c: forged({k: v for k, v in c.items() if k != "aud"}, secret=s),
    "no-expiry": lambda s, c: forged({k: v for k, v in c.items() if k != "exp"}, secret=s),
    "service-role": lambda s, c: forged({**c, "role": "service_role"}, secret=s),
    "no-role": lambda s, c: forged({k: v for k, v in c.items() if k != "role"}, secret=s),
    "sub-not-a-uuid": lambda s, c: forged({**c, "sub": "not-a-uuid"}, secret=s),
    "sub-not-a-string": lambda s, c: forged({**c, "sub": 12345}, secret=s),
    "unknown-user": lambda s, c: forged({**c, "sub": str(uuid.uuid4())}, secret=s),
    "no-session": lambda s, c: forged({k: v for k, v in c.items() if k != "sid"}, secret=s),
    "unknown-session": lambda s, c: forged({**c, "sid": str(uuid.uuid4())}, secret=s),
    "sid-not-a-uuid": lambda s, c: forged({**c, "sid": "not-a-uuid"}, secret=s),
    "malformed": lambda s, c: "not-a-jwt",
    "three-garbage-parts": lambda s, c: "abc.def.ghi",
    "truncated": lambda s, c: forged(c, secret=s)[:-10],
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 case
@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_bad_access_tokens_are_refused(client, settings, person, kind):
    user_id, email = person
    secret = settings.jwt_secret.get_secret_value()
    session_id = session_of((await token_form(client, email)).json(), settings)
    # The same claims signed properly are accepted: the test changes one thing at a time.
    good = good_claims(settings, user_id, email, session_id)
    assert (await client.get("/me", headers=bearer(forged(good, secret=secret)))).status_code == 200

    token = BAD_TOKENS[kind](secret, good)
    response = await client.get("/me", headers=bearer(token))
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def session_of(pair: dict, settings) -> str:
    claims = jwt.decode(
        pair["access_token"], settings.jwt_secret.get_secret_value(), algorithms=["HS256"], audience="authenticated"
    )
    return claims["sid"]


async def test_issued_token_that_has_expired_is_refused(client, settings, person):
    user_id, email = person
    session_id = uuid.UUID(session_of((await token_form(client, email)).json(), settings))
    token = issue_access_token(settings, user_id, email, session_id, now=datetime.now(UTC) - timedelta(hours=2))
    assert_problem(await client.get("/me", headers=bearer(token)), 401, "unauthorized")


async def test_a_token_used_while_valid_is_refused_once_it_expires(client, settings, person, monkeypatch):
    """Its signature is verified once, but every request still checks its expiry."""
    user_id, email = person
    session_id = uuid.UUID(session_of((await token_form(client, email)).json(), settings))
    token = issue_access_token(settings, user_id, email, session_id)
    assert (await client.get("/me", headers=bearer(token))).status_code == 200
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr("schoolbase.auth.tokens.time", SimpleNamespace(time=lambda: expiry))
    assert_problem(await client.get("/me", headers=bearer(token)), 401, "unauthorized")


async def test_no_token_is_401_on_me(client):
    assert_problem(await client.get("/me"), 401, "unauthorized")
    assert_problem(await client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "unauthorized")


async def test_token_of_a_disabled_user_is_refused(client, db, person):
    user_id, email = person
    pair = (await token_form(client, email)).json()
    assert (await client.get("/me", headers=bearer(pair["access_token"]))).status_code == 200

    async with db.as_service() as session:
        await session.execute(text("update users set disabled_at = now() where id = :id"), {"id": user_id})

    assert_problem(await client.get("/me", headers=bearer(pair["access_token"])), 401, "unauthorized")
    assert_problem(await client.get("/classes", headers=bearer(pair["access_token"])), 401, "unauthorized")
    refreshed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(refreshed, 401, "unauthorized")


# Refresh tokens


async def refresh(client, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_reuse_ends_the_session(client, person):
    user_id, email = person
    first = (await token_form(client, email)).json()
    other_session = (await token_form(client, email)).json()

    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"]
    me = await client.get("/me", headers=bearer(second["access_token"]))
    assert me.json()["user"]["id"] == str(user_id)

    # The spent token is refused, and presenting it again ends its whole session...
    assert_problem(await refresh(client, first["refresh_token"]), 401, "unauthorized")
    assert_problem(await refresh(client, second["refresh_token"]), 401, "unauthorized")
    assert_problem(await client.get("/me", headers=bearer(second["access_token"])), 401, "unauthorized")
    # ...but not another sign-in of the same person.
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200


async def test_a_chain_of_refreshes_keeps_working(client, person):
    _, email = person
    token = (await token_form(client, email)).json()["refresh_token"]
    seen = {token}
    for _ in range(3):
        response = await refresh(client, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]
        assert token not in seen
        seen.add(token)


async def test_unknown_refresh_token_is_refused(client):
    assert_problem(await refresh(client, "x" * 43), 401, "unauthorized")


async def test_expired_refresh_token_is_refused(client, db, person):
    user_id, email = person
    pair = (await token_form(client, email)).json()
    async with db.as_service() as session:
        await session.execute(
            text("update server.refresh_tokens set expires_at = now() - interval '1 minute' where user_id = :id"),
            {"id": user_id},
        )
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "unauthorized")


async def test_logout_by_refresh_token_ends_its_session(client, person):
    _, email = person
    pair = (await token_form(client, email)).json()
    response = await client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "unauthorized")

    # Logging out with a rotated token ends the sign-in it came from.
    first = (await token_form(client, email)).json()
    second = (await refresh(client, first["refresh_token"])).json()
    assert (await client.post("/auth/logout", json={"refresh_token": first["refresh_token"]})).status_code == 204
    assert_problem(await refresh(client, second["refresh_token"]), 401, "unauthorized")


async def test_logout_with_an_unknown_token_is_quiet(client):
    response = await client.post("/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status_code == 204


# Bad bodies


BAD_REQUESTS = [
    ("/auth/token", {"json": {"email": "someone@example.org"}}),
    ("/auth/token", {"json": {"password": PASSWORD}}),
    ("/auth/token", {"json": {"email": "not-an-email", "password": PASSWORD}}),
    ("/auth/token", {"json": {"email": "someone@example.org", "password": ""}}),
    ("/auth/token", {"json": ["someone@example.org", PASSWORD]}),
    ("/auth/token", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("/auth/token", {"data": {"username": "someone@example.org"}}),
    ("/auth/token", {"data": {"password": PASSWORD}}),
    ("/auth/token", {"data": {}}),
    ("/auth/token", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
    ("/auth/refresh", {"json": {}}),
    ("/auth/refresh", {"json": {"refresh_token": ""}}),
    ("/auth/refresh", {"json": {"refresh_token": "x" * 201}}),
    ("/auth/refresh", {"json": {"refresh_token": 42}}),
    ("/auth/refresh", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("/auth/refresh", {}),
    ("/auth/logout", {"json": {"refresh_token": ""}}),
    ("/auth/password-reset", {"json": {"email": "not-an-email"}}),
    ("/auth/password-reset", {"json": {"email": "a@example.org", "username": "x", "organization": "y"}}),
    ("/auth/password-reset/confirm", {"json": {"token": "x", "new_password": "short"}}),
    ("/auth/invitations/accept", {"json": {"token": ""}}),
    ("/auth/invitations/inspect", {"json": {}}),
]


@pytest.mark.parametrize(
    ("path", "request_kwargs"), BAD_REQUESTS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD_REQUESTS)]
)
async def test_bad_bodies_are_422_problems(client, path, request_kwargs):
    response = await client.post(path, **request_kwargs)
    assert_problem(response, 422, "validation")


async def test_token_endpoint_rejects_get(client):
    assert_problem(await client.get("/auth/token"), 405, "method-not-allowed")
