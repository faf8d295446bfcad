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


# What the models cannot describe: RLS flags, policies, functions and triggers.
CATALOG_QUERIES = {
    "row level security": """
        select c.relname || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    """,
    "grants": """
        select table_name || ' ' || grantee || ' ' || privilege_type from information_schema.role_table_grants
        where table_schema = 'public'
        union all
        select table_name || '.' || column_name || ' ' || grantee || ' ' || privilege_type
        from information_schema.column_privileges
        where table_schema = 'public' and grantee in ('anon', 'authenticated', 'service_role', 'authenticator')
    """,
    "policies": """
        select tablename || '.' || policyname || ' ' || cmd || ' ' || roles::text || ' using '
               || coalesce(qual, '') || ' check ' || coalesce(with_check, '')
        from pg_policies where schemaname = 'public'
    """,
    "functions": """
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
               || md5(pg_get_functiondef(p.oid))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private') and p.prokind in ('f', 'p')
    """,
    # Alembic's model comparison ignores CHECK constraints and server defaults.
    "constraints": """
        select c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
        from pg_constraint k join pg_class c on c.oid = k.conrelid
        where c.relnamespace = 'public'::regnamespace and not c.relispartition and k.contype <> 't'
    """,
    "column defaults": """
        select c.relname || '.' || a.attname || ' default ' || pg_get_expr(d.adbin, d.adrelid)
        from pg_attrdef d join pg_class c on c.oid = d.adrelid
        join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
        where c.relnamespace = 'public'::regnamespace and not c.relispartition
    """,
    "triggers": """
        select pg_get_triggerdef(t.oid) from pg_trigger t
        join pg_class c on c.oid = t.tgrelid
        where c.relnamespace = 'public'::regnamespace and not t.tgisinternal
    """,
}


def catalog_snapshot(conn: Connection) -> dict[str, set[str]]:
    return {kind: set(conn.execute(text(sql)).scalars()) for kind, sql in CATALOG_QUERIES.items()}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Only ``public`` is modelled; auth/private hold SQL functions checked by the catalog snapshot."""
    return not (type_ == "table" and obj.schema not in (None, "public"))


def model_drift(conn: Connection) -> list[str]:
    from schoolbase.models import Base  # noqa: PLC0415 - models import the whole ORM

    context = MigrationContext.configure(
        conn, opts={"include_object": include_object, "compare_type": True, "version_table_schema": VERSION_SCHEMA}
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
