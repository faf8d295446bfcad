"""Lookups by a class, an assignment or a submission alone find their rows through an index.

Every index of a tenant's rows leads with ``organization_id``, but many reads name only a
globally unique parent: a class's people (rosters, the gradebook, and
``private.visible_user_ids``, which every read of ``users`` by a teacher runs), a student's
attempts at an assignment, a submission's grade. Without the organization PostgreSQL before
18 (which can skip-scan the leading column) reads the whole of such an index, so these
reads grew with the district: on PostgreSQL 15 and the district of
``bench/school_morning.py`` with 100,000 students one teacher's gradebook took 93 ms and
one grade 79 ms, 25 ms and 12 ms with these indexes (docs/benchmarks.md).

The indexes are built in the migration's transaction (``create index`` holds off writes
to the table while it runs: seconds per million rows).

Revision ID: 20261201_030000
Revises: 20261201_020000
Create Date: 2026-12-01 03:00:00
"""

from schoolbase.migrations.helpers import sql_step

revision = "20261201_030000"
down_revision = "20261201_020000"
branch_labels = None
depends_on = None

UPGRADE = """
create index enrollments_class_role_idx on public.enrollments (class_id, role);
create index assignment_submissions_assignment_student_idx
  on public.assignment_submissions (assignment_id, student_id, attempt);
create index assignment_grades_submission_id_idx on public.assignment_grades (submission_id);
"""

DOWNGRADE = """
drop index public.assignment_grades_submission_id_idx;
drop index public.assignment_submissions_assignment_student_idx;
drop index public.enrollments_class_role_idx;
"""

upgrade = sql_step(UPGRADE)
downgrade = sql_step(DOWNGRADE)
