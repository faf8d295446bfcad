"""Assignments and grading: weighted categories, assignments with late policies,
submissions with attempts, rubrics, grades (teacher or AI-suggested) with history,
rubric scores, an organization grading scale, and the gradebook function.

Revision ID: 20250924_163800
Revises: 20250922_164000
Create Date: 2025-09-24 16:38:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants
from schoolbase.migrations.helpers import (
    drop_functions,
    execute_only_one_by_one,
    sql_file,
    sql_step,
    staff_policies,
    tenant_policies,
    touch_triggers,
)

revision = "20250924_163800"
down_revision = "20250922_164000"
branch_labels = None
depends_on = None

TABLES = """
create type public.assignment_type as enum ('homework', 'quiz', 'test', 'project', 'essay', 'other');
create type public.assignment_state as enum ('draft', 'published', 'closed');
create type public.submission_status as enum ('draft', 'submitted', 'late', 'graded', 'returned', 'missing', 'excused');
create type public.grade_source as enum ('teacher', 'ai');
create type public.grade_state as enum ('ai_suggested', 'draft', 'final');

-- Submissions point at the student's enrollment, role included.
alter table public.enrollments add constraint enrollments_class_member_key
  unique (organization_id, class_id, user_id, role);

create table public.grading_scale_levels (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  letter text not null check (length(btrim(letter)) between 1 and 5),
  min_percent numeric(5, 2) not null check (min_percent between 0 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, letter),
  unique (organization_id, min_percent)
);

create table public.assignment_categories (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  name text not null check (length(btrim(name)) between 1 and 200),
  weight_percent numeric(5, 2) not null check (weight_percent between 0 and 100),
  drop_lowest integer not null default 0 check (drop_lowest between 0 and 50),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, class_id, id),
  unique (organization_id, class_id, name),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade
);

create table public.assignments (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  category_id uuid not null,
  title text not null check (length(btrim(title)) between 1 and 300),
  instructions text check (length(instructions) <= 50000),
  type public.assignment_type not null default 'homework',
  points_possible numeric(8, 2) not null check (points_possible > 0),
  available_from timestamptz,
  due_at timestamptz,
  close_at timestamptz,
  state public.assignment_state not null default 'draft',
  accept_late boolean not null default true,
  late_penalty_percent_per_day numeric(5, 2) not null default 0 check (late_penalty_percent_per_day between 0 and 100),
  late_penalty_floor_percent numeric(5, 2) not null default 0 check (late_penalty_floor_percent between 0 and 100),
  allowed_attempts integer not null default 1 check (allowed_attempts between 1 and 100),
  visible_to_parents boolean not null default true,
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, class_id, id),
  check (close_at is null or due_at is null or close_at >= due_at),
  check (available_from is null or due_at is null or due_at >= available_from),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade,
  foreign key (organization_id, class_id, category_id)
    references public.assignment_categories (organization_id, class_id, id)
);
create index assignments_class_due_idx on public.assignments (organization_id, class_id, due_at);
create index assignments_category_idx on public.assignments (organization_id, class_id, category_id);
create index assignments_created_by_idx on public.assignments (created_by);

create table public.assignment_rubrics (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  assignment_id uuid not null,
  title text not null check (length(btrim(title)) between 1 and 300),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, assignment_id),
  foreign key (organization_id, assignment_id) references public.assignments (organization_id, id) on delete cascade
);

-- Rating levels: [{"title": "Excellent", "points": 4}, ...], each within max_points.
create table public.assignment_rubric_criteria (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  rubric_id uuid not null,
  position integer not null check (position >= 0),
  title text not null check (length(btrim(title)) between 1 and 300),
  description text check (length(description) <= 5000),
  max_points numeric(8, 2) not null check (max_points > 0),
  levels jsonb not null default '[]' check (jsonb_typeof(levels) = 'array'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, rubric_id, position),
  foreign key (organization_id, rubric_id) references public.assignment_rubrics (organization_id, id) on delete cascade
);

create table public.assignment_submissions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  assignment_id uuid not null,
  student_id uuid not null,
  student_role public.membership_role not null default 'student' check (student_role = 'student'),
  attempt integer not null default 1 check (attempt >= 1),
  body text check (length(body) <= 200000),
  links text[] not null default '{}' check (cardinality(links) <= 20),
  submitted_at timestamptz,
  status public.submission_status not null default 'draft',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, id, assignment_id, student_id),
  unique (organization_id, assignment_id, student_id, attempt),
  foreign key (organization_id, class_id, assignment_id)
    references public.assignments (organization_id, class_id, id) on delete cascade,
  foreign key (organization_id, class_id, student_id, student_role)
    references public.enrollments (organization_id, class_id, user_id, role) on delete cascade
);
create index assignment_submissions_student_idx on public.assignment_submissions (organization_id, student_id);
create index assignment_submissions_enrollment_idx
  on public.assignment_submissions (organization_id, class_id, student_id, student_role);
