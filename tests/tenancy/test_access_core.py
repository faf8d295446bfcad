"""Every cell of the "Core" section of ACCESS.md (docs/access.md), proved against the real database.

Each probe runs one statement as one actor through the server's own login role
(``authenticator``) in a transaction that is always rolled back, so the shared
world never changes. The tables below say, per row (reads) or per statement
(writes), exactly who may; every actor not named is expected to be refused.

Actors are the people of ``tests.conftest.World``: ``sa`` super admin (no
membership); in organization A ``oa`` org admin, teachers ``t1`` ``t2`` (co-teachers
of c3), students ``s1`` (c1) ``s2`` (c2), parents ``p1`` (of s1) ``p2`` (of s2); in
organization B ``oaB`` ``tB`` ``sB`` ``pB`` (they are X for every org A row); ``anon``
(no token); ``service`` (the server's own ``service_role``, which bypasses RLS and is
therefore added to every allowed set below). The probe helpers are in ``tests/access.py``.

Credentials, refresh tokens and login failures live in the schema ``server`` (revision
20261129_170000), which only ``service_role`` may use: end users and anon are refused the
schema itself (42501). The accounts tables of that revision (domains, invitations,
managed accounts, the membership pair rule, sessions, resets, the outbox, invitation
tokens) are proved in ``test_access_accounts.py``.
"""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE
from schoolbase.errors import sqlstate
from tests.access import (
    A_PEOPLE,
    ACTORS,
    B_PEOPLE,
    EVERY_PERSON,
    FOREIGN_KEY_VIOLATION,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    Refs,
    Sql,
    W,
    X,
    as_actor,
    can_insert,
    can_read,
    can_update,
    members,
    tables_in,
    write_test,
)
from tests.conftest import CHILDREN, CLASSES, rolled_back
from tests.conftest import PEOPLE as WORLD_PEOPLE

# Rows of the service-only tables that the world does not have: seeded as service
# inside the probe's own transaction before the actor's identity is applied.
PROBE_TOKEN = uuid.UUID("00000000-0000-4000-8000-00000000a001")
PROBE_FAILURE_KEY = "probe-failure-key"
PROBE_USER = uuid.UUID("00000000-0000-4000-8000-00000000a002")
PROBE_SESSION = uuid.UUID("00000000-0000-4000-8000-00000000a003")
# A refresh token belongs to a sign-in session: the session row comes first. Both are
# the actor's own (s1's for anon and service), so "own" is refused too.
SEED_SESSION = (
    "insert into server.sessions (id, user_id, expires_at) values (:id, :user_id, now() + interval '1 day')",
    {"id": PROBE_SESSION, "user_id": "@user:self"},
)
SEED_TOKEN = (
    "insert into server.refresh_tokens (id, user_id, session_id, token_hash, expires_at) "
    "values (:id, :user_id, :session_id, 'probe-token-hash', now() + interval '1 day')",
    {"id": PROBE_TOKEN, "user_id": "@user:self", "session_id": PROBE_SESSION},
)
SEED_FAILURE = (
    "insert into server.login_failures (scope, key, window_started_at, failures) values ('account', :key, now(), 1)",
    {"key": PROBE_FAILURE_KEY},
)
SEED_USER = (
    "insert into public.users (id, email, display_name) values (:id, 'probe-user@example.org', 'Probe')",
    {"id": PROBE_USER},
)


# ---------------------------------------------------------------------------
# Reads: (table, row) -> who may see that row. Row keys: organizations "A"/"B";
# users and credentials the person; memberships "person:role"; classes "c1";
# enrollments "class:person"; guardianships the parent.

KEY = {
    "organizations": ("id", "org"),
    "users": ("id", "user"),
    "server.credentials": ("user_id", "user"),
    "memberships": ("id", "membership"),
    "classes": ("id", "class"),
    "enrollments": ("id", "enrollment"),
    "guardianships": ("id", "guardianship"),
}

