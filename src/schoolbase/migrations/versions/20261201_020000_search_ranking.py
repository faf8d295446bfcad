"""A one-word search ranks inside an index, over the rows the caller may read.

- ``private.resource_terms`` holds one row per lexeme of each resource's search vector with
  its ``ts_rank`` (``private.resource_term_rank``) and copies of the columns the resources
  select policy reads; its own policy is that policy's condition, and the trigger
  ``resources_index_terms`` keeps it in step with ``public.resources``.
- Its index on (organization_id, lexeme, rank, resource_id) gives a one-word query its
  matches best first, so the first page reads a page's worth of rows instead of ranking
  every match (docs/benchmarks.md, "Resource search").

Revision ID: 20261201_020000
Revises: 20261201_010000
Create Date: 2026-12-01 02:00:00
"""

from schoolbase.migrations.helpers import drop_functions, execute_only, sql_file, sql_step

revision = "20261201_020000"
down_revision = "20261201_010000"
branch_labels = None
depends_on = None

FUNCTIONS = ("private.resource_term_rank(tsvector, text)", "private.index_resource_terms()")

# The search ranks with the same function as the trigger, so the two always agree.
UPGRADE = sql_file(revision, "terms") + execute_only(FUNCTIONS, "authenticated, service_role")

DOWNGRADE = f"""
drop trigger resources_index_terms on public.resources;
drop table private.resource_terms;
{drop_functions(FUNCTIONS)}"""

upgrade = sql_step(UPGRADE)
downgrade = sql_step(DOWNGRADE)
