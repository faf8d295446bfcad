"""AI usage tracking: services and prices, organization settings, usage logs
(partitioned by month), daily and monthly roll-ups, rate-limit counters, budget
reservations and alerts, and their row-level security.

Revision ID: 20250920_163900
Revises: 20250919_000000
Create Date: 2025-09-20 16:39:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants
from schoolbase.migrations.helpers import (
    SUPER_ADMIN,
    drop_functions,
    execute_only,
    sql_file,
    sql_step,
    tenant_policies,
    touch_triggers,
)

revision = "20250920_163900"
down_revision = "20250919_000000"
branch_labels = None
depends_on = None

# What a day of one person and a month of one organization count alike.
USAGE_COUNTERS = """\
  requests integer not null default 0 check (requests >= 0),
  succeeded integer not null default 0 check (succeeded >= 0),
  input_tokens bigint not null default 0 check (input_tokens >= 0),
  output_tokens bigint not null default 0 check (output_tokens >= 0),
  cache_write_tokens bigint not null default 0 check (cache_write_tokens >= 0),
  cache_read_tokens bigint not null default 0 check (cache_read_tokens >= 0),
  cost_usd numeric not null default 0 check (cost_usd >= 0),
"""

TABLES = (
    """
create type public.ai_feature as enum ('homework_help', 'grading_assistance', 'resource_generation');
create type public.ai_call_status as enum ('succeeded', 'failed', 'rate_limited', 'over_budget', 'feature_disabled');

create table public.ai_services (
  id uuid primary key default gen_random_uuid(),
  alias text not null unique check (alias ~ '^[a-z0-9][a-z0-9.-]{0,62}$'),
  provider text not null check (provider in ('anthropic')),
  model_id text not null check (length(model_id) between 1 and 200),
  display_name text not null check (length(btrim(display_name)) between 1 and 200),
  context_window integer not null check (context_window > 0),
  max_output_tokens integer not null check (max_output_tokens > 0),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (provider, model_id)
);

