"""Functions end users may execute check that the caller may see what they are asked about.

- ``private.letter_grade(org, percent)`` answers only for an organization the caller is a
  member of (the grading scale is read by M); it gave any signed-in user another
  organization's scale.
- ``private.class_organization_id(class)`` runs as the caller, so the classes policy
  decides; it gave the organization of any class.
- ``private.resource_matches(query)`` returns only the resources the caller may read under
  the resources select policy; it returned every match in the caller's organizations,
  drafts and other people's pending or rejected work included.

Revision ID: 20261129_165000
Revises: 20250925_120000
Create Date: 2026-11-29 16:50:00
"""

from schoolbase.migrations.helpers import function_statement, restored_functions, sql_file, sql_step

revision = "20261129_165000"
down_revision = "20250925_120000"
branch_labels = None
depends_on = None

# Only the end-user roles are restricted: the server (service_role, which bypasses
# row-level security anyway) and the owner (the grade trigger, maintenance) compute any
# organization's letters and see every resource, as their own reads of the tables would.
# The role setting, not the JWT's role claim: it is what PostgreSQL itself enforces, and
# a security definer function leaves it as the caller set it.
CHECKED = sql_file(revision, "checked")

# The definitions of 20250924_163800 and 20250922_164000, character for character.
PREVIOUS = restored_functions(
    function_statement("20250924_163800", "functions", "private.letter_grade", or_replace=True),
    function_statement("20250924_163800", "functions", "private.class_organization_id", or_replace=True),
    function_statement("20250922_164000", "functions", "private.resource_matches", or_replace=True),
)


upgrade = sql_step(CHECKED)
downgrade = sql_step(PREVIOUS)
