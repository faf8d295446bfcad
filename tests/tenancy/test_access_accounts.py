"""Every cell of the accounts rows of docs/access.md (the project's ACCESS.md), proved
against the real database: organization domains, invitations, managed accounts (users
insert and update, ``private.set_managed_password``), the membership pair rule, and the
server-only tables of revision 20261129_170000 (sessions, password resets, the mail
outbox, invitation tokens).

Same method as ``tests/tenancy/test_access_core.py`` (helpers in ``tests/access.py``):
each probe runs one statement as one actor in a transaction that is always rolled back;
a probe counts as refused when PostgreSQL answers 42501 (a policy, a column grant, a
guard trigger, or the schema ``server`` itself) or the statement touches no row. The
tables below name, per row (reads) or per statement (writes), exactly who may; every
other actor is expected to be refused, and service (which bypasses RLS) is added to
every allowed set.

The rows are committed once per module by ``refs`` (as service) and deleted after it:

* domains ``A`` (``a-<tag>.example.net``, owned by org A) and ``B`` (owned by org B);
* accounts (``@account:``): ``mA`` (an address in A's domain: managed by A, no
  membership), ``uA`` (a username and no address, managed by A), ``mB`` (an address in
  B's domain), ``mAinB`` (an address in A's domain and a teacher membership in org B),
  ``stranger`` (an address in nobody's domain, no membership);
* a spare membership ``spare`` (t2 as a parent in org A) to move between people;
* invitations ``A`` (by oa) and ``B`` (by oaB), an invitation token for ``A``;
* server rows: a sign-in session and a password reset of t1, an outbox message (already
  sent, so no mail worker picks it up).

The world's addresses are in ``example.org``, which no organization owns: the world's
people are managed by nobody.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE, apply_identity
from schoolbase.errors import sqlstate
from tests.access import (
    ACTORS,
    EVERY_PERSON,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    UNIQUE_VIOLATION,
    Read,
    Refs,
    Sql,
    W,
    as_actor,
    assert_writes_cover,
    can_insert,
    can_update,
    inserted,
    perform,
    read_test,
    write_test,
)

TABLES = (
    "organization_domains",
    "invitations",
    "users",
    "memberships",
    "server.sessions",
    "server.password_resets",
    "server.mail_outbox",
    "server.invitation_tokens",
)

TAG = uuid.uuid4().hex[:8]
DOMAINS = {"A": f"a-{TAG}.example.net", "B": f"b-{TAG}.example.net"}
# key -> (email, username, managed_by org, memberships [(org, role)])
ACCOUNTS = {
    "mA": (f"managed-{TAG}@{DOMAINS['A']}", None, "A", []),
    "uA": (None, f"pupil-{TAG}", "A", []),
    "mB": (f"managed-{TAG}@{DOMAINS['B']}", None, "B", []),
    "mAinB": (f"works-at-b-{TAG}@{DOMAINS['A']}", None, "A", [("B", "teacher")]),
    "stranger": (f"stranger-{TAG}@example.com", None, None, []),
}
# Addresses no account has yet, for the insert probes.
ADDRESSES = {
    "A-new": f"new-{TAG}@{DOMAINS['A']}",
    "A-new-upper": f"New-Upper-{TAG}@{DOMAINS['A'].upper()}",
    "B-new": f"new-{TAG}@{DOMAINS['B']}",
    "nobody-new": f"new-{TAG}@example.com",
    "invitee": f"invitee-{TAG}@example.com",
}


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    """The module's rows, committed as service and deleted again at the end."""
    refs = Refs(world)
    rows = refs.rows
    rows.update(domain={}, account={}, seat={}, invitation={}, session={}, reset={}, outbox={})
    rows["address"] = {**ADDRESSES, **{key: email for key, (email, *_) in ACCOUNTS.items() if email}}
    rows["domainname"] = dict(DOMAINS)
    orgs, users = world.orgs, world.users
    try:
        async with db.as_service() as session:
            for org, domain in DOMAINS.items():
                rows["domain"][org] = await inserted(
                    session, "organization_domains", organization_id=orgs[org], domain=domain
                )
            for key, (email, username, managed_by, seats) in ACCOUNTS.items():
                account = (
                    await session.execute(
                        text(
                            "insert into public.users (email, username, display_name, managed_by_organization_id)"
                            " values (:email, :username, :name, :org) returning id, managed_by_organization_id"
                        ),
                        {
                            "email": email,
                            "username": username,
                            "name": f"Account {key}",
                            "org": orgs[managed_by] if username else None,
                        },
                    )
                ).one()
                # The trigger, not the writer, decides who manages an address.
                assert account.managed_by_organization_id == (orgs[managed_by] if managed_by else None), key
                rows["account"][key] = account.id
                for org, role in seats:
                    await session.execute(
                        text(
                            "insert into public.memberships (organization_id, user_id, role) values (:org, :user, :role)"
                        ),
                        {"org": orgs[org], "user": account.id, "role": role},
                    )
            rows["seat"]["spare"] = await inserted(
                session, "memberships", organization_id=orgs["A"], user_id=users["t2"], role="parent"
            )
            for org, by in (("A", "oa"), ("B", "oaB")):
                rows["invitation"][org] = await session.scalar(
                    text(
                        "insert into public.invitations (organization_id, email, roles, invited_by, expires_at)"
                        " values (:org, :email, '{teacher}', :by, now() + interval '7 days') returning id"
                    ),
                    {"org": orgs[org], "email": f"invited-{org.lower()}-{TAG}@example.com", "by": users[by]},
                )
            # Sending an invitation queues its message; these are never to be sent.
            await session.execute(
                text("delete from server.mail_outbox where reference_id = any(:ids)"),
                {"ids": list(rows["invitation"].values())},
            )
            await session.execute(
                text("insert into server.invitation_tokens (invitation_id, token_hash) values (:id, :hash)"),
                {"id": rows["invitation"]["A"], "hash": f"probe-invitation-{TAG}"},
            )
            rows["session"]["t1"] = await inserted(
                session,
                "server.sessions",
                user_id=users["t1"],
                client="probe",
                expires_at=Sql("now() + interval '1 day'"),
            )
            rows["reset"]["t1"] = await inserted(
                session, "server.password_resets", user_id=users["t1"], expires_at=Sql("now() + interval '1 hour'")
            )
            rows["outbox"]["t1"] = await session.scalar(
                text(
                    "insert into server.mail_outbox (organization_id, kind, reference_id, to_address, state, sent_at)"
                    " values (:org, 'password_reset', :ref, :to, 'sent', now()) returning id"
                ),
                {"org": orgs["A"], "ref": rows["reset"]["t1"], "to": world.emails["t1"]},
            )
        yield refs
    finally:
        async with db.as_service() as session:
            for kind, table in (
                ("outbox", "server.mail_outbox"),
                ("session", "server.sessions"),
                ("reset", "server.password_resets"),
                ("invitation", "public.invitations"),
                ("seat", "public.memberships"),
                ("account", "public.users"),
                ("domain", "public.organization_domains"),
            ):
                await session.execute(
                    text(f"delete from {table} where id = any(:ids)"), {"ids": list(rows[kind].values())}
                )


