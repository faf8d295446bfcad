"""What the access-matrix tests share (tests/*/test_access_*.py).

Each probe runs one statement as one actor through the server's own login role
(``authenticator``) in a transaction that is always rolled back, so the shared
world never changes. A probe with ``setup`` statements (rows the world lacks, written
as ``service_role`` in the probe's own transaction) runs on a connection of the
database's owner instead, which may take both ``service_role`` and the actor's role:
since revision 20261129_170000 neither login role may take the other's. A probe counts
as refused when PostgreSQL answers 42501 (no privilege, a row-level security check or a
guard trigger) or when the statement touches no row; any other error is raised, so a
constraint never passes for a denial.

Actors are the people of ``tests.conftest.World``: ``sa`` super admin (no
membership); in organization A ``oa`` org admin, teachers ``t1`` ``t2`` (co-teachers
of c3), students ``s1`` (c1) ``s2`` (c2), parents ``p1`` (of s1) ``p2`` (of s2); in
organization B ``oaB`` ``tB`` ``sB`` ``pB`` (they are X for every org A row); ``anon``
(no token); ``service`` (the server's own ``service_role``, which bypasses RLS and is
therefore added to every allowed set).

Values in the probe tables name rows symbolically: ``@kind:key`` is a row of the world
(``org``, ``user``, ``email``, ``class``, ``membership``, ``enrollment``,
``guardianship``) or of a test module's seed (``Refs.rows``); ``@user:self`` is the
actor (s1 for anon and service); ``@new`` a fresh uuid; ``@unique`` a fresh short
lowercase string; a ``Sql`` value is inlined as an SQL expression.

Tables are named as in the catalog: ``users`` is ``public.users``; a table of another
schema is named with it (``server.sessions``). End users and anon are refused the
schema ``server`` itself (42501), which counts as refused like any other 42501.
"""

import os
import uuid
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from schoolbase.db.rls import SERVICE, apply_identity
from schoolbase.db.urls import sqlalchemy_url
from schoolbase.errors import sqlstate
from tests.conftest import PEOPLE as WORLD_PEOPLE
from tests.conftest import World, rolled_back

A_PEOPLE = frozenset({"oa", "t1", "t2", "s1", "s2", "p1", "p2"})
B_PEOPLE = frozenset({"oaB", "tB", "sB", "pB"})
PEOPLE = ("sa", *sorted(A_PEOPLE), *sorted(B_PEOPLE))
ACTORS = (*PEOPLE, "anon", "service")
X = sorted(B_PEOPLE)  # people of org B acting on org A rows
EVERY_PERSON = frozenset(PEOPLE)  # every authenticated user
ORG_OF = {who: org for who, (org, _) in WORLD_PEOPLE.items()}

INSUFFICIENT_PRIVILEGE = "42501"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


class Sql(str):
    """A value that is an SQL expression (``now()``), inlined instead of bound."""


NOW = Sql("now()")


def members(org_people) -> set[str]:
    """M of an organization: its people, and SA."""
    return {"sa", *org_people}


@dataclass
class Refs:
    """Ids by kind and key: the world's and those a test module seeds (``rows``)."""

    world: World
    rows: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)

    def resolve(self, actor: str, value):
        if not (isinstance(value, str) and value.startswith("@")) or isinstance(value, Sql):
            return value
        if value == "@new":
            return uuid.uuid4()
        if value == "@unique":
            return f"p{uuid.uuid4().hex[:12]}"
        kind, _, key = value[1:].partition(":")
        if key == "self":
            key = actor if actor in self.world.users else "s1"
        world = self.world
        table = {
            "org": world.orgs,
            "user": world.users,
            "email": world.emails,
            "class": world.classes,
            "membership": world.memberships,
            "enrollment": world.enrollments,
            "guardianship": world.guardianships,
        }.get(kind)
        return (table if table is not None else self.rows[kind])[key]


def as_refs(refs: Refs | World) -> Refs:
    return refs if isinstance(refs, Refs) else Refs(refs)


def _bind(refs: Refs, actor: str, prefix: str, values: dict) -> tuple[list[str], dict]:
    exprs, params = [], {}
    for column, value in values.items():
        if isinstance(value, Sql):
            exprs.append(str(value))
        else:
            exprs.append(f":{prefix}{column}")
            params[f"{prefix}{column}"] = refs.resolve(actor, value)
    return exprs, params


def qualified(table: str) -> str:
    """``users`` -> ``public.users``; ``server.sessions`` stays as it is."""
    return table if "." in table else f"public.{table}"


_OWNER_ENGINES: "weakref.WeakKeyDictionary[object, AsyncEngine]" = weakref.WeakKeyDictionary()