READERS: dict[tuple[str, str], set[str]] = {
    # organizations: M.
    ("organizations", "A"): members(A_PEOPLE),
    ("organizations", "B"): members(B_PEOPLE),
    # users: self; OA of an org they belong to; T: students, parents of students and
    # co-teachers of own classes; P: own children; S: teachers of own classes.
    ("users", "sa"): {"sa"},
    ("users", "oa"): {"sa", "oa"},
    ("users", "t1"): {"sa", "oa", "t1", "t2", "s1"},  # t2 co-teaches c3; s1 is in t1's c1
    ("users", "t2"): {"sa", "oa", "t2", "t1", "s2"},  # s1 does not see t2: not her teacher
    ("users", "s1"): {"sa", "oa", "s1", "t1", "p1"},  # p2 does not see s1: not her child; s2 neither
    ("users", "s2"): {"sa", "oa", "s2", "t2", "p2"},
    ("users", "p1"): {"sa", "oa", "p1", "t1"},  # parent of t1's student
    ("users", "p2"): {"sa", "oa", "p2", "t2"},  # t1 does not see the parent of another's student
    ("users", "oaB"): {"sa", "oaB"},
    ("users", "tB"): {"sa", "oaB", "tB", "sB"},
    ("users", "sB"): {"sa", "oaB", "sB", "tB", "pB"},
    ("users", "pB"): {"sa", "oaB", "pB", "tB"},
    # credentials: nobody but service (not even SA).
    ("server.credentials", "t1"): set(),
    ("server.credentials", "sa"): set(),
    # memberships: self; OA; M sees staff (org_admin, teacher) rows.
    ("memberships", "oa:org_admin"): members(A_PEOPLE),
    ("memberships", "t1:teacher"): members(A_PEOPLE),
    ("memberships", "t2:teacher"): members(A_PEOPLE),
    ("memberships", "s1:student"): {"sa", "oa", "s1"},  # not s2, not t1, not her parent
    ("memberships", "s2:student"): {"sa", "oa", "s2"},
    ("memberships", "p1:parent"): {"sa", "oa", "p1"},
    ("memberships", "p2:parent"): {"sa", "oa", "p2"},
    ("memberships", "oaB:org_admin"): members(B_PEOPLE),
    ("memberships", "tB:teacher"): members(B_PEOPLE),
    ("memberships", "sB:student"): {"sa", "oaB", "sB"},
    ("memberships", "pB:parent"): {"sa", "oaB", "pB"},
    # classes: OA; T; S enrolled; P of an enrolled student.
    ("classes", "c1"): {"sa", "oa", "t1", "s1", "p1"},
    ("classes", "c2"): {"sa", "oa", "t2", "s2", "p2"},
    ("classes", "c3"): {"sa", "oa", "t1", "t2"},
    ("classes", "cB"): {"sa", "oaB", "tB", "sB", "pB"},
    # enrollments: OA; T; S own row and the teacher rows; P their child's rows.
    ("enrollments", "c1:t1"): {"sa", "oa", "t1", "s1"},  # s1 sees her teacher's row; p1 does not
    ("enrollments", "c1:s1"): {"sa", "oa", "t1", "s1", "p1"},
    ("enrollments", "c2:t2"): {"sa", "oa", "t2", "s2"},
    ("enrollments", "c2:s2"): {"sa", "oa", "t2", "s2", "p2"},  # s1 does not see another student's row
    ("enrollments", "c3:t1"): {"sa", "oa", "t1", "t2"},
    ("enrollments", "c3:t2"): {"sa", "oa", "t1", "t2"},
    ("enrollments", "cB:tB"): {"sa", "oaB", "tB", "sB"},
    ("enrollments", "cB:sB"): {"sa", "oaB", "tB", "sB", "pB"},
    # guardianships: OA; the parent; the student; T of the student.
    ("guardianships", "p1"): {"sa", "oa", "p1", "s1", "t1"},  # t2 does not teach s1
    ("guardianships", "p2"): {"sa", "oa", "p2", "s2", "t2"},
    ("guardianships", "pB"): {"sa", "oaB", "pB", "sB", "tB"},
}
# The world's people all have a credential; the other service-only tables are seeded.
SEEDED_READERS = {
    "server.refresh_tokens": ({"id": PROBE_TOKEN}, [SEED_SESSION, SEED_TOKEN]),
    "server.login_failures": ({"key": PROBE_FAILURE_KEY}, [SEED_FAILURE]),
}


def test_read_table_covers_every_core_row_of_the_world():
    """The read table names every row the world holds, so no cell is forgotten."""
    keys = {table: {row for t, row in READERS if t == table} for table in KEY}
    assert keys["users"] == set(WORLD_PEOPLE)
    assert keys["memberships"] == {f"{p}:{r}" for p, (_, roles) in WORLD_PEOPLE.items() for r in roles}
    assert keys["classes"] == set(CLASSES)
    assert keys["enrollments"] == {f"{c}:{p}" for c, (_, ts, ss) in CLASSES.items() for p in ts + ss}
    assert keys["guardianships"] == set(CHILDREN)


