"""Academic structure, closing grading periods, and rostering from OneRoster files.

- ``schools`` are units within an organization (a district holds several); ``courses``
  (title, code, subjects, grade levels) and ``classes`` belong to a school; a class is
  linked to a course and to its terms (``class_terms``).
- ``academic_sessions`` nest: school year → semester or term → grading period, with
  dates. An assignment falls in the grading period whose days (in the organization's
  time zone) hold its due date (``private.grading_period_of``).
- Closing a grading period (``closed_at``) locks the grades of its assignments: every
  writer is refused with 55000 ``grading_period_closed`` (the API's 409 period-closed)
  until an org admin reopens it. A teacher may still override a student's period grade
  with a reason (``period_grade_overrides``). Closing, reopening and every override are
  recorded in ``grading_period_history`` by triggers.
- Rostering (ACCESS.md: org admins read both; only the importer writes links): ``roster_imports`` (one upload, its report, progress and outcome) and
  ``roster_links`` (each imported row's ``sourcedId`` per organization and source system,
  and what it became), so re-imports are idempotent and deltas apply.
- A roster delta ends memberships and enrollments (``ended_at``) instead of deleting them,
  so submissions and grades stay; an ended one gives no reach (the role functions skip it).
- An invitation may be held (``sent_at`` null): made by an import, sent when an org admin
  sends it; only sending queues its message.

Revision ID: 20261130_020000
Revises: 20261129_200000
Create Date: 2026-11-30 02:00:00
"""

from schoolbase.migrations.helpers import (
    ORG_ADMIN_WRITE,
    drop_functions,
    execute_only,
    execute_only_one_by_one,
    function_statement,
    org_admin_writes,
    policy,
    restored_functions,
    sql_file,
    sql_step,
    staff_policies,
    tenant_policies,
    touch_triggers,
)

revision = "20261130_020000"
down_revision = "20261129_200000"
branch_labels = None
depends_on = None

