"""The AI gateway settles finished calls in batches, and admits a call with less work.

- ``private.ai_settle(jsonb, boolean)`` writes the usage rows of any number of finished calls, releases
  their reservations and adds them to the monthly and daily roll-ups and the budget alerts,
  set by set, in one statement. The gateway hands it the settlements that finish while the
  last batch is being written, so under load one commit and one disk flush serve many calls.
  ``private.ai_record`` is now that function for one call. The gateway commits a settlement
  without waiting for its WAL flush, so the organization's monthly row is not held locked
  while the disk flushes, then waits for the flush with a write to ``private.ai_flush_marks``.
- ``private.ai_admit`` computes each rate window's start once per call, and creates a user's
  window rows only on their first call instead of trying to on every call.

Revision ID: 20261201_050000
Revises: 20261201_040000
Create Date: 2026-12-01 05:00:00
"""

from importlib import import_module

from schoolbase.migrations.helpers import execute_only, restored_functions, revised, sql_file, sql_step

revision = "20261201_050000"
down_revision = "20261201_040000"
branch_labels = None
depends_on = None

SETTLE = ("private.ai_settle(jsonb, boolean)",)
# The definitions this revision replaces, as the one-step admission revision wrote them.
admission = import_module("schoolbase.migrations.versions.20261201_010000_gateway_one_step_admission")

upgrade = sql_step(sql_file(revision, "settlement") + execute_only(SETTLE, "service_role"))
downgrade = sql_step(
    restored_functions(
        revised(
            admission.first("private.ai_record", or_replace=True),
            admission.LOG_ID_PARAMETER,
            admission.LOG_ID_COLUMN,
            admission.LOG_ID_VALUE,
        ),
        revised(admission.first("private.ai_admit", or_replace=True), admission.CURRENT_ROLES),
    )
    + "drop function private.ai_settle(jsonb, boolean);\ndrop type private.ai_settlement;\ndrop table private.ai_flush_marks;\n"
)
