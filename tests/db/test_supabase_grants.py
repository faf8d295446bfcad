"""The migrations grant exactly what they mean, whatever default privileges the migration owner
has: on a database set up as Supabase sets one up, every privilege ends up as on a plain one,
`check` is clean, and the owner's default privileges are left as they were."""

import pytest
from alembic import op
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from schoolbase.db import migrate
from schoolbase.migrations.grants import explicit_grants

# Supabase's setup grants this in every project; the plain database gets it too, so the two
# differ only in the owner's default privileges.
SCHEMA_USAGE = "grant usage on schema public to anon, authenticated, service_role"
# The migration owner's default privileges in every Supabase project.
SUPABASE = """
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
"""
# Owner-wide defaults replace PostgreSQL's built-in ones, which revisions may rely on (EXECUTE
# for PUBLIC on functions). Tables and schemas are left out: alembic's own version table and
# schema are made outside any revision.
OWNER_WIDE = """
alter default privileges revoke execute on functions from public;
alter default privileges grant all on functions to anon;
alter default privileges grant all on sequences to anon with grant option;
alter default privileges grant usage on types to anon;
"""

NOT_SYSTEM = "n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'"
PRIVILEGE = """
    case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end || ' ' || a.privilege_type
    || case when a.is_grantable then ' with grant option' else '' end
"""
# Every privilege on every object outside the system schemas. Partitions are made per month at
# migration time, so each stands for its parent.
EVERY_PRIVILEGE = f"""
select 'schema ' || n.nspname || ' ' || {PRIVILEGE}
from pg_namespace n cross join aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
where {NOT_SYSTEM}
union
select 'relation ' || r.name || ' ' || {PRIVILEGE}
from pg_class c join pg_namespace n on n.oid = c.relnamespace
cross join lateral (
  select case when c.relispartition
              then (select i.inhparent::regclass::text from pg_inherits i where i.inhrelid = c.oid) || ' partition'
              else c.oid::regclass::text end as name
) r
cross join aclexplode(coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::"char",
                                                    c.relowner))) a
where {NOT_SYSTEM} and c.relkind not in ('i', 'I', 'c', 't')
union
select 'column ' || c.oid::regclass::text || '.' || t.attname || ' ' || {PRIVILEGE}
from pg_attribute t join pg_class c on c.oid = t.attrelid join pg_namespace n on n.oid = c.relnamespace
cross join aclexplode(t.attacl) a
where {NOT_SYSTEM} and not c.relispartition
union
select 'function ' || p.oid::regprocedure::text || ' ' || {PRIVILEGE}
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
cross join aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
where {NOT_SYSTEM}
union
select 'type ' || t.oid::regtype::text || ' ' || {PRIVILEGE}
from pg_type t join pg_namespace n on n.oid = t.typnamespace
cross join aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
where {NOT_SYSTEM}
  -- An array type or a table's row type has no privileges of its own.
  and (t.typtype <> 'b' or t.typelem = 0)
  and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
"""
DEFAULT_PRIVILEGES = f"""
select d.defaclrole::regrole::text || ' ' || d.defaclobjtype::text
       || ' in ' || d.defaclnamespace::regnamespace::text || ' ' || {PRIVILEGE}
from pg_default_acl d cross join aclexplode(d.defaclacl) a
"""
TRUNCATABLE_BY_ANON = f"""
select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
where {NOT_SYSTEM} and c.relkind in ('r', 'p')
  and has_table_privilege('anon', c.oid, 'TRUNCATE')
"""


def execute(url: str, sql: str) -> None:
    with migrate.owner_connection(url) as conn:
        conn.execute(text(sql))
        conn.commit()


def rows(url: str, sql: str) -> set[str]:
    with migrate.owner_connection(url) as conn:
        return set(conn.execute(text(sql)).scalars())


# ``owner_url`` migrates the suite's database first, which makes the cluster-wide roles.
@pytest.fixture(scope="module")
def plain(server_url: str, owner_url: str) -> set[str]:
    """Every privilege on a plain database at head."""
    with migrate.scratch_database(server_url) as url:
        execute(url, SCHEMA_USAGE)
        migrate.upgrade(url)
        yield rows(url, EVERY_PRIVILEGE)


@pytest.mark.parametrize("defaults", [SUPABASE, OWNER_WIDE], ids=["supabase", "owner-wide"])
def test_default_privileges_do_not_leak_into_what_revisions_create(server_url, plain, defaults):
    with migrate.scratch_database(server_url) as url:
        execute(url, SCHEMA_USAGE)
        execute(url, defaults)
        before = rows(url, DEFAULT_PRIVILEGES)
        assert before

        migrate.upgrade(url)
        at_head = rows(url, EVERY_PRIVILEGE)
        assert at_head - plain == set()
        assert plain - at_head == set()
        assert rows(url, TRUNCATABLE_BY_ANON) == set()
        assert rows(url, DEFAULT_PRIVILEGES) == before
        assert migrate.check(url) == []

        migrate.downgrade(url, "base")
        assert rows(url, DEFAULT_PRIVILEGES) == before
        migrate.upgrade(url)
        assert rows(url, EVERY_PRIVILEGE) == at_head
        assert rows(url, DEFAULT_PRIVILEGES) == before


@pytest.mark.usefixtures("owner_url")
def test_a_failed_step_leaves_the_default_privileges_as_they_were(server_url):
    during: list[str] = []

    def failing() -> None:
        op.execute("create table public.half_done (id int)")
        during.extend(op.get_bind().execute(text(DEFAULT_PRIVILEGES)).scalars())
        raise RuntimeError("revision failed")

    with migrate.scratch_database(server_url) as url:
        execute(url, SUPABASE)
        before = rows(url, DEFAULT_PRIVILEGES)
        with (
            migrate.owner_connection(url) as conn,
            Operations.context(MigrationContext.configure(conn)),
            pytest.raises(RuntimeError),
            conn.begin(),
        ):
            explicit_grants(failing)()
        assert during == []
        assert rows(url, DEFAULT_PRIVILEGES) == before
        assert rows(url, "select to_regclass('public.half_done')::text") == {None}


@pytest.mark.parametrize("script", list(migrate.script_directory().walk_revisions()), ids=lambda s: s.revision)
def test_every_revision_grants_explicitly(script):
    for step in (script.module.upgrade, script.module.downgrade):
        assert getattr(step, "explicit_grants", False), f"{script.path}: {step.__name__} lacks @explicit_grants"