# ---------------------------------------------------------------------------
# Reads: one row each, and who may see it (service is added to every set).

READS = [
    # organization_domains: OA of the org; SA.
    Read("organization_domains", "A", frozenset({"sa", "oa"}), {"id": "@domain:A"}),
    Read("organization_domains", "B", frozenset({"sa", "oaB"}), {"id": "@domain:B"}),
    # invitations: OA of the org; SA. Not the invitee (there is none among the actors; the
    # invitee reads an invitation through its token, on the server's side).
    Read("invitations", "A", frozenset({"sa", "oa"}), {"id": "@invitation:A"}),
    Read("invitations", "B", frozenset({"sa", "oaB"}), {"id": "@invitation:B"}),
    # users: a managed account is read by the admins of the organization managing it, and
    # like any user by the admins of an organization it is a member of.
    Read("users", "mA", frozenset({"sa", "oa"}), {"id": "@account:mA"}),
    Read("users", "uA", frozenset({"sa", "oa"}), {"id": "@account:uA"}),
    Read("users", "mB", frozenset({"sa", "oaB"}), {"id": "@account:mB"}),
    Read("users", "mAinB", frozenset({"sa", "oa", "oaB"}), {"id": "@account:mAinB"}),
    Read("users", "stranger", frozenset({"sa"}), {"id": "@account:stranger"}),
    # server tables: nobody but service, not SA, not the person the row is about (t1).
    Read("server.sessions", "t1", frozenset(), {"id": "@session:t1"}),
    Read("server.password_resets", "t1", frozenset(), {"id": "@reset:t1"}),
    Read("server.mail_outbox", "t1", frozenset(), {"id": "@outbox:t1"}),
    Read("server.invitation_tokens", "A", frozenset(), {"invitation_id": "@invitation:A"}),
]

