"""What revisions write again and again: tenant policies, touch triggers, function privileges,
the long PL/pgSQL bodies kept in ``.sql`` files beside the revisions (and the definitions a
later downgrade restores out of them), and steps that only send SQL.

APPEND-ONLY. Never change what a helper renders, not even its whitespace: add a new helper
(or a new keyword whose default renders as before) instead. Revisions that have already run
on databases call these helpers, and they must keep rendering the SQL they ran;
``tests/db/test_revision_sql.py`` holds a hash of the SQL every revision executes and fails
when a helper's output changes.
"""

from collections.abc import Callable, Iterable
from importlib import resources

from alembic import op

from schoolbase.migrations.grants import explicit_grants

# ---------------------------------------------------------------- policies

SUPER_ADMIN = "(select private.is_super_admin())"
# Every set-returning helper sits in a sub-select, so it runs once per statement, not per row
# (tests/db/test_policy_form.py keeps it so).
MEMBER_READ = f"{SUPER_ADMIN} or organization_id in (select private.member_org_ids())"
ORG_ADMIN_WRITE = f"{SUPER_ADMIN} or organization_id in (select private.org_ids_with_role('org_admin'))"
# Tables written by OA and the class's T. The class's teacher, the most frequent caller, comes
# first: OR stops at the first true arm, so a teacher's statement computes one role set per
# table instead of three.
STAFF_WRITE = (
    "class_id in (select private.taught_class_ids()) or organization_id in "
    "(select private.org_ids_with_role('org_admin')) or (select private.is_super_admin())"
)


def policy(table: str, command: str, *, using: str | None = None, check: str | None = None) -> str:
    """One policy for ``authenticated`` named ``<table>_<command>``, each clause on its own line."""
    clauses = ([f"  using ({using})"] if using is not None else []) + (
        [f"  with check ({check})"] if check is not None else []
    )
    lines = [f"create policy {table}_{command} on public.{table} for {command} to authenticated", *clauses]
    return "\n".join(lines) + ";\n"


def org_admin_writes(table: str, write: str = ORG_ADMIN_WRITE) -> str:
    """Insert, update and delete policies that let only ``write`` (org admins) change rows."""
    return (
        policy(table, "insert", check=write)
        + policy(table, "update", using=write, check=write)
        + policy(table, "delete", using=write)
    )


def tenant_policies(table: str) -> str:
    """Members of the row's organization read, its org admins write, the super admin does both."""
    return policy(table, "select", using=MEMBER_READ) + org_admin_writes(table)


def staff_policies(table: str, read_extra: str, *, class_column: str = "class_id") -> str:
    """The class's teacher and org admins write; they and ``read_extra`` read. One line a policy."""
    write = STAFF_WRITE.replace("class_id", class_column)
    return f"""
create policy {table}_select on public.{table} for select to authenticated using ({write} or {read_extra});
create policy {table}_insert on public.{table} for insert to authenticated with check ({write});
create policy {table}_update on public.{table} for update to authenticated using ({write}) with check ({write});
create policy {table}_delete on public.{table} for delete to authenticated using ({write});
"""


# ---------------------------------------------------------------- triggers


def touch_trigger(table: str) -> str:
    """``updated_at`` set on every update; ``table`` is in ``public`` unless schema-qualified."""
    qualified = table if "." in table else f"public.{table}"
    name = qualified.split(".")[1]
    return (
        f"create trigger {name}_touch before update on {qualified} "
        "for each row execute function private.touch_updated_at()"
    )


def touch_triggers(tables: Iterable[str]) -> tuple[str, ...]:
    """One statement per table, in order."""
    return tuple(map(touch_trigger, tables))


# ---------------------------------------------------------------- privileges


def function_list(functions: Iterable[str]) -> str:
    """Signatures as GRANT, REVOKE and DROP FUNCTION take them: a revision keeps one list for all three."""
    return ", ".join(functions)


def revoke_from_public(functions: Iterable[str]) -> str:
    """PostgreSQL grants EXECUTE to PUBLIC on every new function: take it back."""
    return f"revoke all on function {function_list(functions)} from public;\n"


def grant_execute(functions: Iterable[str], roles: str) -> str:
    return f"grant execute on function {function_list(functions)} to {roles};\n"


def execute_only(functions: Iterable[str], roles: str) -> str:
    """Only ``roles`` may call ``functions``."""
    functions = tuple(functions)
    return revoke_from_public(functions) + grant_execute(functions, roles)


def execute_only_one_by_one(functions: Iterable[str], roles: str) -> str:
    """``execute_only`` as a loop over the signatures, each checked as a ``regprocedure`` first."""
    listed = ", ".join(f"'{function}'" for function in functions)
    return f"""do $$
declare f regprocedure;
begin
  foreach f in array array[{listed}]::regprocedure[] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to {roles}', f);
  end loop;
end
$$;
"""


def drop_functions(functions: Iterable[str]) -> str:
    return f"drop function {function_list(functions)};\n"


# ---------------------------------------------------------------- SQL files


def sql_file(revision: str, name: str) -> str:
    """``migrations/sql/<revision>/<name>.sql`` from the installed package (shipped as package data)."""
    return resources.files("schoolbase.migrations").joinpath("sql", revision, f"{name}.sql").read_text(encoding="utf-8")


def function_statement(revision: str, name: str, function: str, *, or_replace: bool = False) -> str:
    """The statement of ``migrations/sql/<revision>/<name>.sql`` that creates ``function``
    (schema-qualified, no arguments), character for character: from its ``create`` line
    through the line that ends its body with ``$$;``, newline included, without the
    comments above it. A later revision that restores a definition it replaced reads it
    from here instead of keeping a second copy; ``or_replace`` makes a ``create function``
    statement start ``create or replace function``.
    """
    lines = sql_file(revision, name).splitlines(keepends=True)
    starts = [
        index
        for index, line in enumerate(lines)
        if line.startswith((f"create function {function}(", f"create or replace function {function}("))
    ]
    if len(starts) != 1:
        raise LookupError(f"{revision}/{name}.sql creates {function} {len(starts)} times, not once")
    end = next(index for index in range(starts[0], len(lines)) if lines[index].rstrip().endswith("$$;"))
    statement = "".join(lines[starts[0] : end + 1])
    if or_replace and statement.startswith("create function "):
        return statement.replace("create function ", "create or replace function ", 1)
    return statement


def restored_functions(*statements: str) -> str:
    """Statements as a replaced revision's downgrade sends them: each after an empty line."""
    return "".join(f"\n{statement}" for statement in statements)


def sql_step(*statements: str) -> Callable[[], None]:
    """A revision's ``upgrade`` or ``downgrade`` that sends ``statements``, each as one
    statement and in order, under ``explicit_grants``: ``upgrade = sql_step(TABLES, POLICIES)``."""

    def step() -> None:
        for statement in statements:
            op.execute(statement)

    return explicit_grants(step)


def revised(statement: str, *changes: tuple[str, str]) -> str:
    """``statement`` with each ``(old, new)`` change made, each ``old`` found exactly once."""
    for old, new in changes:
        if statement.count(old) != 1:
            raise LookupError(f"{old!r} is not in the statement exactly once")
        statement = statement.replace(old, new)
    return statement
