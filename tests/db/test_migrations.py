"""Migrations on a brand-new database: upgrade, downgrade, idempotence, concurrency,
and `check` (the history rules and drift between the migrations and the live schema)."""

import subprocess
import sys

import pytest
from sqlalchemy import text

from schoolbase.db import migrate
from schoolbase.db.migrate import Revision, history_problems
from tests.db.support import processes

HEAD = migrate.script_directory().get_current_head()

# What a database holds beyond catalog_snapshot: every schema, relation, column,
# index and type we could have created, so "restored" means restored.
SCHEMA_QUERIES = {
    "schemas": """
        select nspname from pg_namespace
        where nspname not like 'pg\\_%' and nspname <> 'information_schema'
    """,
    "relations": """
        select n.nspname || '.' || c.relname || ' ' || c.relkind::text from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'private', 'auth')
    """,
    "columns": """
        select table_schema || '.' || table_name || '.' || column_name || ' ' || data_type
               || ' null=' || is_nullable || ' default=' || coalesce(column_default, '')
        from information_schema.columns where table_schema in ('public', 'private', 'auth')
    """,
    "indexes": "select schemaname || ' ' || indexdef from pg_indexes where schemaname in ('public', 'private', 'auth')",
    "types": """
        select n.nspname || '.' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname in ('public', 'private', 'auth')
    """,
    "routines": """
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private', 'auth')
    """,
}


def schema_state(url: str) -> dict[str, set[str]]:
    with migrate.owner_connection(url) as conn:
        state = migrate.catalog_snapshot(conn)
        for kind, sql in SCHEMA_QUERIES.items():
            state[kind] = set(conn.execute(text(sql)).scalars())
    return state


def execute(url: str, sql: str) -> None:
    with migrate.owner_connection(url) as conn:
        conn.execute(text(sql))
        conn.commit()


@pytest.fixture
def fresh_url(server_url: str):
    """A brand-new empty database, never migrated."""
    with migrate.scratch_database(server_url) as url:
        yield url


@pytest.fixture
def head_url(fresh_url: str) -> str:
    migrate.upgrade(fresh_url)
    return fresh_url


# ---------------------------------------------------------------- upgrade / downgrade


def test_upgrade_downgrade_upgrade_on_an_empty_database(fresh_url):
    empty = schema_state(fresh_url)
    assert migrate.current_revisions(fresh_url) == ()

    migrate.upgrade(fresh_url)
    assert migrate.current_revisions(fresh_url) == (HEAD,)
    at_head = schema_state(fresh_url)
    assert {"organizations", "users", "memberships", "classes"} <= {
        r.split()[0].removeprefix("public.") for r in at_head["relations"]
    }
    assert "private" in at_head["schemas"]

    migrate.downgrade(fresh_url, "base")
    assert migrate.current_revisions(fresh_url) == ()
    with migrate.owner_connection(fresh_url) as conn:
        public_relations = (
            conn.execute(text("select relname from pg_class where relnamespace = 'public'::regnamespace"))
            .scalars()
            .all()
        )
        public_types = (
            conn.execute(text("select typname from pg_type where typnamespace = 'public'::regnamespace"))
            .scalars()
            .all()
        )
        public_functions = (
            conn.execute(text("select proname from pg_proc where pronamespace = 'public'::regnamespace"))
            .scalars()
            .all()
        )
        private = conn.scalar(text("select to_regnamespace('private')"))
        auth = conn.scalar(text("select to_regnamespace('auth')"))
    assert public_relations == []
    assert public_types == []
    assert public_functions == []
    assert private is None
    assert auth is None  # created by the migration on this server, so dropped by it
    # Everything but the (now empty) version table is as it was before the first upgrade.
    after_downgrade = schema_state(fresh_url)
    after_downgrade["schemas"].discard(migrate.VERSION_SCHEMA)
    assert after_downgrade == empty

    migrate.upgrade(fresh_url)
    assert migrate.current_revisions(fresh_url) == (HEAD,)
    assert schema_state(fresh_url) == at_head
    assert migrate.check(fresh_url) == []


@pytest.mark.parametrize("revision", migrate.known_revisions(), ids=lambda r: r.id)
def test_each_downgrade_restores_the_previous_schema(fresh_url, revision: Revision):
    parent = revision.down or "base"
    if revision.down:
        migrate.upgrade(fresh_url, revision.down)
    before = schema_state(fresh_url)

    migrate.upgrade(fresh_url, revision.id)
    assert migrate.current_revisions(fresh_url) == (revision.id,)
    applied = schema_state(fresh_url)
    assert applied != before

    migrate.downgrade(fresh_url, parent)
    assert migrate.current_revisions(fresh_url) == ((revision.down,) if revision.down else ())
    restored = schema_state(fresh_url)
    if not revision.down:
        restored["schemas"].discard(migrate.VERSION_SCHEMA)
        before["schemas"].discard(migrate.VERSION_SCHEMA)
    assert restored == before

    migrate.upgrade(fresh_url, revision.id)
    assert schema_state(fresh_url) == applied