-- A price change is a new row; the price in force at a moment is the latest row
-- effective at or before it. Usage logs copy the prices they were charged at.
create table public.ai_service_prices (
  id uuid primary key default gen_random_uuid(),
  service_id uuid not null references public.ai_services (id) on delete cascade,
  effective_from timestamptz not null,
  input_usd_per_mtok numeric(12, 6) not null check (input_usd_per_mtok >= 0),
  output_usd_per_mtok numeric(12, 6) not null check (output_usd_per_mtok >= 0),
  cache_write_usd_per_mtok numeric(12, 6) not null check (cache_write_usd_per_mtok >= 0),
  cache_read_usd_per_mtok numeric(12, 6) not null check (cache_read_usd_per_mtok >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (service_id, effective_from)
);

create table public.ai_organization_settings (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null unique references public.organizations (id) on delete cascade,
  homework_help_enabled boolean not null default true,
  homework_help_roles public.membership_role[] not null default '{student,teacher,org_admin}',
  grading_assistance_enabled boolean not null default true,
  grading_assistance_roles public.membership_role[] not null default '{teacher,org_admin}',
  resource_generation_enabled boolean not null default true,
  resource_generation_roles public.membership_role[] not null default '{teacher,org_admin}',
  allowed_service_ids uuid[],
  monthly_budget_usd numeric(14, 2) default 100 check (monthly_budget_usd >= 0),
  daily_token_quota_per_user bigint check (daily_token_quota_per_user > 0),
  daily_request_quota_per_user integer check (daily_request_quota_per_user > 0),
  rate_limit_per_minute integer not null default 60 check (rate_limit_per_minute > 0),
  rate_limit_per_hour integer not null default 1000 check (rate_limit_per_hour > 0),
  rate_limit_per_day integer not null default 10000 check (rate_limit_per_day > 0),
  store_prompts boolean not null default false,
  retention_days integer not null default 365 check (retention_days between 1 and 3650),
  alert_thresholds_percent integer[] not null default '{50,80,100}'
    check (cardinality(alert_thresholds_percent) <= 10 and array_position(alert_thresholds_percent, null) is null
           and 1 <= all (alert_thresholds_percent) and 1000 >= all (alert_thresholds_percent)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);

-- One row per call, denied ones included. Partitioned by month of created_at;
-- the partitions live in schema private, reachable only through this table.
create table public.ai_usage_logs (
  id uuid not null default gen_random_uuid(),
  created_at timestamptz not null default now(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.users (id),
  service_id uuid not null references public.ai_services (id),
  feature public.ai_feature not null,
  request_id text check (length(request_id) <= 200),
  status public.ai_call_status not null,
  input_tokens integer not null default 0 check (input_tokens >= 0),
  output_tokens integer not null default 0 check (output_tokens >= 0),
  cache_write_tokens integer not null default 0 check (cache_write_tokens >= 0),
  cache_read_tokens integer not null default 0 check (cache_read_tokens >= 0),
  input_usd_per_mtok numeric(12, 6),
  output_usd_per_mtok numeric(12, 6),
  cache_write_usd_per_mtok numeric(12, 6),
  cache_read_usd_per_mtok numeric(12, 6),
  cost_usd numeric not null default 0 check (cost_usd >= 0),
  latency_ms integer check (latency_ms >= 0),
  upstream_error text,
  prompt_text text,
  response_text text,
  quality jsonb not null default '{}' check (jsonb_typeof(quality) = 'object'),
  feedback_rating smallint check (feedback_rating between 1 and 5),
  feedback_comment text check (length(feedback_comment) <= 2000),
  feedback_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (organization_id, id, created_at)
) partition by range (created_at);
create index ai_usage_logs_org_time_idx on public.ai_usage_logs (organization_id, created_at);
create index ai_usage_logs_user_time_idx on public.ai_usage_logs (user_id, created_at);
create index ai_usage_logs_id_idx on public.ai_usage_logs (id);
create index ai_usage_logs_service_idx on public.ai_usage_logs (service_id);
create table private.ai_usage_logs_default partition of public.ai_usage_logs default;

create table public.ai_daily_user_usage (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.users (id),
  day date not null,
"""
    + USAGE_COUNTERS
    + """  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, user_id, day)
);
create index ai_daily_user_usage_user_idx on public.ai_daily_user_usage (user_id, day);

create table public.ai_monthly_org_usage (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  month date not null check (extract(day from month) = 1),
"""
    + USAGE_COUNTERS
    + """  budget_usd numeric(14, 2) check (budget_usd >= 0),
  reserved_usd numeric not null default 0 check (reserved_usd >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, month)
);

-- Worst-case cost held against the month's budget while a call is in flight.
-- A crash between reserve and settle leaves a row whose expiry releases it.
create table public.ai_budget_reservations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  month date not null,
  amount_usd numeric not null check (amount_usd > 0),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  foreign key (organization_id, month) references public.ai_monthly_org_usage (organization_id, month) on delete cascade
);
create index ai_budget_reservations_expiry_idx on public.ai_budget_reservations (organization_id, month, expires_at);

-- Fixed windows (minute, hour, day) per user; each row counts the calls admitted
-- in its current window.
create table public.ai_rate_limits (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  window_kind text not null check (window_kind in ('minute', 'hour', 'day')),
  window_start timestamptz not null,
  used integer not null check (used >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, user_id, window_kind)
);
create index ai_rate_limits_user_idx on public.ai_rate_limits (user_id);

create table public.ai_budget_alerts (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  month date not null,
  threshold_percent integer not null check (threshold_percent > 0),
  spent_usd numeric not null,
  budget_usd numeric not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, month, threshold_percent)
);
"""
)

TOUCHED_TABLES = (
    "ai_services",
    "ai_service_prices",
    "ai_organization_settings",
    "ai_usage_logs",
    "ai_daily_user_usage",
    "ai_monthly_org_usage",
    "ai_budget_reservations",
    "ai_rate_limits",
    "ai_budget_alerts",
)

FUNCTIONS = sql_file(revision, "functions")

SEED = """
insert into public.ai_services (alias, provider, model_id, display_name, context_window, max_output_tokens) values
  ('claude-sonnet', 'anthropic', 'claude-sonnet-4-6', 'Claude Sonnet 4.6', 200000, 64000),
  ('claude-haiku', 'anthropic', 'claude-haiku-4-5', 'Claude Haiku 4.5', 200000, 64000);
insert into public.ai_service_prices (service_id, effective_from, input_usd_per_mtok, output_usd_per_mtok,
                                      cache_write_usd_per_mtok, cache_read_usd_per_mtok)
select id, '2025-01-01T00:00:00Z', p.i, p.o, p.w, p.r from public.ai_services
join (values ('claude-sonnet', 3.00, 15.00, 3.75, 0.30), ('claude-haiku', 1.00, 5.00, 1.25, 0.10)) as p(alias, i, o, w, r)
  using (alias);
