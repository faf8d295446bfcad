"""Row-level security costs a search less on PostgreSQL 15: the caller's reach in PL/pgSQL.

- ``private.is_super_admin``, ``member_org_ids``, ``org_ids_with_role``, ``taught_class_ids``,
  ``enrolled_class_ids`` and ``child_class_ids`` are PL/pgSQL functions with the same queries:
  PL/pgSQL keeps their plans for the session, where PostgreSQL before 18 plans a SQL
  function's body at each call, and each policy calls them once per statement and table
  (docs/benchmarks.md, "Resource search through row-level security").

Revision ID: 20261201_040000
Revises: 20261201_030000
Create Date: 2026-12-01 04:00:00
"""

from schoolbase.migrations.helpers import function_statement, restored_functions, sql_file, sql_step

revision = "20261201_040000"
down_revision = "20261201_030000"
branch_labels = None
depends_on = None

# Where each helper's SQL definition was last written.
SQL_REACH = (
    ("20250919_000000", "helpers", "private.is_super_admin"),
    ("20261130_020000", "ended", "private.member_org_ids"),
    ("20261130_020000", "ended", "private.org_ids_with_role"),
    ("20261130_020000", "ended", "private.taught_class_ids"),
    ("20261130_020000", "ended", "private.enrolled_class_ids"),
    ("20261130_020000", "ended", "private.child_class_ids"),
)

upgrade = sql_step(sql_file(revision, "reach"))
downgrade = sql_step(restored_functions(*(function_statement(*where, or_replace=True) for where in SQL_REACH)))
