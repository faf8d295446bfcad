"""The AI gateway admits a call in one round trip, and an ended membership gives no AI.

- ``private.ai_admit_call`` finds the caller's organization, the service and the price in
  force, and computes the call's worst case, then admits it with ``private.ai_admit``: what
  the server did in two statements (a prepare query, then the admission) is one. It also
  checks the token's sign-in session, so signing out stops AI calls at once, as it stops
  every other request. The admission commits without waiting for its WAL flush (the
  settlement still waits): see docs/architecture.md, "Metered AI".
- ``private.ai_admit`` reads the caller's roles from memberships that have not ended (a
  roster import ends, rather than deletes, a membership).

Revision ID: 20261201_010000
Revises: 20261130_020000
Create Date: 2026-12-01 01:00:00
"""

from schoolbase.migrations.helpers import (
    drop_functions,
    execute_only,
    function_statement,
    restored_functions,
    sql_file,
    sql_step,
)

revision = "20261201_010000"
down_revision = "20261130_020000"
branch_labels = None
depends_on = None

ADMIT_CALL = (
    "private.ai_admit_call(uuid, uuid, uuid, text, public.ai_feature, integer, integer, integer, text, text)",
)
ROLES_OF_ALL_MEMBERSHIPS = "where organization_id = p_org and user_id = p_user;"
ROLES_OF_CURRENT_MEMBERSHIPS = "where organization_id = p_org and user_id = p_user and ended_at is null;"


def admit(roles_filter: str, *, replacing: str) -> str:
    """``private.ai_admit`` as its first revision wrote it, with the roles read through ``roles_filter``."""
    statement = function_statement("20250920_163900", "gateway_functions", "private.ai_admit", or_replace=True)
    if statement.count(replacing) != 1:
        raise LookupError("private.ai_admit reads memberships once, with the filter being replaced")
    return statement.replace(replacing, roles_filter)


upgrade = sql_step(
    admit(ROLES_OF_CURRENT_MEMBERSHIPS, replacing=ROLES_OF_ALL_MEMBERSHIPS),
    sql_file(revision, "admission") + execute_only(ADMIT_CALL, "service_role"),
)
downgrade = sql_step(
    drop_functions(ADMIT_CALL)
    + restored_functions(
        function_statement("20250920_163900", "gateway_functions", "private.ai_admit", or_replace=True)
    )
)
