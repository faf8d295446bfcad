"""Alembic, driven from Python: upgrade, downgrade, status and the schema check."""

import re
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import make_url

from schoolbase.db.urls import sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_SCHEMA = "schoolbase_meta"
# pg_advisory_lock key that serialises concurrent upgrades/downgrades of one database.
MIGRATION_LOCK_KEY = 7_316_853_920_250_919
REVISION_ID = re.compile(r"^\d{8}_\d{6}$")


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an ini parser: a literal % must be doubled.
    config.set_main_option(
        "sqlalchemy.url", sqlalchemy_url(owner_url).render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(owner_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url), revision)


def downgrade(owner_url: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_url), revision)


@contextmanager
def owner_connection(owner_url: str):
    engine = create_engine(sqlalchemy_url(owner_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def current_revisions(owner_url: str) -> tuple[str, ...]:
    with owner_connection(owner_url) as conn:
        return MigrationContext.configure(conn, opts={"version_table_schema": VERSION_SCHEMA}).get_current_heads()


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None
    path: str


def known_revisions() -> list[Revision]:
    return [
        Revision(s.revision, s.down_revision if isinstance(s.down_revision, str) else None, s.path)
        for s in script_directory().walk_revisions()
    ]


def history_problems(revisions: Iterable[Revision]) -> list[str]:
    """One linear history whose timestamp ids increase from base to head."""
    revisions = list(revisions)
    problems = []
    ids = [r.id for r in revisions]
    for rev_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"duplicate revision id {rev_id}")
    for r in revisions:
        if not REVISION_ID.match(r.id):
            problems.append(f"revision id {r.id!r} is not a YYYYMMDD_HHMMSS timestamp ({r.path})")
        elif r.down and REVISION_ID.match(r.down) and r.down >= r.id:
            problems.append(f"revision {r.id} is out of order: it comes after {r.down}")
    children: dict[str | None, list[str]] = {}
    for r in revisions:
        children.setdefault(r.down, []).append(r.id)
    heads = sorted(set(ids) - {r.down for r in revisions})
    if len(heads) > 1:
        problems.append(f"more than one head: {', '.join(heads)}")
    for parent, kids in children.items():
        if len(kids) > 1:
            problems.append(f"branch at {parent or 'base'}: {', '.join(sorted(kids))}")
    return problems


# Schemas holding modelled tables; ``server`` holds the tables only the server's own roles reach.
MODELLED_SCHEMAS = (None, "public", "server")
# Every schema the revisions create objects in or grant on.
GRANTED_SCHEMAS = "('public', 'private', 'server', 'auth', 'procrastinate')"
# A table outside ``public`` is named with its schema.
RELATION = "case when n.nspname = 'public' then '' else n.nspname || '.' end || c.relname"
# One aclexplode() row: who (PUBLIC is grantee 0) holds which privilege. A null ACL means the
# built-in default, so acldefault() stands in for it: EXECUTE for PUBLIC on a function.
PRIVILEGE = """
    case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end || ' ' || a.privilege_type
    || case when a.is_grantable then ' with grant option' else '' end
"""

# What the models cannot describe: RLS flags, policies, functions, triggers and privileges.
CATALOG_QUERIES = {
    "row level security": f"""
        select {RELATION} || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'server') and c.relkind in ('r', 'p') and not c.relispartition
    """,
    # Partitions are left out here as everywhere: they are made month by month at run time.
    "table privileges": f"""
        select n.nspname || '.' || c.relname || ' ' || {PRIVILEGE}
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
        where n.nspname in {GRANTED_SCHEMAS} and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
    """,
    "column privileges": f"""
        select n.nspname || '.' || c.relname || '.' || t.attname || ' ' || {PRIVILEGE}
        from pg_attribute t join pg_class c on c.oid = t.attrelid join pg_namespace n on n.oid = c.relnamespace
        cross join aclexplode(t.attacl) a
        where n.nspname in {GRANTED_SCHEMAS} and not c.relispartition and t.attnum > 0 and not t.attisdropped
    """,
    "sequence privileges": f"""
        select n.nspname || '.' || c.relname || ' ' || {PRIVILEGE}
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join aclexplode(coalesce(c.relacl, acldefault('s', c.relowner))) a
        where n.nspname in {GRANTED_SCHEMAS} and c.relkind = 'S'
    """,
    "function privileges": f"""
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || {PRIVILEGE}
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        cross join aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        where n.nspname in {GRANTED_SCHEMAS}
    """,
    # Enums, domains, ranges and standalone composite types; a table's row type follows the table.
    "type privileges": f"""
        select n.nspname || '.' || t.typname || ' ' || {PRIVILEGE}
        from pg_type t join pg_namespace n on n.oid = t.typnamespace
        cross join aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
        where n.nspname in {GRANTED_SCHEMAS} and t.typtype in ('e', 'd', 'r', 'm', 'c')
          and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
    """,
    # The schema public itself comes with the database and no revision grants on it: PostgreSQL
    # gives PUBLIC USAGE there, Supabase grants USAGE to its roles.
    "schema privileges": f"""
        select n.nspname || ' ' || {PRIVILEGE}
        from pg_namespace n cross join aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        where n.nspname in {GRANTED_SCHEMAS} and n.nspname <> 'public'
    """,
    "policies": """
        select case when schemaname = 'public' then '' else schemaname || '.' end || tablename || '.' || policyname
               || ' ' || cmd || ' ' || roles::text || ' using ' || coalesce(qual, '') || ' check '
               || coalesce(with_check, '')
        from pg_policies where schemaname in ('public', 'server')
    """,
    "functions": """
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
               || md5(pg_get_functiondef(p.oid))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private', 'server') and p.prokind in ('f', 'p')
    """,
    # Alembic's model comparison ignores CHECK constraints and server defaults.
    "constraints": f"""
        select {RELATION} || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
        from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'server') and not c.relispartition and k.contype <> 't'
    """,
    "column defaults": f"""
        select {RELATION} || '.' || a.attname || ' default ' || pg_get_expr(d.adbin, d.adrelid)
        from pg_attrdef d join pg_class c on c.oid = d.adrelid join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
        where n.nspname in ('public', 'server') and not c.relispartition
    """,
    "triggers": """
        select pg_get_triggerdef(t.oid) from pg_trigger t
        join pg_class c on c.oid = t.tgrelid
        where c.relnamespace in (select oid from pg_namespace where nspname in ('public', 'server'))
          and not t.tgisinternal
    """,
}


def catalog_snapshot(conn: Connection) -> dict[str, set[str]]:
    return {kind: set(conn.execute(text(sql)).scalars()) for kind, sql in CATALOG_QUERIES.items()}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Only ``public`` and ``server`` are modelled; auth/private hold SQL functions the catalog snapshot checks."""
    return not (type_ == "table" and obj.schema not in MODELLED_SCHEMAS)


def include_name(name, type_, parent_names) -> bool:
    """Reflect only the modelled schemas (the default one is None)."""
    return type_ != "schema" or name in MODELLED_SCHEMAS


def model_drift(conn: Connection) -> list[str]:
    from schoolbase.models import Base  # noqa: PLC0415 - models import the whole ORM

    context = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": True,
            "include_name": include_name,
            "include_object": include_object,
            "compare_type": True,
            "version_table_schema": VERSION_SCHEMA,
        },
    )
    return [f"model differs from database: {diff}" for diff in compare_metadata(context, Base.metadata)]


@contextmanager
def scratch_database(owner_url: str):
    """A new empty database on the same server, dropped afterwards."""
    name = f"schoolbase_check_{uuid.uuid4().hex[:12]}"
    with owner_connection(owner_url) as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f'create database "{name}"'))
    try:
        yield make_url(owner_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with owner_connection(owner_url) as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f'drop database if exists "{name}" with (force)')
            )


def check(owner_url: str) -> list[str]:
    """Everything wrong with the history and the live schema; empty when all is well."""
    problems = history_problems(known_revisions())
    if problems:
        return problems
    head = script_directory().get_current_head()
    current = current_revisions(owner_url)
    if current != (head,):
        return [f"database is at {', '.join(current) or 'base'}, not at head {head}: run `schoolbase db upgrade`"]
    with owner_connection(owner_url) as conn:
        problems += model_drift(conn)
        live = catalog_snapshot(conn)
    with scratch_database(owner_url) as scratch_url:
        upgrade(scratch_url, head)
        with owner_connection(scratch_url) as conn:
            expected = catalog_snapshot(conn)
    for kind in CATALOG_QUERIES:
        for item in sorted(expected[kind] - live[kind]):
            problems.append(f"{kind}: missing or changed in the database: {item}")
        for item in sorted(live[kind] - expected[kind]):
            problems.append(f"{kind}: not in the migrations: {item}")
    return problems
