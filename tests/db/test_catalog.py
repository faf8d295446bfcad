"""The catalog keeps the promises of DESIGN.md: every table in ``public`` is under
row-level security with a policy, every function in ``public``/``private`` has a
fixed search_path, the server's connection owns nothing and is no superuser, and
no role or JWT claim outlives the transaction that set it on a pooled connection."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.engine import Database
from schoolbase.db.rls import ANONYMOUS, SERVICE, user_identity
from schoolbase.errors import sqlstate
from tests.conftest import open_database, rolled_back

CORE_TABLES = {
    "organizations",
    "organization_domains",
    "users",
    "invitations",
    "memberships",
    "classes",
    "enrollments",
    "guardianships",
}
SERVER_ROLES = ("authenticator", "service_authenticator", "anon", "authenticated", "service_role")


async def _rows(db, sql: str) -> list:
    async with db.sessions() as session, session.begin():
        return list((await session.execute(text(sql))).all())


async def test_every_public_table_has_rls_enabled_and_a_policy(db):
    rows = await _rows(
        db,
        """
        select c.relname, c.relrowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
        from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        order by 1
    """,
    )
    assert CORE_TABLES <= {name for name, _, _ in rows}
    assert [name for name, rls, _ in rows if not rls] == [], "tables without row-level security"
    assert [name for name, _, policies in rows if policies == 0] == [], "tables without any policy"


async def test_every_public_view_runs_as_the_caller(db):
    """A view runs as its owner unless security_invoker, which would bypass RLS."""
    rows = await _rows(
        db,
        """
        select c.relname from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
          and not coalesce('security_invoker=true' = any (c.reloptions)
                           or 'security_invoker=on' = any (c.reloptions), false)
    """,
    )
    assert rows == []


FUNCTIONS = """
    select p.oid::regprocedure::text, n.nspname, p.prosecdef,
           (select c from unnest(p.proconfig) c where c like 'search_path=%') as search_path
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private') and p.prokind in ('f', 'p')
      and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
                      and d.objid = p.oid and d.deptype = 'e')  -- extensions' own functions
    order by 1
"""


async def test_every_function_has_a_fixed_search_path(db):
    rows = await _rows(db, FUNCTIONS)
    names = {name for name, *_ in rows}
    assert {"private.is_super_admin()", "private.taught_class_ids()", "private.guard_user_columns()"} <= names
    assert [name for name, _, _, path in rows if path is None] == [], "functions without a fixed search_path"
    # DESIGN.md: the security definer helpers use an empty search_path.
    assert [name for name, _, definer, path in rows if definer and path != 'search_path=""'] == []


@pytest.mark.parametrize("who", ["authenticator", "anon", "authenticated", "service_role"])
async def test_the_server_connection_is_no_superuser_and_owns_no_table(db, world, who):
    identity = {"anon": ANONYMOUS, "authenticated": user_identity(world.users["sa"]), "service_role": SERVICE}
    sql = text("""
        select current_user::text, session_user::text,
               (select rolsuper from pg_roles where rolname = current_user),
               (select rolsuper from pg_roles where rolname = session_user),
               (select count(*) from pg_tables where schemaname = 'public'),
               (select array_agg(tablename::text) from pg_tables where schemaname = 'public'
                  and (tableowner in (current_user, session_user)
                       or pg_has_role(current_user, tableowner, 'MEMBER')
                       or pg_has_role(session_user, tableowner, 'MEMBER')))
    """)
    if who == "authenticator":
        async with db.sessions() as session, session.begin():
            row = (await session.execute(sql)).one()
            bypass = await session.scalar(text("select rolbypassrls from pg_roles where rolname = session_user"))
        assert bypass is False  # if the server ever forgot to set a role, RLS would still apply
    else:
        async with rolled_back(db, identity[who]) as session:
            row = (await session.execute(sql)).one()
    current, session_user, current_super, session_super, tables, owned = row
    login = "service_authenticator" if who == "service_role" else "authenticator"
    assert (current, session_user) == (who, login)
    assert (current_super, session_super) == (False, False)
    assert tables >= len(CORE_TABLES)
    assert owned is None


async def test_server_roles_are_set_up_as_designed(db):
    rows = await _rows(
        db,
        f"""
        select rolname::text, rolsuper, rolbypassrls, rolcanlogin
        from pg_roles where rolname in ({", ".join(f"'{r}'" for r in SERVER_ROLES)})
    """,
    )
    assert {name: tuple(flags) for name, *flags in rows} == {
        # name: (superuser, bypasses RLS, can log in)
        "authenticator": (False, False, True),
        "service_authenticator": (False, False, True),
        "anon": (False, False, False),
        "authenticated": (False, False, False),
        "service_role": (False, True, False),
    }


async def test_each_login_role_may_become_only_its_own_roles(db):
    rows = await _rows(
        db,
        """
        select l.rolname::text, r.rolname::text, pg_has_role(l.oid, r.oid, 'member')
        from pg_roles l cross join pg_roles r
        where l.rolname in ('authenticator', 'service_authenticator')
          and r.rolname in ('anon', 'authenticated', 'service_role')
    """,
    )
    assert {(login, role) for login, role, member in rows if member} == {
        ("authenticator", "anon"),
        ("authenticator", "authenticated"),
        ("service_authenticator", "service_role"),
    }


# --- settings never leak through the pool ----------------------------------------

STATE = text("""
    select pg_backend_pid(), current_user::text, current_setting('role'),
           nullif(current_setting('request.jwt.claims', true), ''),
           nullif(current_setting('request.jwt.claim.sub', true), '')
""")


@pytest.fixture
async def single(urls):
    async with open_database(urls, pool_size=1, max_overflow=0) as database:
        yield database


async def _clean_state(database: Database) -> tuple[int, str | None]:
    """A new transaction on the pool's only connection, without applying any identity."""
    async with database.sessions() as session, session.begin():
        pid, current, role, claims, sub = (await session.execute(STATE)).one()
        assert (current, role, claims, sub) == ("authenticator", "none", None, None)
        # auth.uid() needs a role with usage on schema auth; switch the role only,
        # leaving the claims to whatever the connection still carries.
        await session.execute(text("set local role authenticated"))
        uid = await session.scalar(text("select auth.uid()"))
        await session.rollback()
    return pid, uid


async def test_identity_does_not_outlive_a_committed_transaction(single, world):
    first, uid = await _clean_state(single)
    assert uid is None
    async with single.as_user(user_identity(world.users["t1"])) as session:
        pid, current, role, claims, _ = (await session.execute(STATE)).one()
        assert (pid, current, role) == (first, "authenticated", "authenticated")
        assert str(world.users["t1"]) in claims
        assert await session.scalar(text("select auth.uid()")) == world.users["t1"]
    assert await _clean_state(single) == (first, None)


async def test_identity_does_not_outlive_a_transaction_that_raised(single, world):
    first, _ = await _clean_state(single)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with single.as_user(user_identity(world.users["s1"])) as session:
            assert await session.scalar(text("select auth.uid()")) == world.users["s1"]
            raise Boom
    assert await _clean_state(single) == (first, None)

    with pytest.raises(DBAPIError) as caught:
        async with single.as_user(user_identity(world.users["s1"])) as session:
            await session.execute(text("insert into public.organizations (name, slug) values ('x', 'leak-probe')"))
    assert sqlstate(caught.value) == "42501"
    assert await _clean_state(single) == (first, None)

    with pytest.raises(DBAPIError):
        async with single.as_service() as session:
            await session.execute(text("select 1 / 0"))
    assert await _clean_state(single) == (first, None)