@pytest.mark.parametrize(
    ("actor", "table", "row", "visible"),
    [
        (actor, table, row, actor in readers or actor == "service")
        for (table, row), readers in READERS.items()
        for actor in ACTORS
    ],
    ids=lambda v: v if isinstance(v, str) else ("sees" if v else "hidden"),
)
async def test_read(db, world, actor, table, row, visible):
    column, kind = KEY[table]
    assert await can_read(db, world, actor, table, {column: f"@{kind}:{row}"}) is visible


@pytest.mark.parametrize(("actor", "table"), [(a, t) for t in SEEDED_READERS for a in ACTORS])
async def test_read_service_only_table(db, world, actor, table):
    where, setup = SEEDED_READERS[table]
    assert await can_read(db, world, actor, table, where, setup) is (actor == "service")


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).


WRITES = [
    # organizations: create, delete SA; change OA.
    W(
        "org-create",
        "insert",
        "organizations",
        {"sa"},
        values={"id": "@new", "name": "Probe School", "slug": "@unique"},
    ),
    W("org-A-change", "update", "organizations", {"sa", "oa"}, where={"id": "@org:A"}, values={"name": "Renamed"}),
    W("org-B-change", "update", "organizations", {"sa", "oaB"}, where={"id": "@org:B"}, values={"name": "Renamed"}),
    W("org-A-delete", "delete", "organizations", {"sa"}, where={"id": "@org:A"}),
    # users: self changes display name and avatar; the rest is SA's. An address in nobody's
    # domain is nobody's to create but SA's: OA creates only accounts their organization
    # manages (test_access_accounts.py), everyone else joins by invitation.
    W(
        "user-create",
        "insert",
        "users",
        {"sa"},
        values={"id": "@new", "email": Sql("gen_random_uuid() || '@example.org'"), "display_name": "New"},
    ),
    W(
        "user-create-super-admin",
        "insert",
        "users",
        {"sa"},
        values={
            "id": "@new",
            "email": Sql("gen_random_uuid() || '@example.org'"),
            "display_name": "New",
            "is_super_admin": True,
        },
    ),
    W(
        "self-display_name",
        "update",
        "users",
        EVERY_PERSON,
        where={"id": "@user:self"},
        values={"display_name": "Renamed"},
    ),
    W(
        "self-avatar",
        "update",
        "users",
        EVERY_PERSON,
        where={"id": "@user:self"},
        values={"avatar_url": "https://example.org/a.png"},
    ),
    W(
        "self-email",
        "update",
        "users",
        {"sa"},
        where={"id": "@user:self"},
        values={"email": Sql("'changed-' || email")},
    ),
    W(
        "self-is_super_admin",
        "update",
        "users",
        {"sa"},
        where={"id": "@user:self"},
        values={"is_super_admin": Sql("not is_super_admin")},
    ),
    W("self-disabled_at", "update", "users", {"sa"}, where={"id": "@user:self"}, values={"disabled_at": NOW}),
    W(
        "self-created_at",
        "update",
        "users",
        {"sa"},
        where={"id": "@user:self"},
        values={"created_at": Sql("created_at - interval '1 day'")},
    ),
    W("s1-display_name", "update", "users", {"sa", "s1"}, where={"id": "@user:s1"}, values={"display_name": "Renamed"}),
    W("t1-display_name", "update", "users", {"sa", "t1"}, where={"id": "@user:t1"}, values={"display_name": "Renamed"}),
    W("s1-delete", "delete", "users", {"sa"}, where={"id": "@user:s1"}),
    # credentials, refresh tokens, login failures: service only.
    W(
        "credential-create",
        "insert",
        "server.credentials",
        set(),
        values={"user_id": PROBE_USER, "password_hash": "x"},
        setup=[SEED_USER],
    ),
    W(
        "credential-change",
        "update",
        "server.credentials",
        set(),
        where={"user_id": "@user:t1"},
        values={"password_hash": "x"},
    ),
    W(
        "credential-must-change",
        "update",
        "server.credentials",
        set(),
        where={"user_id": "@user:t1"},
        values={"must_change": True},
    ),
    W("credential-delete", "delete", "server.credentials", set(), where={"user_id": "@user:t1"}),
    W(
        "own-credential-change",
        "update",
        "server.credentials",
        set(),
        where={"user_id": "@user:self"},
        values={"password_hash": "x"},
    ),
    W(
        "refresh-token-create",
        "insert",
        "server.refresh_tokens",
        set(),
        values={
            "user_id": "@user:self",
            "session_id": PROBE_SESSION,
            "token_hash": "@unique",
            "expires_at": Sql("now() + interval '1 day'"),
        },
        setup=[SEED_SESSION],
    ),
    W(
        "refresh-token-revoke",
        "update",
        "server.refresh_tokens",
        set(),
        where={"id": PROBE_TOKEN},
        values={"revoked_at": NOW},
        setup=[SEED_SESSION, SEED_TOKEN],
    ),
    W(
        "refresh-token-delete",
        "delete",
        "server.refresh_tokens",
        set(),
        where={"id": PROBE_TOKEN},
        setup=[SEED_SESSION, SEED_TOKEN],
    ),
    W(
        "login-failure-create",
        "insert",
        "server.login_failures",
        set(),
        values={"scope": "address", "key": "@unique", "window_started_at": NOW, "failures": 1},
    ),
    W(
        "login-failure-change",
        "update",
        "server.login_failures",
        set(),
        where={"key": PROBE_FAILURE_KEY},
        values={"failures": 0},
        setup=[SEED_FAILURE],
    ),
    W(
        "login-failure-delete",
        "delete",
        "server.login_failures",
        set(),
        where={"key": PROBE_FAILURE_KEY},
        setup=[SEED_FAILURE],
    ),
    # memberships: OA, for people already in the org (the pair rule, test_access_accounts.py).
    W(
        "membership-create",
        "insert",
        "memberships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "user_id": "@user:s2", "role": "parent"},
    ),
    W(
        "membership-create-self-admin",
        "insert",
        "memberships",
        {"sa"},  # nobody promotes themselves
        values={"organization_id": "@org:A", "user_id": "@user:self", "role": "org_admin"},
        not_for={"oa"},
    ),  # already org_admin of A
    W(
        "membership-change",
        "update",
        "memberships",
        {"sa", "oa"},
        where={"id": "@membership:s1:student"},
        values={"updated_at": NOW},
    ),
    W("membership-delete", "delete", "memberships", {"sa", "oa"}, where={"id": "@membership:p2:parent"}),
    W("own-membership-delete", "delete", "memberships", {"sa", "oa"}, where={"id": "@membership:t1:teacher"}),
    # classes: OA; T changes own class.
    W("class-create", "insert", "classes", {"sa", "oa"}, values={"organization_id": "@org:A", "name": "New"}),
    W("c1-change", "update", "classes", {"sa", "oa", "t1"}, where={"id": "@class:c1"}, values={"name": "Renamed"}),
    W(
        "c3-change",
        "update",
        "classes",
        {"sa", "oa", "t1", "t2"},
        where={"id": "@class:c3"},
        values={"name": "Renamed"},
    ),
    W("c1-delete", "delete", "classes", {"sa", "oa"}, where={"id": "@class:c1"}),
    # enrollments: OA; T manages student enrollments of own class.
    W(
        "enroll-student-own-class",
        "insert",
        "enrollments",
        {"sa", "oa", "t1"},
        values={"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:s2", "role": "student"},
    ),
    W(
        "enroll-teacher",
        "insert",
        "enrollments",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:t2", "role": "teacher"},
    ),
    W(
        "enroll-student-other-class",
        "insert",
        "enrollments",
        {"sa", "oa", "t2"},
        values={"organization_id": "@org:A", "class_id": "@class:c2", "user_id": "@user:s1", "role": "student"},
    ),
    W(
        "student-enrollment-change",
        "update",
        "enrollments",
        {"sa", "oa", "t1"},
        where={"id": "@enrollment:c1:s1"},
        values={"updated_at": NOW},
    ),
    W(
        "student-enrollment-move-to-other-class",
        "update",
        "enrollments",
        {"sa", "oa"},
        where={"id": "@enrollment:c1:s1"},
        values={"class_id": "@class:c2"},
    ),
    W(
        "teacher-enrollment-change",
        "update",
        "enrollments",
        {"sa", "oa"},
        where={"id": "@enrollment:c1:t1"},
        values={"updated_at": NOW},
    ),
    W("student-unenroll-c1", "delete", "enrollments", {"sa", "oa", "t1"}, where={"id": "@enrollment:c1:s1"}),
    W("student-unenroll-c2", "delete", "enrollments", {"sa", "oa", "t2"}, where={"id": "@enrollment:c2:s2"}),
    W("teacher-unenroll", "delete", "enrollments", {"sa", "oa"}, where={"id": "@enrollment:c1:t1"}),
    # guardianships: OA.
    W(
        "guardianship-create",
        "insert",
        "guardianships",
        {"sa", "oa"},
        values={"organization_id": "@org:A", "parent_id": "@user:p1", "student_id": "@user:s2"},
    ),
    W(
        "guardianship-change",
        "update",
        "guardianships",
        {"sa", "oa"},
        where={"id": "@guardianship:p1"},
        values={"updated_at": NOW},
    ),
    W("guardianship-delete", "delete", "guardianships", {"sa", "oa"}, where={"id": "@guardianship:p1"}),
]


