"""Accounts and the tenant boundary, end to end over HTTP: verified domains, managed
accounts, invitations, the two attacks that once crossed organizations and their
variants, and that no answer tells whether an address has an account."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import sqlstate
from tests.conftest import assert_problem, emailed_token, login, rolled_back
from tests.tenancy.test_tenancy_api import new_school, ok, tag, walk


@pytest.fixture
async def a(client, world, settings, db):
    return await new_school(client, world, settings, db)


@pytest.fixture
async def b(client, world, settings, db):
    return await new_school(client, world, settings, db)


def without_ids(answer: dict) -> dict:
    """An answer with what differs between any two calls (ids, times, the typed address) removed."""
    invitation = {k: v for k, v in answer["invitation"].items() if k in ("roles", "state", "display_name")}
    return {**answer, "invitation": invitation}


async def add(client, school, body: dict, status: int | None = None):
    response = await client.post(f"/organizations/{school.org}/members", json=body, headers=school.as_("oa"))
    return ok(response, status) if status else response


# Attack 1: pre-registration takeover


async def test_no_account_with_a_password_for_another_organizations_address(client, db, settings, a, b):
    email = f"new-teacher-{tag()}@{b.domain}"
    # A cannot make an account at B's address, with or without a password of its choosing.
    body = {"email": email, "display_name": "Planted", "roles": ["teacher"], "password": "chosen by a"}
    assert_problem(await add(client, a, body), 422, "validation")
    invited = await add(client, a, {k: v for k, v in body.items() if k != "password"}, 202)
    assert invited["outcome"] == "invited"

    # Accepting A's invitation cannot create the account either: only B makes accounts there.
    token = await emailed_token(db, settings, invited["invitation"]["id"])
    response = await client.post("/auth/invitations/accept", json={"token": token, "password": "chosen by a"})
    assert_problem(response, 409, "account-managed-elsewhere")
    assert_problem(await client.post("/auth/token", data={"username": email, "password": "chosen by a"}), 401)

    # B adds its teacher; A still holds nothing: no password, no membership, no profile.
    added = await add(client, b, {"email": email, "display_name": "Real Teacher", "roles": ["teacher"]}, 201)
    user_id = added["memberships"][0]["user_id"]
    assert_problem(await client.post("/auth/token", data={"username": email, "password": "chosen by a"}), 401)
    assert_problem(await client.get(f"/users/{user_id}", headers=a.as_("oa")), 404, "not-found")
    assert user_id not in {m["user_id"] for m in await walk(client, f"/organizations/{a.org}/members", a.as_("oa"))}


async def test_an_account_in_nobodys_domain_is_its_owners(client, db, settings, a):
    email = f"parent-{tag()}@mailbox.example.net"
    invited = await add(client, a, {"email": email, "display_name": "A Parent", "roles": ["parent"]}, 202)
    token = await emailed_token(db, settings, invited["invitation"]["id"])
    accepted = ok(await client.post("/auth/invitations/accept", json={"token": token, "password": "the parent's own"}))
    assert accepted["tokens"]["access_token"]
    me = ok(await client.get("/me", headers={"Authorization": f"Bearer {accepted['tokens']['access_token']}"}))
    assert me["user"]["managed_by_organization_id"] is None
    assert [o["roles"] for o in me["organizations"]] == [["parent"]]
    # A's admin may not set its password or disable it: the account is the parent's own.
    assert_problem(
        await client.put(f"/users/{me['user']['id']}/password", json={"password": "taken over!"}, headers=a.as_("oa")),
        403,
        "forbidden",
    )
    assert_problem(
        await client.patch(f"/users/{me['user']['id']}", json={"disabled": True}, headers=a.as_("oa")), 403, "forbidden"
    )


# Attack 2: attaching strangers


async def test_another_organizations_people_cannot_be_attached(client, world, a, b):
    oa = a.as_("oa")
    for who in ("t", "s", "p"):
        # By id: only people the admin already has.
        response = await client.post(
            f"/organizations/{a.org}/memberships", json={"user_id": str(b.users[who]), "role": "parent"}, headers=oa
        )
        assert_problem(response, 404, "not-found")
        # By email: an invitation only the address's owner can accept.
        invited = await add(client, a, {"email": b.emails[who], "roles": ["parent"]}, 202)
        assert invited["memberships"] == []
        assert_problem(await client.get(f"/users/{b.users[who]}", headers=oa), 404, "not-found")
    members = {m["user_id"] for m in await walk(client, f"/organizations/{a.org}/members", oa)}
    assert not members & {str(u) for u in b.users.values()}
    # Nor the shared world's people, managed or not.
    response = await client.post(
        f"/organizations/{a.org}/memberships", json={"user_id": str(world.users["t1"]), "role": "parent"}, headers=oa
    )
    assert_problem(response, 404, "not-found")


async def test_an_invitation_is_accepted_only_by_the_address_owner(client, db, settings, a, b):
    invited = await add(client, a, {"email": b.emails["p"], "roles": ["parent"]}, 202)
    token = await emailed_token(db, settings, invited["invitation"]["id"])
    # Not anonymously (the address has an account), not as anyone else, not with a password.
    assert_problem(await client.post("/auth/invitations/accept", json={"token": token}), 401, "sign-in-required")
    response = await client.post("/auth/invitations/accept", json={"token": token, "password": "a new password"})
    assert_problem(response, 401, "sign-in-required")
    for who in ("oa", "t"):
        response = await client.post("/auth/invitations/accept", json={"token": token}, headers=a.as_(who))
        assert_problem(response, 403, "wrong-account")
    # A revoked invitation is dead.
    ok(await client.post(f"/invitations/{invited['invitation']['id']}/revoke", headers=a.as_("oa")))
    response = await client.post("/auth/invitations/accept", json={"token": token}, headers=b.as_("p"))
    assert_problem(response, 400, "invalid-token")
    invitations = await walk(client, f"/organizations/{a.org}/invitations", a.as_("oa"))
    assert [(i["email"], i["state"]) for i in invitations] == [(b.emails["p"], "revoked")]


# No oracle


async def test_answers_do_not_tell_whether_an_address_has_an_account(client, world, a, b):
    addresses = {
        "account in another organization's domain": b.emails["t"],
        "no account in another organization's domain": f"nobody-{tag()}@{b.domain}",
        "account in nobody's domain": world.emails["p1"],
        "no account in nobody's domain": f"nobody-{tag()}@example.org",
    }
    answers = {}
    for case, email in addresses.items():
        response = await add(client, a, {"email": email, "roles": ["parent"]})
        answers[case] = (response.status_code, without_ids(response.json()))
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    # So do the password-reset requests.
    resets = {email: await client.post("/auth/password-reset", json={"email": email}) for email in addresses.values()}
    assert {(r.status_code, r.text) for r in resets.values()} == {(202, resets[b.emails["t"]].text)}


# Managed accounts


async def test_a_young_student_signs_in_with_a_username(client, db, settings, a):
    added = await add(
        client,
        a,
        {"username": "kim.7b", "display_name": "Kim", "roles": ["student"], "password": "first password"},
        201,
    )
    user_id = added["memberships"][0]["user_id"]
    profile = ok(await client.get(f"/users/{user_id}", headers=a.as_("oa")))
    assert (profile["email"], profile["username"], profile["managed_by_organization_id"]) == (
        None,
        "kim.7b",
        str(a.org),
    )
    pair = ok(await client.post("/auth/token", data={"username": f"{a.slug}/kim.7b", "password": "first password"}))
    assert pair["password_change_required"] is True
    pair = ok(
        await client.post(
            "/auth/token", json={"organization": a.slug, "username": "kim.7b", "password": "first password"}
        )
    )
    assert pair["password_change_required"] is True
    # The same username in another school is another person; an unknown school is a wrong sign-in.
    assert_problem(
        await client.post("/auth/token", data={"username": "no-such-school/kim.7b", "password": "first password"}), 401
    )
    again = await add(client, a, {"username": "kim.7b", "display_name": "Kim", "roles": ["parent"]}, 201)
    assert {m["user_id"] for m in again["memberships"]} == {user_id}


async def test_only_the_managing_organization_sets_passwords_and_disables(client, a, b):
    target = a.users["s"]
    for who in ("t", "s", "p"):
        response = await client.put(f"/users/{target}/password", json={"password": "not yours!"}, headers=a.as_(who))
        assert response.status_code in (403, 404), response.text
    assert_problem(
        await client.put(f"/users/{target}/password", json={"password": "not yours!"}, headers=b.as_("oa")),
        404,
        "not-found",
    )
    assert_problem(await client.patch(f"/users/{target}", json={"disabled": True}, headers=b.as_("oa")), 404)

    assert (
        await client.put(f"/users/{target}/password", json={"password": "reset by a"}, headers=a.as_("oa"))
    ).status_code == 204
    # The reset ended the student's sessions.
    assert_problem(await client.get("/me", headers=a.as_("s")), 401, "unauthorized")
    pair = ok(await client.post("/auth/token", data={"username": a.emails["s"], "password": "reset by a"}))
    assert pair["password_change_required"] is True

    # Disabling: the account answers like a wrong password from then on.
    disabled = ok(await client.patch(f"/users/{target}", json={"disabled": True}, headers=a.as_("oa")))
    assert disabled["disabled_at"] is not None
    refused = await client.post("/auth/token", data={"username": a.emails["s"], "password": "reset by a"})
    wrong = await client.post("/auth/token", data={"username": a.emails["s"], "password": "not the password"})
    assert (
        (refused.status_code, refused.json()["detail"])
        == (wrong.status_code, wrong.json()["detail"])
        == (
            401,
            wrong.json()["detail"],
        )
    )
    # The admin may not touch anything else of the account.
    assert_problem(await client.patch(f"/users/{target}", json={"is_super_admin": True}, headers=a.as_("oa")), 403)


async def test_claiming_a_domain_takes_over_its_accounts(client, world, db, settings, a):
    sa = await login(client, world.emails["sa"])
    domain = f"{tag()}.example.com"
    email = f"someone@{domain}"
    invited = await add(client, a, {"email": email, "roles": ["parent"]}, 202)
    token = await emailed_token(db, settings, invited["invitation"]["id"])
    accepted = ok(await client.post("/auth/invitations/accept", json={"token": token, "password": "own password"}))
    user_id = accepted["user_id"]
    ok(await client.post(f"/organizations/{a.org}/domains", json={"domain": domain.upper()}, headers=sa), 201)
    assert ok(await client.get(f"/users/{user_id}", headers=a.as_("oa")))["managed_by_organization_id"] == str(a.org)
    domains = ok(await client.get(f"/organizations/{a.org}/domains", headers=a.as_("oa")))["items"]
    assert sorted(d["domain"] for d in domains) == sorted([a.domain, domain])
    # Releasing the domain releases its accounts.
    domain_id = next(d["id"] for d in domains if d["domain"] == domain)
    assert (await client.delete(f"/organizations/{a.org}/domains/{domain_id}", headers=sa)).status_code == 204
    assert ok(await client.get(f"/users/{user_id}", headers=a.as_("oa")))["managed_by_organization_id"] is None


async def test_domains_are_managed_by_super_admins_and_listed_by_org_admins(client, world, a, b):
    sa = await login(client, world.emails["sa"])
    path = f"/organizations/{a.org}/domains"
    for who in ("oa", "t", "s", "p"):
        assert_problem(await client.post(path, json={"domain": f"{tag()}.example.com"}, headers=a.as_(who)), 403)
    assert_problem(await client.post(path, json={"domain": f"{tag()}.example.com"}, headers=b.as_("oa")), 404)
    assert_problem(await client.post(path, json={"domain": b.domain}, headers=sa), 409, "conflict")
    for bad in ("not a domain", "-x.example.org", "example", "a" * 300 + ".org"):
        assert_problem(await client.post(path, json={"domain": bad}, headers=sa), 422)
    assert [d["domain"] for d in ok(await client.get(path, headers=a.as_("oa")))["items"]] == [a.domain]
    for who in ("t", "s", "p"):
        assert ok(await client.get(path, headers=a.as_(who)))["items"] == []
    assert ok(await client.get(path, headers=b.as_("oa")))["items"] == []


# Over SQL, as the roles requests use


async def test_the_old_functions_are_gone_and_the_new_one_checks_the_caller(db, world, a):
    async with rolled_back(db, world.identity("oa")) as session:
        for function in (
            "private.user_id_for_email('x@example.org')",
            "private.set_initial_password(gen_random_uuid(), 'h')",
        ):
            with pytest.raises(DBAPIError) as caught:
                async with session.begin_nested():
                    await session.execute(text(f"select {function}"))
            assert sqlstate(caught.value) == "42883"  # undefined function
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text("select private.set_managed_password(:id, 'h')"), {"id": a.users["s"]})
        assert sqlstate(caught.value) == "42501"


async def test_a_request_connection_cannot_become_service_role(db, world):
    async with rolled_back(db, world.identity("t1")) as session:
        assert await session.scalar(text("select current_user")) == "authenticated"
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text("set role service_role"))
        assert sqlstate(caught.value) == "42501"
    async with db.sessions() as session, session.begin():
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text("set local role service_role"))
        assert sqlstate(caught.value) == "42501"


@pytest.mark.parametrize(
    "table",
    [
        "credentials",
        "refresh_tokens",
        "sessions",
        "login_failures",
        "mail_outbox",
        "password_resets",
        "invitation_tokens",
    ],
)
async def test_server_tables_are_out_of_reach_of_end_users(db, world, table):
    for who in ("anon", "t1", "oa", "sa"):
        async with rolled_back(db, world.identity(who)) as session:
            with pytest.raises(DBAPIError) as caught:
                await session.execute(text(f"select count(*) from server.{table}"))
            assert sqlstate(caught.value) == "42501", who
    async with rolled_back(db, world.identity("service")) as session:
        await session.execute(text(f"select count(*) from server.{table}"))


async def test_an_invitation_is_sent_again_at_most_once_a_minute(client, db, a):
    invited = await add(client, a, {"email": f"again-{tag()}@example.net", "roles": ["parent"]}, 202)
    path = f"/invitations/{invited['invitation']['id']}"
    response = await client.post(f"{path}/resend", headers=a.as_("oa"))
    assert_problem(response, 429, "too-soon")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Adding the address again changes the roles but queues no second message within the minute.
    again = await add(client, a, {"email": invited["invitation"]["email"], "roles": ["parent", "teacher"]}, 202)
    assert again["invitation"]["id"] == invited["invitation"]["id"]
    assert sorted(again["invitation"]["roles"]) == ["parent", "teacher"]
    async with db.as_service() as session:
        queued = await session.scalar(
            text("select count(*) from server.mail_outbox where reference_id = :id"),
            {"id": invited["invitation"]["id"]},
        )
    assert queued == 1
    # Closed invitations are not sent again; nobody else may touch them.
    assert_problem(await client.post(f"{path}/resend", headers=a.as_("t")), 404, "not-found")
    ok(await client.post(f"{path}/revoke", headers=a.as_("oa")))
    assert_problem(await client.post(f"{path}/resend", headers=a.as_("oa")), 409, "invitation-closed")