test_read = read_test(READS)


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).

FRESH_DOMAIN = Sql("'d' || substr(md5(random()::text), 1, 12) || '.example.net'")
IN_A_WEEK = Sql("now() + interval '7 days'")
PROBE_SESSION = uuid.UUID("00000000-0000-4000-8000-00000000b001")
SEED_OWN_SESSION = (
    "insert into server.sessions (id, user_id, expires_at) values (:id, :user, now() + interval '1 day')",
    {"id": PROBE_SESSION, "user": "@user:self"},
)


def new_invitation(org: str, invited_by: str) -> dict:
    return {
        "organization_id": f"@org:{org}",
        "email": "@address:invitee",
        "roles": "{teacher,parent}",
        "invited_by": invited_by,
        "expires_at": IN_A_WEEK,
    }


def new_account(email: str | None = None, *, username=None, managed_by=None, **extra) -> dict:
    values = {"id": "@new", "display_name": "New account", **extra}
    if email:
        values["email"] = email
    if username:
        values["username"] = username
    if managed_by:
        values["managed_by_organization_id"] = managed_by
    return values


WRITES = [
    # organization_domains: SA creates and deletes; nobody changes one (no update grant).
    W(
        "domain-create-A",
        "insert",
        "organization_domains",
        {"sa"},
        values={"organization_id": "@org:A", "domain": FRESH_DOMAIN},
    ),
    W(
        "domain-create-B",
        "insert",
        "organization_domains",
        {"sa"},
        values={"organization_id": "@org:B", "domain": FRESH_DOMAIN},
    ),
    W(
        "domain-A-change",
        "update",
        "organization_domains",
        set(),
        where={"id": "@domain:A"},
        values={"updated_at": NOW},
    ),
    W(
        "domain-A-move-to-B",
        "update",
        "organization_domains",
        set(),
        where={"id": "@domain:A"},
        values={"organization_id": "@org:B"},
    ),
    W("domain-A-delete", "delete", "organization_domains", {"sa"}, where={"id": "@domain:A"}),
    # invitations: SA and the org's OA create (as themselves), change the offer, revoke, delete.
    W("invitation-create-A", "insert", "invitations", {"sa", "oa"}, values=new_invitation("A", "@user:self")),
    W("invitation-create-B", "insert", "invitations", {"sa", "oaB"}, values=new_invitation("B", "@user:self")),
    W("invitation-create-A-as-t1", "insert", "invitations", {"sa"}, values=new_invitation("A", "@user:t1")),
    W(
        "invitation-create-A-by-nobody",
        "insert",
        "invitations",
        {"sa"},
        values={k: v for k, v in new_invitation("A", "@user:self").items() if k != "invited_by"},
    ),
    W(
        "invitation-A-roles",
        "update",
        "invitations",
        {"sa", "oa"},
        where={"id": "@invitation:A"},
        values={"roles": "{student}"},
    ),
    W(
        "invitation-A-display_name",
        "update",
        "invitations",
        {"sa", "oa"},
        where={"id": "@invitation:A"},
        values={"display_name": "Renamed"},
    ),
    W(
        "invitation-A-resend",
        "update",
        "invitations",
        {"sa", "oa"},
        where={"id": "@invitation:A"},
        values={"sent_at": NOW},
    ),
    W(
        "invitation-A-extend",
        "update",
        "invitations",
        {"sa", "oa"},
        where={"id": "@invitation:A"},
        values={"expires_at": IN_A_WEEK},
    ),
    W(
        "invitation-A-revoke",
        "update",
        "invitations",
        {"sa", "oa"},
        where={"id": "@invitation:A"},
        values={"revoked_at": NOW},
    ),
    W(
        "invitation-B-revoke",
        "update",
        "invitations",
        {"sa", "oaB"},
        where={"id": "@invitation:B"},
        values={"revoked_at": NOW},
    ),
    # Accepting is the server's (through the token): not even SA may set these by hand.
    W(
        "invitation-A-accepted_at",
        "update",
        "invitations",
        set(),
        where={"id": "@invitation:A"},
        values={"accepted_at": NOW},
    ),
    W(
        "invitation-A-accepted_by",
        "update",
        "invitations",
        set(),
        where={"id": "@invitation:A"},
        values={"accepted_by": "@user:self"},
    ),
    W(
        "invitation-A-email",
        "update",
        "invitations",
        set(),
        where={"id": "@invitation:A"},
        values={"email": "@address:invitee"},
    ),
    W(
        "invitation-A-invited_by",
        "update",
        "invitations",
        set(),
        where={"id": "@invitation:A"},
        values={"invited_by": "@user:self"},
    ),
    W(
        "invitation-A-move-to-B",
        "update",
        "invitations",
        set(),
        where={"id": "@invitation:A"},
        values={"organization_id": "@org:B"},
    ),
    W("invitation-A-delete", "delete", "invitations", {"sa", "oa"}, where={"id": "@invitation:A"}),
    # users insert: an OA creates only accounts their organization manages - an address in
    # one of its domains, or a username without address. The owner follows the address
    # (a trigger), whatever the writer puts in managed_by_organization_id.
    W("account-create-in-A-domain", "insert", "users", {"sa", "oa"}, values=new_account("@address:A-new")),
    W(
        "account-create-in-A-domain-upper-case",
        "insert",
        "users",
        {"sa", "oa"},
        values=new_account("@address:A-new-upper"),
    ),
    W(
        "account-create-in-A-domain-saying-B",
        "insert",
        "users",
        {"sa", "oa"},
        values=new_account("@address:A-new", managed_by="@org:B"),
    ),
    W("account-create-in-B-domain", "insert", "users", {"sa", "oaB"}, values=new_account("@address:B-new")),
    W(
        "account-create-in-B-domain-saying-A",
        "insert",
        "users",
        {"sa", "oaB"},
        values=new_account("@address:B-new", managed_by="@org:A"),
    ),
    W(
        "account-create-in-nobodys-domain-saying-A",
        "insert",
        "users",
        {"sa"},
        values=new_account("@address:nobody-new", managed_by="@org:A"),
    ),
    W(
        "account-create-username-A",
        "insert",
        "users",
        {"sa", "oa"},
        values=new_account(username="@unique", managed_by="@org:A"),
    ),
    W(
        "account-create-username-B",
        "insert",
        "users",
        {"sa", "oaB"},
        values=new_account(username="@unique", managed_by="@org:B"),
    ),
    W(
        "account-create-in-A-domain-super-admin",
        "insert",
        "users",
        {"sa"},
        values=new_account("@address:A-new", is_super_admin=True),
    ),
    W(
        "account-create-in-A-domain-disabled",
        "insert",
        "users",
        {"sa"},
        values=new_account("@address:A-new", disabled_at=NOW),
    ),
    # users update: the managing organization's OA changes the name, username and disabled
    # state of its accounts (a guard trigger refuses every other column); nobody else but SA.
    W(
        "mA-display_name",
        "update",
        "users",
        {"sa", "oa"},
        where={"id": "@account:mA"},
        values={"display_name": "Renamed"},
    ),
    W("mA-disable", "update", "users", {"sa", "oa"}, where={"id": "@account:mA"}, values={"disabled_at": NOW}),
    W("uA-username", "update", "users", {"sa", "oa"}, where={"id": "@account:uA"}, values={"username": "@unique"}),
    W(
        "mAinB-disable", "update", "users", {"sa", "oa"}, where={"id": "@account:mAinB"}, values={"disabled_at": NOW}
    ),  # the managing org decides, not oaB of the org it works in
    W("mA-email", "update", "users", {"sa"}, where={"id": "@account:mA"}, values={"email": "@address:A-new"}),
    W("mA-is_super_admin", "update", "users", {"sa"}, where={"id": "@account:mA"}, values={"is_super_admin": True}),
    W(
        "mA-avatar",
        "update",
        "users",
        {"sa"},
        where={"id": "@account:mA"},
        values={"avatar_url": "https://example.org/a.png"},
    ),
    W(
        "uA-release",
        "update",
        "users",
        {"sa"},
        where={"id": "@account:uA"},
        values={"managed_by_organization_id": "@org:B"},
    ),
    W(
        "mB-display_name",
        "update",
        "users",
        {"sa", "oaB"},
        where={"id": "@account:mB"},
        values={"display_name": "Renamed"},
    ),
    W("mB-disable", "update", "users", {"sa", "oaB"}, where={"id": "@account:mB"}, values={"disabled_at": NOW}),
    W(
        "stranger-display_name",
        "update",
        "users",
        {"sa"},
        where={"id": "@account:stranger"},
        values={"display_name": "Renamed"},
    ),
    W("s1-disable", "update", "users", {"sa"}, where={"id": "@user:s1"}, values={"disabled_at": NOW}),
    W("mA-delete", "delete", "users", {"sa"}, where={"id": "@account:mA"}),
    # memberships: an OA adds roles only for (org, person) pairs already in their org -
    # its members and the accounts it manages. Everyone else is invited.
    W(
        "seat-A-for-member-s2",
        "insert",
        "memberships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "user_id": "@user:s2", "role": "teacher"},
    ),
    W(
        "seat-A-for-managed-mA",
        "insert",
        "memberships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "user_id": "@account:mA", "role": "student"},
    ),
    W(
        "seat-A-for-managed-uA",
        "insert",
        "memberships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "user_id": "@account:uA", "role": "student"},
    ),
    W(
        "seat-A-for-managed-mAinB",
        "insert",
        "memberships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "user_id": "@account:mAinB", "role": "teacher"},
    ),
    W(
        "seat-A-for-member-of-B",
        "insert",
        "memberships",
        {"sa"},
        values={"organization_id": "@org:A", "user_id": "@user:sB", "role": "student"},
    ),
    W(
        "seat-A-for-managed-by-B",
        "insert",
        "memberships",
        {"sa"},
        values={"organization_id": "@org:A", "user_id": "@account:mB", "role": "student"},
    ),
    W(
        "seat-A-for-stranger",
        "insert",
        "memberships",
        {"sa"},
        values={"organization_id": "@org:A", "user_id": "@account:stranger", "role": "student"},
    ),
    W(
        "seat-B-for-managed-by-A",
        "insert",
        "memberships",
        {"sa"},
        values={"organization_id": "@org:B", "user_id": "@account:mA", "role": "student"},
    ),
    W(
        "seat-B-for-member-mAinB",
        "insert",
        "memberships",
        {"sa", "oaB"},
        values={"organization_id": "@org:B", "user_id": "@account:mAinB", "role": "parent"},
    ),
    W(
        "spare-seat-to-managed",
        "update",
        "memberships",
        {"sa", "oa"},
        where={"id": "@seat:spare"},
        values={"user_id": "@account:uA"},
    ),
    W(
        "spare-seat-to-member-of-B",
        "update",
        "memberships",
        {"sa"},
        where={"id": "@seat:spare"},
        values={"user_id": "@user:sB"},
    ),
    W(
        "spare-seat-to-stranger",
        "update",
        "memberships",
        {"sa"},
        where={"id": "@seat:spare"},
        values={"user_id": "@account:stranger"},
    ),
    W("spare-seat-delete", "delete", "memberships", {"sa", "oa"}, where={"id": "@seat:spare"}),
    # server tables: service only - the schema refuses everyone else before any policy.
    W(
        "session-create",
        "insert",
        "server.sessions",
        set(),
        values={"user_id": "@user:self", "expires_at": Sql("now() + interval '1 day'")},
    ),
    W("session-t1-revoke", "update", "server.sessions", set(), where={"id": "@session:t1"}, values={"revoked_at": NOW}),
    W(
        "own-session-revoke",
        "update",
        "server.sessions",
        set(),
        where={"id": PROBE_SESSION},
        values={"revoked_at": NOW},
        setup=[SEED_OWN_SESSION],
    ),
    W("session-t1-delete", "delete", "server.sessions", set(), where={"id": "@session:t1"}),
    W(
        "reset-create",
        "insert",
        "server.password_resets",
        set(),
        values={"user_id": "@user:self", "expires_at": Sql("now() + interval '1 hour'")},
    ),
    W("reset-t1-use", "update", "server.password_resets", set(), where={"id": "@reset:t1"}, values={"used_at": NOW}),
    W("reset-t1-delete", "delete", "server.password_resets", set(), where={"id": "@reset:t1"}),
    W(
        "outbox-create",
        "insert",
        "server.mail_outbox",
        set(),
        values={
            "kind": "invitation",
            "reference_id": "@invitation:A",
            "to_address": "@address:invitee",
            "state": "sent",
        },
    ),
    W(
        "outbox-t1-change",
        "update",
        "server.mail_outbox",
        set(),
        where={"id": "@outbox:t1"},
        values={"to_address": "@address:invitee"},
    ),
    W("outbox-t1-delete", "delete", "server.mail_outbox", set(), where={"id": "@outbox:t1"}),
    W(
        "invitation-token-create",
        "insert",
        "server.invitation_tokens",
        set(),
        values={"invitation_id": "@invitation:B", "token_hash": "@unique"},
    ),
    W(
        "invitation-token-A-change",
        "update",
        "server.invitation_tokens",
        set(),
        where={"invitation_id": "@invitation:A"},
        values={"token_hash": "@unique"},
    ),
    W(
        "invitation-token-A-delete",
        "delete",
        "server.invitation_tokens",
        set(),
        where={"invitation_id": "@invitation:A"},
    ),
]


