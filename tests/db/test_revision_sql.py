"""Every revision keeps executing the SQL it executed when it was written.

Revisions render their SQL with ``schoolbase.migrations.helpers`` and read it from
``migrations/sql/``; a revision that has run on a database must go on rendering the same
SQL, or a database migrated before a change and one migrated after it would differ.
``revision_sql.json`` holds the SHA-256 of every statement each revision's upgrade and
downgrade sends to the server, in order. A helper whose output changes, an edited SQL file
or revision fails here: add a new helper instead. A new revision adds its two entries (the
failure prints them); an existing entry never changes.
"""

import hashlib
import json
from pathlib import Path

import psycopg
import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from schoolbase.db import migrate
from schoolbase.migrations.helpers import function_statement, sql_file

GOLDEN = Path(__file__).with_name("revision_sql.json")


def revisions_base_to_head() -> list:
    return list(reversed(list(migrate.script_directory().walk_revisions())))


def run_step(url: str, step, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a revision's ``upgrade`` or ``downgrade`` in a transaction; the hash of what it executed.

    The step runs without its ``explicit_grants`` wrapper (``__wrapped__``): what that adds
    depends on the server's default privileges, not on the revision.
    """
    executed: list[str] = []
    execute = psycopg.Cursor.execute

    def recording(cursor, query, *args, **kwargs):
        executed.append(query if isinstance(query, str) else query.as_string(cursor))
        return execute(cursor, query, *args, **kwargs)

    with migrate.owner_connection(url) as conn, conn.begin():
        with Operations.context(MigrationContext.configure(conn)), monkeypatch.context() as patch:
            patch.setattr(psycopg.Cursor, "execute", recording)
            step()
    return hashlib.sha256("\n;\n".join(executed).encode()).hexdigest()


def test_every_revision_executes_the_sql_it_was_written_with(server_url, monkeypatch):
    scripts = revisions_base_to_head()
    rendered: dict[str, dict[str, str]] = {script.revision: {} for script in scripts}
    with migrate.scratch_database(server_url) as url:
        for script in scripts:
            rendered[script.revision]["upgrade"] = run_step(url, script.module.upgrade.__wrapped__, monkeypatch)
        for script in reversed(scripts):
            rendered[script.revision]["downgrade"] = run_step(url, script.module.downgrade.__wrapped__, monkeypatch)
    golden = json.loads(GOLDEN.read_text())
    changed = [
        f"{rev} {step}"
        for rev, steps in golden.items()
        for step, digest in steps.items()
        if rendered[rev][step] != digest
    ]
    assert changed == [], (
        "these revisions now execute different SQL; helpers are append-only (add a new one instead) "
        f"and SQL files of old revisions never change: {changed}"
    )
    new = {rev: steps for rev, steps in rendered.items() if rev not in golden}
    assert new == {}, f"add to {GOLDEN.name}: {json.dumps(new, indent=2)}"


def test_function_statement_is_the_definition_as_written_from_create_to_its_end():
    statement = function_statement("20250924_163800", "functions", "private.class_organization_id")
    assert statement.startswith("create function private.class_organization_id(p_class_id uuid) returns uuid\n")
    assert statement.endswith("where c.id = p_class_id $$;\n") and statement.count("$$;") == 1
    assert statement in sql_file("20250924_163800", "functions")
    replacing = function_statement("20250924_163800", "functions", "private.class_organization_id", or_replace=True)
    assert replacing == statement.replace("create function", "create or replace function", 1)


def test_function_statement_refuses_a_function_the_file_does_not_create():
    with pytest.raises(LookupError, match="0 times"):
        function_statement("20250924_163800", "functions", "private.no_such_function")
