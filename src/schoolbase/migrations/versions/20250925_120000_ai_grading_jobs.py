"""AI-assisted grading: the Procrastinate job queue (schema ``procrastinate``), bulk
grading jobs with their items, and AI suggestion fields that survive edits.

Procrastinate's own schema (the ``schema.sql`` the installed package ships, of the release
pinned in pyproject.toml, unchanged) is applied into a schema of its own that
only ``service_role`` may use: its functions resolve names through the connection's
``search_path``, so the server's job connections set ``search_path=procrastinate``
(see ``schoolbase/jobs.py``). ``public`` keeps only row-level-secured domain tables.

Revision ID: 20250925_120000
Revises: 20250924_163800
Create Date: 2025-09-25 12:00:00
"""

from importlib import metadata, resources

from alembic import op

from schoolbase.migrations.grants import explicit_grants

revision = "20250925_120000"
down_revision = "20250924_163800"
branch_labels = None
depends_on = None

# The release whose schema this revision applies; pyproject.toml pins it. Another release
# needs a new revision with its SQL migrations, not a different schema here.
PROCRASTINATE_VERSION = "3.10.0"


def procrastinate_schema() -> str:
    """The pinned release's ``schema.sql``, from the installed package; refuses any other release."""
    installed = metadata.version("procrastinate")
    if installed != PROCRASTINATE_VERSION:
        raise RuntimeError(
            f"revision {revision} applies Procrastinate {PROCRASTINATE_VERSION}'s schema, but {installed} is "
            f"installed: install procrastinate=={PROCRASTINATE_VERSION} (as pyproject.toml pins it)"
        )
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


QUEUE_GRANTS = """
revoke all on schema procrastinate from public;
grant usage on schema procrastinate to service_role;
grant select, insert, update, delete on all tables in schema procrastinate to service_role;
grant usage, select, update on all sequences in schema procrastinate to service_role;
revoke all on all functions in schema procrastinate from public;
grant execute on all functions in schema procrastinate to service_role;
"""

TABLES = """
-- A bulk AI grading run over one assignment; its items are the submissions to grade.
create table public.bulk_grading_jobs (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  assignment_id uuid not null,
  requested_by uuid references public.users (id) on delete set null,
  model text not null check (length(model) between 1 and 100),
  state text not null default 'queued' check (state in ('queued', 'running', 'completed', 'failed')),
  total integer not null default 0 check (total >= 0),
  error text check (length(error) <= 2000),
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  foreign key (organization_id, class_id, assignment_id)
    references public.assignments (organization_id, class_id, id) on delete cascade
);
create index bulk_grading_jobs_assignment_idx on public.bulk_grading_jobs (organization_id, class_id, assignment_id);
create index bulk_grading_jobs_requested_by_idx on public.bulk_grading_jobs (requested_by);
-- At most one unfinished run per assignment; the sweep that resumes runs reads this index.
create unique index bulk_grading_jobs_unfinished_idx on public.bulk_grading_jobs (organization_id, assignment_id)
  where state in ('queued', 'running');

-- One submission of a run. A worker claims an item by setting state = 'running' and a
-- lease; it calls the AI with no transaction open; a lease that runs out (a crash)
-- makes the item claimable again. available_at delays a retry (rate limits).
create table public.bulk_grading_job_items (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  job_id uuid not null,
  submission_id uuid not null,
  state text not null default 'pending' check (state in ('pending', 'running', 'done', 'failed', 'skipped')),
  attempts integer not null default 0 check (attempts >= 0),
  available_at timestamptz not null default now(),
  lease_until timestamptz,
  grade_id uuid,
  usage_log_id uuid,
  error text check (length(error) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, job_id, submission_id),
  check (state <> 'running' or lease_until is not null),
  foreign key (organization_id, job_id) references public.bulk_grading_jobs (organization_id, id) on delete cascade,
  foreign key (organization_id, submission_id) references public.assignment_submissions (organization_id, id)
    on delete cascade
);
create index bulk_grading_job_items_submission_idx on public.bulk_grading_job_items (organization_id, submission_id);

create trigger bulk_grading_jobs_touch before update on public.bulk_grading_jobs
  for each row execute function private.touch_updated_at();
create trigger bulk_grading_job_items_touch before update on public.bulk_grading_job_items
  for each row execute function private.touch_updated_at();
"""

FUNCTIONS = """
-- What the AI suggested stays on the grade whoever edits it later, so "how far did
-- the teacher move from the suggestion" (points - ai_suggested_points) stays answerable.
-- Only while a grade is and stays an AI suggestion (which only the server may write)
-- can these columns change; a teacher's grade can never be given AI figures.
create function private.keep_ai_suggestion() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if old.state = 'ai_suggested' and new.state = 'ai_suggested' then
      return new;
    end if;
    new.ai_suggested_points := old.ai_suggested_points;
    new.ai_confidence := old.ai_confidence;
    new.ai_usage_log_id := old.ai_usage_log_id;
    return new;
  end $$;
revoke all on function private.keep_ai_suggestion() from public;
grant execute on function private.keep_ai_suggestion() to authenticated, service_role;
create trigger assignment_grades_keep_ai_suggestion before update on public.assignment_grades
  for each row execute function private.keep_ai_suggestion();
"""

POLICIES = """
grant select on public.bulk_grading_jobs, public.bulk_grading_job_items to authenticated;
grant select, insert, update, delete on public.bulk_grading_jobs, public.bulk_grading_job_items to service_role;

alter table public.bulk_grading_jobs enable row level security;
alter table public.bulk_grading_job_items enable row level security;

-- Read by OA and the class's T; written only by the server (service_role).
create policy bulk_grading_jobs_select on public.bulk_grading_jobs for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids()));
create policy bulk_grading_job_items_select on public.bulk_grading_job_items for select to authenticated
  using (job_id in (select j.id from public.bulk_grading_jobs j));
"""


@explicit_grants
def upgrade() -> None:
    op.execute("create schema procrastinate")
    # The raw driver connection: Procrastinate's SQL has % and : that SQLAlchemy's
    # text() and psycopg's placeholders would otherwise interpret.
    driver = op.get_bind().connection.driver_connection
    driver.execute("set local search_path = procrastinate")
    driver.execute(procrastinate_schema())
    driver.execute("reset search_path")
    op.execute(QUEUE_GRANTS)
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute(POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        """
        drop trigger assignment_grades_keep_ai_suggestion on public.assignment_grades;
        drop function private.keep_ai_suggestion();
        drop table public.bulk_grading_job_items, public.bulk_grading_jobs;
        drop schema procrastinate cascade;
        """
    )