def test_write_table_covers_every_table_and_operation():
    assert_writes_cover(WRITES, TABLES)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Passwords of managed accounts: only through private.set_managed_password, by an OA of
# the managing organization (or SA). It ends the account's sessions and makes the
# password one to change at the next sign-in.

# account -> who may set its password. Service is not among them: the function asks who
# the caller is (auth.uid()), and the server's own role writes server.credentials itself.
PASSWORD_SETTERS = {
    "@account:mA": {"sa", "oa"},
    "@account:uA": {"sa", "oa"},
    "@account:mAinB": {"sa", "oa"},  # not oaB, though it works in org B
    "@account:mB": {"sa", "oaB"},
    "@account:stranger": {"sa"},
    "@user:s1": {"sa"},  # a member of A whom A does not manage: not oa
    "@user:oa": {"sa"},  # not even their own: a person changes their own password by signing in
}
PASSWORD_CASES = [(actor, account) for account in PASSWORD_SETTERS for actor in ACTORS]


async def set_managed_password(db, refs, actor: str, account: str, setup=()) -> bool:
    async with as_actor(db, refs, actor, setup) as session:
        try:
            await session.execute(
                text("select private.set_managed_password(:id, 'probe-hash')"), {"id": refs.resolve(actor, account)}
            )
        except DBAPIError as exc:
            assert sqlstate(exc) == INSUFFICIENT_PRIVILEGE, exc
            return False
        return True