def test_upgrade_again_is_a_no_op(head_url):
    before = schema_state(head_url)
    with migrate.owner_connection(head_url) as conn:
        version_rows = conn.scalar(text(f"select count(*) from {migrate.VERSION_SCHEMA}.alembic_version"))
    migrate.upgrade(head_url)
    migrate.upgrade(head_url, HEAD)
    assert migrate.current_revisions(head_url) == (HEAD,)
    assert schema_state(head_url) == before
    with migrate.owner_connection(head_url) as conn:
        assert conn.scalar(text(f"select count(*) from {migrate.VERSION_SCHEMA}.alembic_version")) == version_rows == 1


def test_a_second_database_on_the_same_server_migrates_too(head_url, server_url):
    """Roles are cluster-wide: the migration must tolerate them already existing."""
    with migrate.scratch_database(server_url) as other:
        migrate.upgrade(other)
        assert migrate.current_revisions(other) == (HEAD,)
        assert migrate.check(other) == []
        migrate.downgrade(other, "base")
    # Dropping the other database's schema left this one and the shared roles intact.
    assert migrate.check(head_url) == []


def test_concurrent_upgrades_of_one_new_database_all_succeed(fresh_url):
    """Two servers starting at once on the same database: one migrates, the others wait and find it done."""
    # Each process imports everything, reports ready, and upgrades only when told,
    # so the upgrades really do overlap.
    script = (
        "import sys; from schoolbase.db.migrate import upgrade; import schoolbase.models; "
        "print('ready', flush=True); sys.stdin.readline(); upgrade(sys.argv[1])"
    )
    with processes([sys.executable, "-W", "ignore", "-c", script, fresh_url], 4, stdin=subprocess.PIPE) as procs:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), "\n".join(err for _, err in results)
    assert migrate.current_revisions(fresh_url) == (HEAD,)
    assert migrate.check(fresh_url) == []


# ---------------------------------------------------------------- check


def test_check_is_clean_on_a_fresh_head_database(head_url):
    assert migrate.check(head_url) == []


def test_check_reports_a_database_that_was_never_migrated(fresh_url):
    problems = migrate.check(fresh_url)
    assert len(problems) == 1
    assert "at base, not at head" in problems[0] and HEAD in problems[0]


def test_check_reports_a_database_behind_head(head_url):
    migrate.downgrade(head_url, "-1")
    behind = migrate.current_revisions(head_url)
    problems = migrate.check(head_url)
    assert len(problems) == 1
    assert "not at head" in problems[0] and HEAD in problems[0]
    assert f"database is at {', '.join(behind) or 'base'}," in problems[0]


def test_check_reports_a_broken_history_before_touching_the_database(monkeypatch):
    two_heads = [
        Revision("20250101_000000", None, "a.py"),
        Revision("20250102_000000", "20250101_000000", "b.py"),
        Revision("20250103_000000", "20250101_000000", "c.py"),
    ]
    monkeypatch.setattr(migrate, "known_revisions", lambda: two_heads)
    # No database is reachable at this URL: the history alone must decide.
    problems = migrate.check("postgresql://nobody@127.0.0.1:1/nowhere")
    assert any("more than one head" in p for p in problems)