TABLES = """
create type public.academic_session_type as enum ('school_year', 'semester', 'term', 'grading_period');
create type public.roster_import_state as enum
  ('queued', 'validating', 'validated', 'applying', 'completed', 'failed', 'cancelled');

create table public.schools (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  identifier text check (length(identifier) <= 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create index schools_org_name_idx on public.schools (organization_id, name);

create table public.academic_sessions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  parent_id uuid,
  title text not null check (length(btrim(title)) between 1 and 200),
  type public.academic_session_type not null,
  start_date date not null,
  end_date date not null,
  school_year integer check (school_year between 1900 and 2999),
  closed_at timestamptz,
  closed_by uuid references public.users (id) on delete set null,
  state_note text check (length(state_note) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  constraint academic_sessions_dates check (end_date >= start_date),
  constraint academic_sessions_not_own_parent check (parent_id <> id),
  constraint academic_sessions_only_periods_close check (closed_at is null or type = 'grading_period'),
  foreign key (organization_id, parent_id) references public.academic_sessions (organization_id, id) on delete cascade
);
create index academic_sessions_parent_idx on public.academic_sessions (organization_id, parent_id);
create index academic_sessions_type_idx on public.academic_sessions (organization_id, type, start_date);

create table public.courses (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  school_id uuid,
  school_year_id uuid,
  title text not null check (length(btrim(title)) between 1 and 200),
  code text check (length(code) <= 100),
  subjects text[] not null default '{}',
  grade_levels text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  foreign key (organization_id, school_id) references public.schools (organization_id, id),
  foreign key (organization_id, school_year_id) references public.academic_sessions (organization_id, id)
);
create index courses_school_idx on public.courses (organization_id, school_id);
create index courses_school_year_idx on public.courses (organization_id, school_year_id);

alter table public.classes
  add column school_id uuid,
  add column course_id uuid,
  add column class_code text check (length(class_code) <= 100),
  add constraint classes_school_fk foreign key (organization_id, school_id) references public.schools (organization_id, id),
  add constraint classes_course_fk foreign key (organization_id, course_id) references public.courses (organization_id, id);
create index classes_school_idx on public.classes (organization_id, school_id);
create index classes_course_idx on public.classes (organization_id, course_id);

create table public.class_terms (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  session_id uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, class_id, session_id),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade,
  foreign key (organization_id, session_id) references public.academic_sessions (organization_id, id) on delete cascade
);
create index class_terms_session_idx on public.class_terms (organization_id, session_id);

create table public.period_grade_overrides (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  session_id uuid not null,
  student_id uuid not null,
  student_role public.membership_role not null default 'student' check (student_role = 'student'),
  percent numeric(5, 2) check (percent between 0 and 999.99),
  letter text check (length(btrim(letter)) between 1 and 20),
  reason text not null check (length(btrim(reason)) between 1 and 2000),
  set_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, class_id, session_id, student_id),
  constraint period_grade_overrides_value check (percent is not null or letter is not null),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade,
  foreign key (organization_id, session_id) references public.academic_sessions (organization_id, id) on delete cascade,
  foreign key (organization_id, student_id, student_role)
    references public.memberships (organization_id, user_id, role) on delete cascade
);
create index period_grade_overrides_session_idx on public.period_grade_overrides (organization_id, session_id);
create index period_grade_overrides_student_idx on public.period_grade_overrides (organization_id, student_id);

create table public.grading_period_history (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  session_id uuid not null,
  class_id uuid,
  student_id uuid,
  action text not null check (action in ('closed', 'reopened', 'override_set', 'override_changed', 'override_removed')),
  actor_id uuid references public.users (id) on delete set null,
  reason text,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  foreign key (organization_id, session_id) references public.academic_sessions (organization_id, id) on delete cascade
);
create index grading_period_history_session_idx on public.grading_period_history (organization_id, session_id, created_at);
create index grading_period_history_class_idx on public.grading_period_history (organization_id, class_id);

create table public.roster_imports (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  file_name text not null check (length(file_name) between 1 and 300),
  source_system text check (length(source_system) <= 200),
  oneroster_version text check (length(oneroster_version) <= 20),
  state public.roster_import_state not null default 'queued',
  dry_run boolean not null default false,
  requested_by uuid references public.users (id) on delete set null,
  accepted_by uuid references public.users (id) on delete set null,
  accepted_at timestamptz,
  rows_total integer not null default 0 check (rows_total >= 0),
  rows_done integer not null default 0 check (rows_done >= 0),
  report jsonb not null default '{}',
  summary jsonb not null default '{}',
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create index roster_imports_org_idx on public.roster_imports (organization_id, created_at desc);

create table public.roster_links (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  source_system text not null check (length(source_system) between 1 and 200),
  entity text not null check (entity in ('org', 'academicSession', 'course', 'class', 'user', 'enrollment',
                                         'category', 'lineItem', 'result')),
  sourced_id text not null check (length(sourced_id) between 1 and 255),
  target_id uuid,
  invitation_id uuid,
  detail jsonb not null default '{}',
  status text not null default 'active' check (status in ('active', 'tobedeleted')),
  date_last_modified timestamptz,
  import_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, source_system, entity, sourced_id),
  foreign key (organization_id, invitation_id) references public.invitations (organization_id, id) on delete set null,
  foreign key (organization_id, import_id) references public.roster_imports (organization_id, id) on delete set null
);
create index roster_links_target_idx on public.roster_links (organization_id, entity, target_id);
create index roster_links_invitation_idx on public.roster_links (organization_id, invitation_id);

alter table public.memberships add column ended_at timestamptz;
alter table public.enrollments add column ended_at timestamptz;

alter table public.invitations alter column sent_at drop not null;
drop trigger invitations_queue_mail on public.invitations;
create trigger invitations_queue_mail after insert or update of sent_at on public.invitations
  for each row when (new.sent_at is not null) execute function private.queue_invitation_mail();
"""

FUNCTIONS = (
    "private.grading_period_of(uuid, uuid, timestamptz)",
    "private.refuse_in_closed_period(uuid, uuid, timestamptz, text)",
    "private.lock_grades_of_closed_periods()",
    "private.lock_rubric_grades_of_closed_periods()",
    "private.lock_assignments_of_closed_periods()",
    "private.record_period_state()",
    "private.record_period_override()",
    "private.lock_excused_and_missing_of_closed_periods()",
    "public.class_gradebook(uuid, uuid)",
)
# The gradebook as revision 20250924_163800 made it, without a grading period.
YEAR_GRADEBOOK = "public.class_gradebook(uuid)"

NEW_TABLES = (
    "schools",
    "academic_sessions",
    "courses",
    "class_terms",
    "period_grade_overrides",
    "grading_period_history",
    "roster_imports",
    "roster_links",
)