@pytest.mark.parametrize(
    ("actor", "account"),
    PASSWORD_CASES,
    ids=[f"{a}-{k[1:]}-{'allowed' if a in PASSWORD_SETTERS[k] else 'denied'}" for a, k in PASSWORD_CASES],
)
async def test_set_managed_password(db, refs, actor, account):
    assert await set_managed_password(db, refs, actor, account) is (actor in PASSWORD_SETTERS[account])


async def test_set_managed_password_ends_sessions_and_must_be_changed(db, refs):
    session_id = uuid.uuid4()
    seed = (
        "insert into server.sessions (id, user_id, expires_at) values (:id, :user, now() + interval '1 day')",
        {"id": session_id, "user": "@account:mA"},
    )
    async with as_actor(db, refs, "oa", setup=[seed]) as session:
        await session.execute(
            text("select private.set_managed_password(:id, 'probe-hash')"), {"id": refs.rows["account"]["mA"]}
        )
        await apply_identity(session, SERVICE)
        credential = (
            await session.execute(
                text("select password_hash, must_change from server.credentials where user_id = :id"),
                {"id": refs.rows["account"]["mA"]},
            )
        ).one()
        revoked = await session.scalar(
            text("select revoked_at from server.sessions where id = :id"), {"id": session_id}
        )
    assert tuple(credential) == ("probe-hash", True)
    assert revoked is not None