# (hand-made change, a fragment each resulting problem list must contain)
DRIFT = {
    "drop policy": (
        "drop policy classes_delete on public.classes",
        ["policies: missing or changed in the database: classes.classes_delete DELETE"],
    ),
    "loosen policy": (
        "alter policy users_select on public.users using (true)",
        [
            "policies: missing or changed in the database: users.users_select",
            "policies: not in the migrations: users.users_select SELECT {authenticated} using true",
        ],
    ),
    "extra policy": (
        "create policy sneaky on server.credentials for select to authenticated using (true)",
        ["policies: not in the migrations: server.credentials.sneaky"],
    ),
    "add column": (
        "alter table public.classes add column room text",
        ["model differs from database", "remove_column", "'classes'", "'room'"],
    ),
    "drop column": (
        "alter table public.classes drop column term",
        ["model differs from database", "add_column", "'classes'", "term"],
    ),
    "change column type": (
        "alter table public.classes alter column subject type varchar(20)",
        ["model differs from database", "modify_type", "'subject'"],
    ),
    "drop not null": (
        "alter table public.classes alter column name drop not null",
        ["model differs from database", "modify_nullable", "'name'"],
    ),
    "drop column default": (
        "alter table public.organizations alter column time_zone drop default",
        ["column defaults: missing or changed in the database: organizations.time_zone default 'UTC'"],
    ),
    "extra table": (
        "create table public.sneaky (id int)",
        ["remove_table", "'sneaky'", "row level security: not in the migrations: sneaky rls=false"],
    ),
    "drop index": (
        "drop index public.classes_org_name_idx",
        ["model differs from database", "add_index", "classes_org_name_idx"],
    ),
    "drop check constraint": (
        "alter table public.organizations drop constraint organizations_slug_check",
        ["constraints: missing or changed in the database: organizations.organizations_slug_check CHECK"],
    ),
    "drop tenant foreign key": (
        "alter table public.enrollments drop constraint enrollments_organization_id_class_id_fkey",
        ["constraints: missing or changed in the database: enrollments.enrollments_organization_id_class_id_fkey"],
    ),
    "extra trigger": (
        "create trigger classes_extra before insert on public.classes "
        "for each row execute function private.touch_updated_at()",
        ["triggers: not in the migrations: CREATE TRIGGER classes_extra BEFORE INSERT ON public.classes"],
    ),
    "drop trigger": (
        "drop trigger users_guard_columns on public.users",
        ["triggers: missing or changed in the database: CREATE TRIGGER users_guard_columns"],
    ),
    "extra function in private": (
        "create function private.sneaky() returns int language sql as 'select 1'",
        ["functions: not in the migrations: private.sneaky()"],
    ),
    "extra function in public": (
        "create function public.sneaky(x int) returns int language sql as 'select x'",
        ["functions: not in the migrations: public.sneaky(x integer)"],
    ),
    "replace a helper's body": (
        "create or replace function private.is_super_admin() returns boolean "
        "language sql stable security definer set search_path = '' as $$ select true $$",
        [
            "functions: missing or changed in the database: private.is_super_admin()",
            "functions: not in the migrations: private.is_super_admin()",
        ],
    ),
    "helper loses security definer": (
        "alter function private.child_ids() security invoker",
        ["functions: missing or changed in the database: private.child_ids()"],
    ),
    "disable rls": (
        "alter table public.users disable row level security",
        [
            "row level security: missing or changed in the database: users rls=true",
            "row level security: not in the migrations: users rls=false",
        ],
    ),
}


@pytest.mark.parametrize("change", DRIFT, ids=list(DRIFT))
def test_check_detects_hand_made_drift(head_url, change):
    sql, fragments = DRIFT[change]
    execute(head_url, sql)  # a fresh head database checks clean: see test_check_is_clean_on_a_fresh_head_database
    problems = migrate.check(head_url)
    assert problems, f"{change} went unnoticed"
    report = "\n".join(problems)
    for fragment in fragments:
        assert fragment in report, f"{fragment!r} not in:\n{report}"
    # The live database is still at head: drift is not mistaken for a missing upgrade.
    assert not any("not at head" in p for p in problems)


# ---------------------------------------------------------------- history rules


def rev(rev_id: str, down: str | None) -> Revision:
    return Revision(rev_id, down, f"versions/{rev_id}_x.py")


A, B, C = "20250101_000000", "20250102_120000", "20250103_235959"


def test_a_linear_history_has_no_problems():
    assert history_problems([rev(C, B), rev(B, A), rev(A, None)]) == []
    assert history_problems([rev(A, None)]) == []
    assert history_problems([]) == []


def test_two_heads():
    problems = history_problems([rev(A, None), rev(B, A), rev(C, A)])
    assert f"more than one head: {B}, {C}" in problems
    assert f"branch at {A}: {B}, {C}" in problems


def test_two_bases_are_two_heads():
    problems = history_problems([rev(A, None), rev(B, None)])
    assert f"more than one head: {A}, {B}" in problems
    assert f"branch at base: {A}, {B}" in problems


def test_duplicate_id():
    problems = history_problems([rev(A, None), rev(B, A), Revision(B, A, "versions/other.py")])
    assert f"duplicate revision id {B}" in problems


def test_out_of_order_id():
    # The child's timestamp is older than its parent's: someone rebased without renaming.
    problems = history_problems([rev(B, None), rev(A, B)])
    assert problems == [f"revision {A} is out of order: it comes after {B}"]


def test_child_with_the_same_timestamp_as_its_parent_is_out_of_order():
    problems = history_problems([rev(A, None), Revision(A, A, "versions/self.py")])
    assert any("out of order" in p for p in problems)


@pytest.mark.parametrize(
    "bad_id", ["abc123def456", "2025-01-01_000000", "20250101000000", "20250101_0000", "x20250101_000000"]
)
def test_non_timestamp_id(bad_id):
    problems = history_problems([rev(A, None), Revision(bad_id, A, "versions/bad.py")])
    assert problems == [f"revision id {bad_id!r} is not a YYYYMMDD_HHMMSS timestamp (versions/bad.py)"]


def test_the_real_history_has_no_problems():
    revisions = migrate.known_revisions()
    assert revisions, "no migrations found"
    assert history_problems(revisions) == []
    # walk_revisions goes from head to base
    assert revisions[0].id == HEAD
    assert revisions[-1].down is None
    assert all(migrate.REVISION_ID.match(r.id) for r in revisions)