create index assignment_submissions_class_idx on public.assignment_submissions (organization_id, class_id, assignment_id);

create table public.assignment_grades (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  assignment_id uuid not null,
  submission_id uuid not null,
  student_id uuid not null,
  points numeric(8, 2) not null check (points >= 0),
  points_possible numeric(8, 2) not null check (points_possible > 0),
  late_penalty_points numeric(8, 2) not null default 0 check (late_penalty_points >= 0),
  final_points numeric(8, 2) generated always as (greatest(points - late_penalty_points, 0)) stored,
  percentage numeric(7, 2) generated always as
    (round(greatest(points - late_penalty_points, 0) / points_possible * 100, 2)) stored,
  letter_grade text,
  feedback text check (length(feedback) <= 20000),
  grader_id uuid references public.users (id) on delete set null,
  source public.grade_source not null default 'teacher',
  state public.grade_state not null default 'draft',
  posted_at timestamptz,
  ai_confidence numeric(4, 3) check (ai_confidence between 0 and 1),
  ai_usage_log_id uuid,
  ai_suggested_points numeric(8, 2) check (ai_suggested_points >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, submission_id),
  check (state <> 'ai_suggested' or source = 'ai'),
  check (posted_at is null or state = 'final'),
  foreign key (organization_id, submission_id, assignment_id, student_id)
    references public.assignment_submissions (organization_id, id, assignment_id, student_id) on delete cascade,
  foreign key (organization_id, class_id, assignment_id)
    references public.assignments (organization_id, class_id, id) on delete cascade
);
create index assignment_grades_class_idx on public.assignment_grades (organization_id, class_id, assignment_id);
create index assignment_grades_student_idx on public.assignment_grades (organization_id, student_id);
create index assignment_grades_submission_idx
  on public.assignment_grades (organization_id, submission_id, assignment_id, student_id);
create index assignment_grades_grader_idx on public.assignment_grades (grader_id);

create table public.rubric_grades (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  grade_id uuid not null,
  criterion_id uuid not null,
  points numeric(8, 2) not null check (points >= 0),
  level_title text check (length(level_title) <= 300),
  comment text check (length(comment) <= 5000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, grade_id, criterion_id),
  foreign key (organization_id, grade_id) references public.assignment_grades (organization_id, id) on delete cascade,
  foreign key (organization_id, criterion_id)
    references public.assignment_rubric_criteria (organization_id, id) on delete cascade
);
create index rubric_grades_criterion_idx on public.rubric_grades (organization_id, criterion_id);