@pytest.fixture(scope="module")
def refs(world) -> Refs:
    return Refs(world)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Specific guarantees stated in words.


@pytest.mark.parametrize("actor", ["t1", "s1", "p1", "oa"])
@pytest.mark.parametrize("change", ["is_super_admin = true", "email = 'x-' || email", "disabled_at = now()"])
async def test_user_guard_trigger_refuses_with_42501(db, world, actor, change):
    """A person's own row passes the update policy; the guard trigger is what refuses."""
    async with rolled_back(db, world.identity(actor)) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text(f"update public.users set {change} where id = :id"), {"id": world.users[actor]})
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "you may change only your display name and avatar" in str(caught.value.orig)


async def test_probes_leave_no_trace(db, world):
    """What a probe changes is rolled back: the shared world never changes."""
    marker = f"probe-{uuid.uuid4().hex}"
    assert await can_update(db, world, "oa", "classes", {"id": "@class:c1"}, {"name": marker})
    async with rolled_back(db, SERVICE) as session:
        assert await session.scalar(text("select count(*) from public.classes where name = :n"), {"n": marker}) == 0


@pytest.mark.parametrize(
    ("actor", "role"), [("t1", "authenticated"), ("sa", "authenticated"), ("anon", "anon"), ("service", "service_role")]
)
async def test_probes_with_setup_run_as_the_actor(db, world, actor, role):
    """A probe that seeds rows first runs on an owner connection; its statement still runs
    as the actor's role and claims, and sees what the setup wrote."""
    async with as_actor(db, world, actor, setup=[SEED_FAILURE]) as session:
        row = (await session.execute(text("select current_user, auth.uid(), current_setting('is_superuser')"))).one()
        assert (row[0], row[2]) == (role, "off")
        assert row[1] == (world.users[actor] if actor in world.users else None)
        if actor == "service":
            assert (
                await session.scalar(
                    text("select count(*) from server.login_failures where key = :k"), {"k": PROBE_FAILURE_KEY}
                )
                == 1
            )