@pytest.mark.parametrize("actor", sorted(EVERY_PERSON))
async def test_nobody_writes_credentials_but_through_the_function(db, refs, actor):
    """The function is the only way: the table itself is out of every end user's reach."""
    assert not await can_insert(db, refs, actor, "server.credentials", {"user_id": "@account:uA", "password_hash": "x"})


# ---------------------------------------------------------------------------
# No answer reveals whether an address or a person has an account elsewhere: a refused
# account or membership is refused the same way (42501, before any unique or foreign key
# check) whether the address or person exists or not.


async def refusal(db, refs, actor: str, sql: str, params: dict) -> str | None:
    async with as_actor(db, refs, actor) as session:
        try:
            await session.execute(text(sql), {k: refs.resolve(actor, v) for k, v in params.items()})
        except DBAPIError as exc:
            return sqlstate(exc)
    return None


CREATE_ACCOUNT = "insert into public.users (email, display_name) values (:email, 'Someone')"
CREATE_SEAT = "insert into public.memberships (organization_id, user_id, role) values (:org, :user, 'student')"


@pytest.mark.parametrize(
    ("existing", "absent"),
    [
        ("@email:tB", "@address:nobody-new"),  # nobody's domain: a world person's address, a new one
        ("@address:mB", "@address:B-new"),  # another organization's domain
    ],
)
async def test_oa_cannot_tell_whether_an_address_has_an_account(db, refs, existing, absent):
    assert await refusal(db, refs, "oa", CREATE_ACCOUNT, {"email": existing}) == INSUFFICIENT_PRIVILEGE
    assert await refusal(db, refs, "oa", CREATE_ACCOUNT, {"email": absent}) == INSUFFICIENT_PRIVILEGE