async def _owner_engine(db) -> AsyncEngine:
    """An engine on ``db``'s database as its owner (the migration owner, which may take any
    of the Supabase roles): the owner URL of the suite's server (SCHOOLBASE_DATABASE_URL)
    with this database, or else the database's owner role without a password (the
    embedded server trusts local connections). No pool: nothing stays open."""
    engine = _OWNER_ENGINES.get(db)
    if engine is None:
        app_url = db.engine.url
        configured = os.environ.get("SCHOOLBASE_DATABASE_URL")
        if configured:
            owner_url = make_url(configured).set(database=app_url.database)
        else:
            async with db.engine.connect() as conn:
                owner = await conn.scalar(
                    text(
                        "select r.rolname from pg_database d join pg_roles r on r.oid = d.datdba"
                        " where d.datname = current_database()"
                    )
                )
            owner_url = app_url.set(username=owner, password=None)
        engine = create_async_engine(
            sqlalchemy_url(owner_url.render_as_string(hide_password=False), async_driver=True), poolclass=NullPool
        )
        _OWNER_ENGINES[db] = engine
    return engine


@asynccontextmanager
async def as_actor(db, refs: Refs | World, actor: str, setup=()):
    """A rolled-back transaction as ``actor``, after ``setup`` statements run as service.

    Without setup the transaction runs on the server's own pool for the actor's role. With
    setup it runs on an owner connection: the statements as ``service_role``, then the
    probe as the actor (``set role``, the same privileges and policies as through the
    login roles), and the actor sees the rows the setup wrote."""
    refs = as_refs(refs)
    identity = refs.world.identity(actor)
    if not setup:
        async with rolled_back(db, identity) as session:
            yield session
        return
    sessions = async_sessionmaker(await _owner_engine(db), expire_on_commit=False)
    async with sessions() as session:
        await session.begin()
        try:
            await apply_identity(session, SERVICE)
            for sql, params in setup:
                await session.execute(text(sql), {k: refs.resolve(actor, v) for k, v in params.items()})
            await apply_identity(session, identity)
            yield session
        finally:
            await session.rollback()


async def _rowcount(db, refs: Refs, actor: str, sql: str, params: dict, setup=()) -> int:
    """Rows the statement affected (or counted), 0 when refused with 42501."""
    async with as_actor(db, refs, actor, setup) as session:
        try:
            result = await session.execute(text(sql), params)
        except DBAPIError as exc:
            if sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
                return 0
            raise
        if sql.lstrip().startswith("select"):
            return result.scalar_one()
        return result.rowcount


def _where(refs: Refs, actor: str, where: dict) -> tuple[str, dict]:
    exprs, params = _bind(refs, actor, "w_", where)
    return " and ".join(f"{c} = {e}" for c, e in zip(where, exprs)), params


async def can_read(db, refs, actor, table, where: dict, setup=()) -> bool:
    refs = as_refs(refs)
    condition, params = _where(refs, actor, where)
    sql = f"select count(*) from {qualified(table)} where {condition}"
    return await _rowcount(db, refs, actor, sql, params, setup) > 0


async def can_insert(db, refs, actor, table, values: dict, setup=()) -> bool:
    refs = as_refs(refs)
    exprs, params = _bind(refs, actor, "v_", values)
    sql = f"insert into {qualified(table)} ({', '.join(values)}) values ({', '.join(exprs)})"
    return await _rowcount(db, refs, actor, sql, params, setup) == 1


async def can_update(db, refs, actor, table, where: dict, changes: dict, setup=()) -> bool:
    refs = as_refs(refs)
    exprs, params = _bind(refs, actor, "v_", changes)
    condition, where_params = _where(refs, actor, where)
    assignments = ", ".join(f"{c} = {e}" for c, e in zip(changes, exprs))
    sql = f"update {qualified(table)} set {assignments} where {condition}"
    return await _rowcount(db, refs, actor, sql, {**params, **where_params}, setup) > 0


async def can_delete(db, refs, actor, table, where: dict, setup=()) -> bool:
    refs = as_refs(refs)
    condition, params = _where(refs, actor, where)
    return await _rowcount(db, refs, actor, f"delete from {qualified(table)} where {condition}", params, setup) > 0


# ---------------------------------------------------------------------------
# Probe tables: a row and who may see it; a statement and who may run it.


@dataclass(frozen=True)
class Read:
    table: str
    row: str
    readers: frozenset[str]
    where: dict
    setup: tuple = ()


def read_cases(reads) -> list[tuple[str, Read]]:
    return [(actor, read) for read in reads for actor in ACTORS]


def read_id(actor: str, read: Read) -> str:
    seen = actor in read.readers or actor == "service"
    return f"{actor}-{read.table}-{read.row}-{'sees' if seen else 'hidden'}"


@dataclass(frozen=True)
class Write:
    name: str
    op: str  # insert | update | delete
    table: str
    allowed: frozenset[str]
    where: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    setup: tuple = ()
    not_for: frozenset[str] = frozenset()  # actors for whom the probe makes no sense