async def test_anon_sees_nothing_in_any_table(db, world):
    tables = sorted(await tables_in(db, "public"))
    assert {"organizations", "users", "memberships", "classes", "enrollments", "guardianships"} <= set(tables)
    seen = {}
    for table in tables:
        async with rolled_back(db, world.identity("anon")) as session:
            try:
                count = await session.scalar(text(f'select count(*) from public."{table}"'))
            except DBAPIError as exc:
                assert sqlstate(exc) == INSUFFICIENT_PRIVILEGE, exc
                continue
        if count:
            seen[table] = count
    assert seen == {}


SERVER_TABLES = {
    "credentials",
    "refresh_tokens",
    "login_failures",
    "sessions",
    "password_resets",
    "mail_outbox",
    "invitation_tokens",
}


async def test_only_service_role_may_use_the_server_schema(db):
    """Schema privilege, not row-level security, keeps the server's tables from end users."""
    assert await tables_in(db, "server") == SERVER_TABLES  # a new server table is added here, and to docs/access.md
    async with rolled_back(db, SERVICE) as session:
        usage = dict(
            (
                await session.execute(
                    text(
                        "select r, has_schema_privilege(r, 'server', 'USAGE') from unnest(array"
                        "['anon', 'authenticated', 'authenticator', 'service_authenticator', 'service_role']) r"
                    )
                )
            ).all()
        )
        public_usage = await session.scalar(
            text(
                "select coalesce(bool_or(a.grantee = 0), false) from pg_namespace n, aclexplode(n.nspacl) a"
                " where n.nspname = 'server' and a.privilege_type = 'USAGE'"
            )
        )
    assert usage == {
        "anon": False,
        "authenticated": False,
        "authenticator": False,
        "service_authenticator": False,
        "service_role": True,
    }
    assert public_usage is False


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != "service"])
async def test_end_users_and_anon_are_refused_the_server_schema(db, world, actor):
    for table in sorted(SERVER_TABLES):
        async with rolled_back(db, world.identity(actor)) as session:
            with pytest.raises(DBAPIError) as caught:
                await session.execute(text(f"select count(*) from server.{table}"))
        assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE, table
        assert "permission denied for schema server" in str(caught.value.orig), table