async def test_oa_cannot_tell_whether_a_person_exists(db, refs):
    for person in ("@user:sB", "@account:stranger", "@new"):
        assert await refusal(db, refs, "oa", CREATE_SEAT, {"org": "@org:A", "user": person}) == INSUFFICIENT_PRIVILEGE


async def test_an_address_in_an_own_domain_that_exists_is_a_duplicate(db, refs):
    """The control: in its own domain the OA already reads every account (users_select),
    so a duplicate there reveals nothing and is answered as one."""
    assert await refusal(db, refs, "oa", CREATE_ACCOUNT, {"email": "@address:mA"}) == UNIQUE_VIOLATION


# ---------------------------------------------------------------------------
# Domains decide who manages an account, whoever writes the rows (triggers).


async def test_claiming_a_domain_takes_over_its_accounts_and_releasing_it_lets_them_go(db, refs):
    stranger = refs.rows["account"]["stranger"]
    claim = (
        "insert into public.organization_domains (organization_id, domain) values (:org, 'example.com')",
        {"org": "@org:A"},
    )
    async with as_actor(db, refs, "oa", setup=[claim]) as session:
        assert (
            await session.scalar(
                text("select managed_by_organization_id from public.users where id = :id"), {"id": stranger}
            )
            == refs.world.orgs["A"]
        )
        await session.execute(text(CREATE_SEAT), {"org": refs.world.orgs["A"], "user": stranger})
    release = ("delete from public.organization_domains where id = :id", {"id": "@domain:A"})
    async with as_actor(db, refs, "oa", setup=[release]) as session:
        assert (
            await session.scalar(
                text("select count(*) from public.users where id = any(:ids)"),
                {"ids": [refs.rows["account"]["mA"], refs.rows["account"]["mAinB"]]},
            )
            == 0
        )
        # The username account has no address: the domain never decided who manages it.
        assert (
            await session.scalar(
                text("select managed_by_organization_id from public.users where id = :id"),
                {"id": refs.rows["account"]["uA"]},
            )
            == refs.world.orgs["A"]
        )