def W(name, op, table, allowed, *, where=None, values=None, setup=(), not_for=()) -> Write:
    """A write probe; service is added to the allowed set."""
    return Write(
        name, op, table, frozenset(allowed) | {"service"}, where or {}, values or {}, tuple(setup), frozenset(not_for)
    )


def write_cases(writes) -> list[tuple[str, Write]]:
    return [(actor, write) for write in writes for actor in ACTORS if actor not in write.not_for]


def write_id(actor: str, write: Write) -> str:
    return f"{actor}-{write.name}-{'allowed' if actor in write.allowed else 'denied'}"


async def perform(db, refs, actor: str, write: Write) -> bool:
    """Run the probe as ``actor``: True when the row was written."""
    if write.op == "insert":
        return await can_insert(db, refs, actor, write.table, write.values, write.setup)
    if write.op == "update":
        return await can_update(db, refs, actor, write.table, write.where, write.values, write.setup)
    assert write.op == "delete", write
    return await can_delete(db, refs, actor, write.table, write.where, write.setup)


def read_test(reads):
    """A module's ``test_read``: every actor against every row of ``reads`` (service sees all).
    Assign it as ``test_read = read_test(READS)``; the module gives the ``refs`` fixture."""
    cases = read_cases(reads)

    @pytest.mark.parametrize(("actor", "read"), cases, ids=[read_id(a, r) for a, r in cases])
    async def test_read(db, refs, actor, read):
        visible = actor in read.readers or actor == "service"
        assert await can_read(db, refs, actor, read.table, read.where, read.setup) is visible

    return test_read


def write_test(writes):
    """A module's ``test_write``: every actor runs every probe of ``writes``.
    Assign it as ``test_write = write_test(WRITES)``; the module gives the ``refs`` fixture."""
    cases = write_cases(writes)

    @pytest.mark.parametrize(("actor", "write"), cases, ids=[write_id(a, w) for a, w in cases])
    async def test_write(db, refs, actor, write):
        assert await perform(db, refs, actor, write) is (actor in write.allowed)

    return test_write


def outsiders_test(tables):
    """A module's ``test_x_and_anon_see_nothing_of_org_a``: org A has rows in each of ``tables``
    (service sees them), and every person of org B and ``anon`` counts none (a table they may
    not read at all counts as none). Assign it under that name; the module gives ``refs``."""

    async def counts(db, refs, identity):
        result = {}
        for table in tables:
            async with rolled_back(db, identity) as session:
                try:
                    result[table] = await session.scalar(
                        text(f"select count(*) from public.{table} where organization_id = :org"),
                        {"org": refs.world.orgs["A"]},
                    )
                except DBAPIError as exc:
                    assert sqlstate(exc) == INSUFFICIENT_PRIVILEGE, exc
                    result[table] = 0
        return result

    @pytest.mark.parametrize("actor", [*X, "anon"])
    async def test_x_and_anon_see_nothing_of_org_a(db, refs, actor):
        assert all((await counts(db, refs, SERVICE)).values())  # org A does have rows of every kind
        assert await counts(db, refs, refs.world.identity(actor)) == dict.fromkeys(tables, 0)

    return test_x_and_anon_see_nothing_of_org_a


def assert_writes_cover(writes, tables) -> None:
    """Every table has an insert, an update and a delete probe, each with its own name."""
    assert {(w.table, w.op) for w in writes} == {(t, op) for t in tables for op in ("insert", "update", "delete")}
    assert len({w.name for w in writes}) == len(writes)


async def inserted(session, table: str, **values) -> uuid.UUID:
    """Inserts one row of ``values`` (column -> value) into ``table``, named as in the probe
    tables, and returns its id: how a module seeds the rows its probes name. A ``Sql`` value
    is inlined."""
    exprs = ", ".join(str(v) if isinstance(v, Sql) else f":{column}" for column, v in values.items())
    params = {column: v for column, v in values.items() if not isinstance(v, Sql)}
    sql = f"insert into {qualified(table)} ({', '.join(values)}) values ({exprs}) returning id"
    return await session.scalar(text(sql), params)


async def service_scalars(db, sql: str, **params) -> list:
    """The first column of ``sql``'s rows, read as service_role in a rolled-back transaction."""
    async with rolled_back(db, SERVICE) as session:
        return list(await session.scalars(text(sql), params))


async def tables_in(db, schema: str, pattern: str = "%") -> set[str]:
    """The tables (plain or partitioned) of ``schema`` whose name matches a LIKE pattern."""
    sql = (
        "select c.relname from pg_class c where c.relnamespace = cast(:schema as regnamespace) "
        "and c.relkind in ('r', 'p') and c.relname like :pattern"
    )
    return set(await service_scalars(db, sql, schema=schema, pattern=pattern))


async def public_tables_like(db, pattern: str) -> set[str]:
    """The tables in ``public`` whose name matches a LIKE pattern: a new one fails its matrix until added."""
    return await tables_in(db, "public", pattern)