-- Written only by a trigger; rows outlive the grade they describe.
create table public.grade_history (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  class_id uuid not null,
  grade_id uuid not null,
  operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  changed_by uuid,
  changed_at timestamptz not null default now(),
  old_row jsonb,
  new_row jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create index grade_history_grade_idx on public.grade_history (organization_id, grade_id, changed_at);
create index grade_history_class_idx on public.grade_history (organization_id, class_id);
"""

TOUCHED_TABLES = (
    "grading_scale_levels",
    "assignment_categories",
    "assignments",
    "assignment_rubrics",
    "assignment_rubric_criteria",
    "assignment_submissions",
    "assignment_grades",
    "rubric_grades",
    "grade_history",
)

GRADEBOOK = "public.class_gradebook(uuid)"
GRADING_FUNCTIONS = (
    "private.check_category_weights()",
    "private.letter_grade(uuid, numeric)",
    "private.submission_rules()",
    "private.grade_derived_fields()",
    "private.grade_moves_submission()",
    "private.record_grade_history()",
    "private.rubric_points_within_max()",
    "private.rubric_sum_to_grade()",
    "private.guard_submission_columns()",
    "private.class_organization_id(uuid)",
    "private.child_assignment_ids_visible_to_parents()",
)
FUNCTIONS = sql_file(revision, "functions") + execute_only_one_by_one(
    (*GRADING_FUNCTIONS, GRADEBOOK), "authenticated, service_role"
)

POLICIES = """
grant select, insert, update, delete on public.grading_scale_levels, public.assignment_categories,
  public.assignments, public.assignment_rubrics, public.assignment_rubric_criteria, public.assignment_submissions,
  public.assignment_grades, public.rubric_grades to authenticated, service_role;
grant select on public.grade_history to authenticated;
grant select, insert, update, delete on public.grade_history to service_role;

alter table public.grading_scale_levels enable row level security;
alter table public.assignment_categories enable row level security;
alter table public.assignments enable row level security;
alter table public.assignment_rubrics enable row level security;
alter table public.assignment_rubric_criteria enable row level security;
alter table public.assignment_submissions enable row level security;
alter table public.assignment_grades enable row level security;
alter table public.rubric_grades enable row level security;
alter table public.grade_history enable row level security;

""" + tenant_policies("grading_scale_levels")

# Tables written by OA and the class's T (helpers.staff_policies), read also by the class's S and P where said.
CLASS_MEMBER = "class_id in (select private.enrolled_class_ids()) or class_id in (select private.child_class_ids())"
PUBLISHED_TO_CLASS = f"(state <> 'draft' and ({CLASS_MEMBER}))"

GRADING_POLICIES = (
    staff_policies("assignment_categories", f"({CLASS_MEMBER})")
    + staff_policies("assignments", PUBLISHED_TO_CLASS)
    + """
-- Rubrics and criteria go with their assignment (the sub-select runs under its policy).
create policy assignment_rubrics_select on public.assignment_rubrics for select to authenticated
  using (assignment_id in (select a.id from public.assignments a));
create policy assignment_rubrics_insert on public.assignment_rubrics for insert to authenticated
  with check (assignment_id in (select a.id from public.assignments a where (select private.is_super_admin())
    or a.organization_id in (select private.org_ids_with_role('org_admin')) or a.class_id in (select private.taught_class_ids())));
create policy assignment_rubrics_update on public.assignment_rubrics for update to authenticated
  using (assignment_id in (select a.id from public.assignments a where (select private.is_super_admin())
    or a.organization_id in (select private.org_ids_with_role('org_admin')) or a.class_id in (select private.taught_class_ids())))
  with check (assignment_id in (select a.id from public.assignments a where (select private.is_super_admin())
    or a.organization_id in (select private.org_ids_with_role('org_admin')) or a.class_id in (select private.taught_class_ids())));
create policy assignment_rubrics_delete on public.assignment_rubrics for delete to authenticated
  using (assignment_id in (select a.id from public.assignments a where (select private.is_super_admin())
    or a.organization_id in (select private.org_ids_with_role('org_admin')) or a.class_id in (select private.taught_class_ids())));

create policy assignment_rubric_criteria_select on public.assignment_rubric_criteria for select to authenticated
  using (rubric_id in (select r.id from public.assignment_rubrics r));
create policy assignment_rubric_criteria_insert on public.assignment_rubric_criteria for insert to authenticated
  with check (rubric_id in (select r.id from public.assignment_rubrics r join public.assignments a on a.id = r.assignment_id
    where (select private.is_super_admin()) or a.organization_id in (select private.org_ids_with_role('org_admin'))
       or a.class_id in (select private.taught_class_ids())));
create policy assignment_rubric_criteria_update on public.assignment_rubric_criteria for update to authenticated
  using (rubric_id in (select r.id from public.assignment_rubrics r join public.assignments a on a.id = r.assignment_id
    where (select private.is_super_admin()) or a.organization_id in (select private.org_ids_with_role('org_admin'))
       or a.class_id in (select private.taught_class_ids())))
  with check (rubric_id in (select r.id from public.assignment_rubrics r join public.assignments a on a.id = r.assignment_id
    where (select private.is_super_admin()) or a.organization_id in (select private.org_ids_with_role('org_admin'))
       or a.class_id in (select private.taught_class_ids())));
create policy assignment_rubric_criteria_delete on public.assignment_rubric_criteria for delete to authenticated
  using (rubric_id in (select r.id from public.assignment_rubrics r join public.assignments a on a.id = r.assignment_id
    where (select private.is_super_admin()) or a.organization_id in (select private.org_ids_with_role('org_admin'))
       or a.class_id in (select private.taught_class_ids())));

-- Submissions: the student creates and changes their own until it is graded or the
-- assignment closes (work marked missing may still be turned in); the teacher
-- returns, excuses, marks missing.
create policy assignment_submissions_select on public.assignment_submissions for select to authenticated
  using (class_id in (select private.taught_class_ids())
         or organization_id in (select private.org_ids_with_role('org_admin')) or (select private.is_super_admin())
         or student_id = (select auth.uid())
         or (student_id in (select private.child_ids())
             and assignment_id in (select private.child_assignment_ids_visible_to_parents())));
-- Staff (OA, T) create only an empty missing or excused row; the student only on a
-- published assignment that has not closed (the sub-select runs under its policy).
create policy assignment_submissions_insert on public.assignment_submissions for insert to authenticated
  with check ((select private.is_super_admin())
              or ((organization_id in (select private.org_ids_with_role('org_admin'))
                   or class_id in (select private.taught_class_ids()))
                  and status in ('missing', 'excused') and submitted_at is null and body is null
                  and cardinality(links) = 0)
              or (student_id = (select auth.uid()) and status in ('draft', 'submitted', 'late')
                  and exists (select from public.assignments a where a.id = assignment_id
                          and a.state = 'published' and (a.close_at is null or a.close_at > now()))));
create policy assignment_submissions_update on public.assignment_submissions for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids())
         or (student_id = (select auth.uid()) and status in ('draft', 'submitted', 'late', 'missing')
             and exists (select from public.assignments a where a.id = assignment_id
                          and a.state = 'published' and (a.close_at is null or a.close_at > now()))))
  with check ((select private.is_super_admin())
              or ((organization_id in (select private.org_ids_with_role('org_admin'))
                   or class_id in (select private.taught_class_ids()))
                  and status in ('returned', 'excused', 'missing'))
              or (student_id = (select auth.uid()) and status in ('draft', 'submitted', 'late')
                  and exists (select from public.assignments a where a.id = assignment_id
                          and a.state = 'published' and (a.close_at is null or a.close_at > now()))));
