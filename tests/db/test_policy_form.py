"""Policies call the helper functions of ``private`` and ``auth`` once per statement, not per row.

A bare ``private.fn()`` or ``auth.uid()`` in a policy is evaluated for every row the statement
touches; wrapped in a sub-select of its own (``(select auth.uid())``,
``col in (select private.fn())``, ``= any(array(select ...))``,
``exists (select from private.fn())``) PostgreSQL runs it once as an init plan and the
comparison can use an index (DESIGN.md). This reads the expressions as PostgreSQL stored them
(``pg_policies.qual`` and ``with_check``) in a database migrated to head.
"""

import re

from sqlalchemy import text

from schoolbase.db import migrate

POLICIES = """
    select schemaname || '.' || tablename || '.' || policyname, kind, expression
    from pg_policies
    cross join lateral (values ('using', qual), ('with check', with_check)) as e (kind, expression)
    where expression is not null
    order by 1, 2
"""
# A call of a function in ``private`` or ``auth``, as pg_get_expr prints it.
CALL = re.compile(r"\b(?:private|auth)\.\w+\(")
# The sub-select holds nothing but the call: ``( SELECT private.fn(...) AS fn)`` for a value,
# ``FROM private.fn(...) fn(...)`` for a set. Anything else before the call (a comparison, a
# WHERE of a sub-select) runs it once per row.
ALONE = re.compile(r"\(\s*SELECT\s+$|\bFROM\s+$")


def calls_outside_a_sub_select(expression: str) -> list[str]:
    """The calls in ``expression`` that do not stand alone in a sub-select, with what precedes them."""
    found = []
    for call in CALL.finditer(expression):
        before = expression[: call.start()]
        arguments = expression[call.end() : closing_parenthesis(expression, call.end() - 1)]
        if not ALONE.search(before) or reads_a_column(arguments):
            found.append(expression[max(0, call.start() - 40) : call.end() + len(arguments) + 1])
    return found


def reads_a_column(arguments: str) -> bool:
    """Arguments taken from the row make the call per row too; literals and their casts do not."""
    constants = re.sub(r"'(?:[^']|'')*'|::[\w.\[\]]+(?:\([^)]*\))?", "", arguments)
    return re.search(r"[A-Za-z_]", constants) is not None


def closing_parenthesis(expression: str, opening: int) -> int:
    depth = 0
    for position in range(opening, len(expression)):
        depth += {"(": 1, ")": -1}.get(expression[position], 0)
        if depth == 0:
            return position
    raise ValueError(f"unbalanced parentheses in {expression!r}")


def test_the_checker_tells_per_statement_from_per_row_calls():
    per_statement = [
        "(( SELECT private.is_super_admin() AS is_super_admin) OR (id = ( SELECT auth.uid() AS uid)))",
        "(organization_id IN ( SELECT private.org_ids_with_role('org_admin'::membership_role) AS org_ids_with_role))",
        "(EXISTS ( SELECT 1 FROM private.org_ids_with_role('org_admin'::membership_role) "
        "org_ids_with_role(org_ids_with_role)))",
        "(class_id = ANY (ARRAY( SELECT private.taught_class_ids() AS taught_class_ids)))",
    ]
    per_row = [
        "(private.is_super_admin() OR (id = ( SELECT auth.uid() AS uid)))",
        "(user_id = auth.uid())",
        "(id IN ( SELECT a.id FROM assignments a WHERE private.is_super_admin()))",
        "(EXISTS ( SELECT 1 FROM private.admin_org_people() p WHERE (p.id = private.class_organization_id(class_id))))",
        "(x IN ( SELECT private.class_organization_id(t.class_id) AS class_organization_id))",
    ]
    assert [e for e in per_statement if calls_outside_a_sub_select(e)] == []
    assert [e for e in per_row if not calls_outside_a_sub_select(e)] == []


def test_policies_call_private_and_auth_functions_once_per_statement(owner_url):
    with migrate.owner_connection(owner_url) as conn:
        rows = conn.execute(text(POLICIES)).all()
    assert rows, "no policies found"
    offenders = [
        f"{policy} ({kind}): ...{call}"
        for policy, kind, expression in rows
        for call in calls_outside_a_sub_select(expression)
    ]
    assert offenders == [], "calls evaluated once per row:\n" + "\n".join(offenders)