"""

# Only the server's own role runs the gateway's steps.
GATEWAY_STEPS = (
    "private.ai_seconds_until_end(text, text)",
    "private.ai_window_start(text, text)",
    "private.ai_record(uuid, uuid, uuid, public.ai_feature, text, public.ai_call_status, integer[], numeric[], "
    "numeric, integer, text, text, text, uuid)",
    "private.ai_admit(uuid, uuid, uuid, public.ai_feature, numeric, integer, text, text)",
)
GATEWAY_FUNCTIONS = sql_file(revision, "gateway_functions") + execute_only(GATEWAY_STEPS, "service_role")


def super_admin_writes(table: str) -> str:
    """Only the super admin inserts, updates and deletes ``table``'s rows."""
    return f"""create policy {table}_insert on public.{table} for insert to authenticated
  with check ({SUPER_ADMIN});
create policy {table}_update on public.{table} for update to authenticated
  using ({SUPER_ADMIN}) with check ({SUPER_ADMIN});
create policy {table}_delete on public.{table} for delete to authenticated
  using ({SUPER_ADMIN});
"""


def person_usage_select(table: str) -> str:
    """A person's AI usage is read by them, the super admin, their org admins, teachers and parents."""
    return f"""create policy {table}_select on public.{table} for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id, user_id) in (select * from private.taught_student_keys())
         or (organization_id, user_id) in (select * from private.child_keys()));
"""


POLICIES = (
    """
grant select on public.ai_services, public.ai_service_prices, public.ai_organization_settings,
  public.ai_usage_logs, public.ai_daily_user_usage, public.ai_monthly_org_usage, public.ai_rate_limits,
  public.ai_budget_alerts to authenticated;
grant insert, update, delete on public.ai_services, public.ai_service_prices, public.ai_organization_settings
  to authenticated;
-- The owner of a log row may change only its feedback.
grant update (feedback_rating, feedback_comment, feedback_at) on public.ai_usage_logs to authenticated;
grant select, insert, update, delete on public.ai_services, public.ai_service_prices,
  public.ai_organization_settings, public.ai_usage_logs, public.ai_daily_user_usage, public.ai_monthly_org_usage,
  public.ai_budget_reservations, public.ai_rate_limits, public.ai_budget_alerts to service_role;

alter table public.ai_services enable row level security;
alter table public.ai_service_prices enable row level security;
alter table public.ai_organization_settings enable row level security;
alter table public.ai_usage_logs enable row level security;
alter table public.ai_daily_user_usage enable row level security;
alter table public.ai_monthly_org_usage enable row level security;
alter table public.ai_budget_reservations enable row level security;
alter table public.ai_rate_limits enable row level security;
alter table public.ai_budget_alerts enable row level security;

create policy ai_services_select on public.ai_services for select to authenticated
  using (enabled or (select private.is_super_admin()));
"""
    + super_admin_writes("ai_services")
    + """
create policy ai_service_prices_select on public.ai_service_prices for select to authenticated
  using ((select private.is_super_admin())
         or service_id in (select s.id from public.ai_services s where s.enabled));
"""
    + super_admin_writes("ai_service_prices")
    + "\n"
    + tenant_policies("ai_organization_settings")
    + "\n"
    + person_usage_select("ai_usage_logs")
    + """create policy ai_usage_logs_feedback on public.ai_usage_logs for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

"""
    + person_usage_select("ai_daily_user_usage")
    + """
create policy ai_monthly_org_usage_select on public.ai_monthly_org_usage for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

create policy ai_rate_limits_select on public.ai_rate_limits for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin')));

create policy ai_budget_alerts_select on public.ai_budget_alerts for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

create policy ai_budget_reservations_service on public.ai_budget_reservations to service_role
  using (true) with check (true);
"""
)


upgrade = sql_step(TABLES, *touch_triggers(TOUCHED_TABLES), FUNCTIONS, GATEWAY_FUNCTIONS, SEED, POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        f"""
        drop trigger organizations_ai_settings on public.organizations;
        drop table public.ai_budget_alerts, public.ai_rate_limits, public.ai_budget_reservations,
          public.ai_monthly_org_usage, public.ai_daily_user_usage, public.ai_usage_logs,
          public.ai_organization_settings, public.ai_service_prices, public.ai_services;
        {drop_functions(GATEWAY_STEPS)}
        drop function private.create_ai_settings(), private.check_allowed_services(),
          private.ensure_ai_usage_partitions(date, integer), private.drop_ai_usage_partitions_before(timestamptz),
          private.taught_student_keys(), private.child_keys();
        drop type public.ai_call_status, public.ai_feature;
        """
    )