-- Work is never deleted but by the student discarding an unsent draft while the assignment is open.
create policy assignment_submissions_delete on public.assignment_submissions for delete to authenticated
  using ((select private.is_super_admin())
         or (student_id = (select auth.uid()) and status = 'draft' and submitted_at is null
             and exists (select from public.assignments a where a.id = assignment_id
                          and a.state = 'published' and (a.close_at is null or a.close_at > now()))));

-- Grades: students see their own once posted; parents once posted and the assignment
-- is visible to parents; an AI suggestion only staff, and only the server creates one.
create policy assignment_grades_select on public.assignment_grades for select to authenticated
  using (class_id in (select private.taught_class_ids())
         or organization_id in (select private.org_ids_with_role('org_admin')) or (select private.is_super_admin())
         or (state = 'final' and posted_at is not null
             and (student_id = (select auth.uid())
                  or (student_id in (select private.child_ids())
                      and assignment_id in (select private.child_assignment_ids_visible_to_parents())))));
create policy assignment_grades_insert on public.assignment_grades for insert to authenticated
  with check (state <> 'ai_suggested' and ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or class_id in (select private.taught_class_ids())));
create policy assignment_grades_update on public.assignment_grades for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids()))
  with check (state <> 'ai_suggested' and ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or class_id in (select private.taught_class_ids())));
create policy assignment_grades_delete on public.assignment_grades for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids()));

-- Rubric scores go with their grade.
create policy rubric_grades_select on public.rubric_grades for select to authenticated
  using (grade_id in (select g.id from public.assignment_grades g));
create policy rubric_grades_insert on public.rubric_grades for insert to authenticated
  with check (grade_id in (select g.id from public.assignment_grades g where g.state <> 'ai_suggested'
    and ((select private.is_super_admin()) or g.organization_id in (select private.org_ids_with_role('org_admin'))
         or g.class_id in (select private.taught_class_ids()))));
create policy rubric_grades_update on public.rubric_grades for update to authenticated
  using (grade_id in (select g.id from public.assignment_grades g where (select private.is_super_admin())
    or g.organization_id in (select private.org_ids_with_role('org_admin')) or g.class_id in (select private.taught_class_ids())))
  with check (grade_id in (select g.id from public.assignment_grades g where g.state <> 'ai_suggested'
    and ((select private.is_super_admin()) or g.organization_id in (select private.org_ids_with_role('org_admin'))
         or g.class_id in (select private.taught_class_ids()))));
create policy rubric_grades_delete on public.rubric_grades for delete to authenticated
  using (grade_id in (select g.id from public.assignment_grades g where g.state <> 'ai_suggested'
    and ((select private.is_super_admin()) or g.organization_id in (select private.org_ids_with_role('org_admin'))
         or g.class_id in (select private.taught_class_ids()))));

create policy grade_history_select on public.grade_history for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids()));
create policy grade_history_service on public.grade_history for all to service_role using (true) with check (true);
"""
)


upgrade = sql_step(TABLES, *touch_triggers(TOUCHED_TABLES), FUNCTIONS, POLICIES, GRADING_POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        f"""
        {drop_functions([GRADEBOOK])}
        drop table public.grade_history, public.rubric_grades, public.assignment_grades,
          public.assignment_submissions, public.assignment_rubric_criteria, public.assignment_rubrics,
          public.assignments, public.assignment_categories, public.grading_scale_levels;
        {drop_functions(GRADING_FUNCTIONS)}
        alter table public.enrollments drop constraint enrollments_class_member_key;
        drop type public.grade_state, public.grade_source, public.submission_status, public.assignment_state,
          public.assignment_type;
        """
    )