@pytest.mark.parametrize("actor", ["sa", "service"])
async def test_the_owner_column_follows_the_address(db, refs, actor):
    async with as_actor(db, refs, actor) as session:
        owner = await session.scalar(
            text("update public.users set email = :email where id = :id returning managed_by_organization_id"),
            {"email": refs.rows["address"]["B-new"], "id": refs.rows["account"]["mA"]},
        )
    assert owner == refs.world.orgs["B"]


# ---------------------------------------------------------------------------
# Gaps found while writing this matrix and closed in revision 20261129_170000: a super admin
# is nobody's managed account, acceptance is the server's to record, and releasing a domain
# releases accounts that also have a username.

SUPER_ADMIN_IN_A = uuid.UUID("00000000-0000-4000-8000-00000000c001")
SEED_SUPER_ADMIN_IN_A_DOMAIN = (
    "insert into public.users (id, email, display_name, is_super_admin) values (:id, :email, 'Platform', true)",
    {"id": SUPER_ADMIN_IN_A, "email": "@address:A-new"},
)


async def test_oa_cannot_set_the_password_of_a_super_admin_in_their_domain(db, refs):
    assert not await set_managed_password(db, refs, "oa", SUPER_ADMIN_IN_A, setup=[SEED_SUPER_ADMIN_IN_A_DOMAIN])


async def test_oa_cannot_disable_a_super_admin_in_their_domain(db, refs):
    assert not await can_update(
        db, refs, "oa", "users", {"id": SUPER_ADMIN_IN_A}, {"disabled_at": NOW}, setup=[SEED_SUPER_ADMIN_IN_A_DOMAIN]
    )


async def test_oa_cannot_create_an_invitation_already_accepted(db, refs):
    values = {**new_invitation("A", "@user:self"), "accepted_at": NOW, "accepted_by": "@user:s1"}
    assert not await can_insert(db, refs, "oa", "invitations", values)


async def test_sa_releases_a_domain_with_a_username_account_in_it(db, refs):
    both = (
        "insert into public.users (email, username, display_name) values (:email, :username, 'Both')",
        {"email": "@address:A-new", "username": "@unique"},
    )
    assert await perform(
        db, refs, "sa", W("release", "delete", "organization_domains", {"sa"}, where={"id": "@domain:A"}, setup=[both])
    )