TRIGGERS = """
create trigger assignment_grades_closed_period before insert or update or delete on public.assignment_grades
  for each row execute function private.lock_grades_of_closed_periods();
create trigger rubric_grades_closed_period before insert or update or delete on public.rubric_grades
  for each row execute function private.lock_rubric_grades_of_closed_periods();
create trigger assignments_closed_period before update or delete on public.assignments
  for each row execute function private.lock_assignments_of_closed_periods();
create trigger assignment_submissions_closed_period before insert or update of status on public.assignment_submissions
  for each row execute function private.lock_excused_and_missing_of_closed_periods();
create trigger academic_sessions_record_state after update of closed_at on public.academic_sessions
  for each row execute function private.record_period_state();
create trigger period_grade_overrides_record after insert or update or delete on public.period_grade_overrides
  for each row execute function private.record_period_override();
"""

# Staff of the override's class read and write; the student and their parents read it once
# the period is closed.
OVERRIDE_READ = (
    "((student_id = (select auth.uid()) or student_id in (select private.child_ids())) "
    "and session_id in (select s.id from public.academic_sessions s where s.closed_at is not null))"
)
# Period history: org admins all of it, teachers what concerns their classes or the period itself.
HISTORY_READ = (
    f"{ORG_ADMIN_WRITE} or class_id in (select private.taught_class_ids()) "
    "or (class_id is null and organization_id in (select private.org_ids_with_role('teacher')))"
)

POLICIES = (
    "".join(f"alter table public.{table} enable row level security;\n" for table in NEW_TABLES)
    + tenant_policies("schools")
    + tenant_policies("academic_sessions")
    + tenant_policies("courses")
    + tenant_policies("class_terms")
    + staff_policies("period_grade_overrides", OVERRIDE_READ)
    + policy("grading_period_history", "select", using=HISTORY_READ)
    + policy("roster_imports", "select", using=ORG_ADMIN_WRITE)
    + org_admin_writes("roster_imports")
    + policy("roster_links", "select", using=ORG_ADMIN_WRITE)
    + """
grant select, insert, update, delete on public.schools, public.academic_sessions, public.courses, public.class_terms,
  public.period_grade_overrides, public.roster_imports to authenticated, service_role;
-- Written only by triggers and the importer (service_role).
grant select on public.grading_period_history, public.roster_links to authenticated;
grant select, insert, update, delete on public.grading_period_history, public.roster_links to service_role;
"""
)

UPGRADE = (
    TABLES,
    sql_file("20261130_020000", "functions"),
    sql_file("20261130_020000", "ended"),
    sql_file("20261130_020000", "gradebook"),
    execute_only(FUNCTIONS, "authenticated, service_role"),
    TRIGGERS,
    POLICIES,
    *touch_triggers(NEW_TABLES),
)

ENDED_REACH = (
    ("20250919_000000", "helpers", "private.member_org_ids"),
    ("20250919_000000", "helpers", "private.org_ids_with_role"),
    ("20250919_000000", "helpers", "private.taught_class_ids"),
    ("20250919_000000", "helpers", "private.enrolled_class_ids"),
    ("20250919_000000", "helpers", "private.child_class_ids"),
    ("20250919_000000", "helpers", "private.taught_student_ids"),
    ("20250920_163900", "functions", "private.taught_student_keys"),
)

DOWNGRADE = f"""
{restored_functions(*(function_statement(*where, or_replace=True) for where in ENDED_REACH))}
alter table public.memberships drop column ended_at;
alter table public.enrollments drop column ended_at;
drop trigger invitations_queue_mail on public.invitations;
create trigger invitations_queue_mail after insert or update of sent_at on public.invitations
  for each row execute function private.queue_invitation_mail();
update public.invitations set sent_at = created_at where sent_at is null;
alter table public.invitations alter column sent_at set not null;
drop trigger assignment_grades_closed_period on public.assignment_grades;
drop trigger rubric_grades_closed_period on public.rubric_grades;
drop trigger assignments_closed_period on public.assignments;
drop trigger assignment_submissions_closed_period on public.assignment_submissions;
drop table public.roster_links, public.roster_imports, public.grading_period_history, public.period_grade_overrides,
  public.class_terms;
alter table public.classes drop column school_id, drop column course_id, drop column class_code;
drop table public.courses, public.academic_sessions, public.schools;
{drop_functions(FUNCTIONS)}
{function_statement("20250924_163800", "functions", "public.class_gradebook")}
{execute_only_one_by_one((YEAR_GRADEBOOK,), "authenticated, service_role")}
drop type public.roster_import_state;
drop type public.academic_session_type;
"""

upgrade = sql_step(*UPGRADE)
downgrade = sql_step(DOWNGRADE)
