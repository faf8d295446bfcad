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
    revised,
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
RECORD = (
    "private.ai_record(uuid, uuid, uuid, public.ai_feature, text, public.ai_call_status, integer[], numeric[], "
    "numeric, integer, text, text, text, uuid)"
)
RECORD_WITH_ID = RECORD.removesuffix(")") + ", uuid)"
CURRENT_ROLES = (
    "where organization_id = p_org and user_id = p_user;",
    "where organization_id = p_org and user_id = p_user and ended_at is null;",
)
LOG_ID_PARAMETER = ("p_reservation uuid\n)", "p_reservation uuid, p_log_id uuid default null\n)")
LOG_ID_COLUMN = (
    "insert into public.ai_usage_logs (organization_id,",
    "insert into public.ai_usage_logs (id, organization_id,",
)
LOG_ID_VALUE = (
    "values (p_org, p_user, p_service,",
    "values (coalesce(p_log_id, gen_random_uuid()), p_org, p_user, p_service,",
)


def first(function: str, *, or_replace: bool = False) -> str:
    """``function`` as the AI usage revision created it."""
    return function_statement("20250920_163900", "gateway_functions", function, or_replace=or_replace)


upgrade = sql_step(
    drop_functions((RECORD,))
    + revised(first("private.ai_record"), LOG_ID_PARAMETER, LOG_ID_COLUMN, LOG_ID_VALUE)
    + execute_only((RECORD_WITH_ID,), "service_role"),
    revised(first("private.ai_admit", or_replace=True), CURRENT_ROLES),
    sql_file(revision, "admission") + execute_only(ADMIT_CALL, "service_role"),
)
downgrade = sql_step(
    drop_functions((*ADMIT_CALL, RECORD_WITH_ID))
    + first("private.ai_record")
    + execute_only((RECORD,), "service_role")
    + restored_functions(first("private.ai_admit", or_replace=True))
)