async def test_service_reads_every_server_table(db):
    for table in sorted(SERVER_TABLES):
        async with rolled_back(db, SERVICE) as session:
            assert await session.scalar(text(f"select count(*) from server.{table}")) >= 0


# What "everything of org A" means per table, for X.
ORG_A_ROWS = {
    "organizations": "id = :org",
    "users": "id in (select m.user_id from public.memberships m where m.organization_id = :org)",
    "memberships": "organization_id = :org",
    "classes": "organization_id = :org",
    "enrollments": "organization_id = :org",
    "guardianships": "organization_id = :org",
}


@pytest.mark.parametrize("actor", X)
async def test_x_sees_nothing_of_org_a(db, world, actor):
    async def counts(identity):
        result = {}
        for table, condition in ORG_A_ROWS.items():
            async with rolled_back(db, identity) as session:
                result[table] = await session.scalar(
                    text(f"select count(*) from public.{table} where {condition}"), {"org": world.orgs["A"]}
                )
        return result

    assert all((await counts(SERVICE)).values())  # org A does have rows of every kind
    assert await counts(world.identity(actor)) == dict.fromkeys(ORG_A_ROWS, 0)


# ---------------------------------------------------------------------------
# Composite foreign keys: a row can never point at a person without the matching
# role in the same organization, nor into the other organization - not even as
# the server's own role, which bypasses RLS.

FK_CASES = {
    "enroll-parent-as-student": (
        "enrollments",
        {"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:p1", "role": "student"},
    ),
    "enroll-student-as-teacher": (
        "enrollments",
        {"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:s2", "role": "teacher"},
    ),
    "enroll-other-org-student": (
        "enrollments",
        {"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:sB", "role": "student"},
    ),
    "enroll-into-other-org-class": (
        "enrollments",
        {"organization_id": "@org:A", "class_id": "@class:cB", "user_id": "@user:s2", "role": "student"},
    ),
    "enroll-as-org-B-into-org-A-class": (
        "enrollments",
        {"organization_id": "@org:B", "class_id": "@class:c1", "user_id": "@user:sB", "role": "student"},
    ),
    "guardian-teacher-as-parent": (
        "guardianships",
        {"organization_id": "@org:A", "parent_id": "@user:t1", "student_id": "@user:s2"},
    ),
    "guardian-of-a-parent": (
        "guardianships",
        {"organization_id": "@org:A", "parent_id": "@user:p1", "student_id": "@user:p2"},
    ),
    "guardian-from-other-org": (
        "guardianships",
        {"organization_id": "@org:A", "parent_id": "@user:pB", "student_id": "@user:s2"},
    ),
    "guardian-of-other-org-student": (
        "guardianships",
        {"organization_id": "@org:B", "parent_id": "@user:pB", "student_id": "@user:s2"},
    ),
}


@pytest.mark.parametrize("case", list(FK_CASES))
async def test_composite_foreign_keys_refuse_mismatched_rows_even_for_service(db, world, case):
    table, values = FK_CASES[case]
    with pytest.raises(DBAPIError) as caught:
        await can_insert(db, world, "service", table, values)
    assert sqlstate(caught.value) == FOREIGN_KEY_VIOLATION


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (
            "enrollments",
            {"organization_id": "@org:A", "class_id": "@class:c1", "user_id": "@user:s2", "role": "student"},
        ),
        ("guardianships", {"organization_id": "@org:A", "parent_id": "@user:p1", "student_id": "@user:s2"}),
    ],
)
async def test_composite_foreign_keys_accept_matching_rows(db, world, table, values):
    """The control for the cases above: the same shape with the right person goes in."""
    assert await can_insert(db, world, "service", table, values)
