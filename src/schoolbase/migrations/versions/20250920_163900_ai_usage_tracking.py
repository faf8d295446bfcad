"""AI usage tracking: services and prices, organization settings, usage logs
(partitioned by month), daily and monthly roll-ups, rate-limit counters, budget
reservations and alerts, and their row-level security.

Revision ID: 20250920_163900
Revises: 20250919_000000
Create Date: 2025-09-20 16:39:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants

revision = "20250920_163900"
down_revision = "20250919_000000"
branch_labels = None
depends_on = None

TABLES = """
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
  requests integer not null default 0 check (requests >= 0),
  succeeded integer not null default 0 check (succeeded >= 0),
  input_tokens bigint not null default 0 check (input_tokens >= 0),
  output_tokens bigint not null default 0 check (output_tokens >= 0),
  cache_write_tokens bigint not null default 0 check (cache_write_tokens >= 0),
  cache_read_tokens bigint not null default 0 check (cache_read_tokens >= 0),
  cost_usd numeric not null default 0 check (cost_usd >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, user_id, day)
);
create index ai_daily_user_usage_user_idx on public.ai_daily_user_usage (user_id, day);

create table public.ai_monthly_org_usage (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  month date not null check (extract(day from month) = 1),
  requests integer not null default 0 check (requests >= 0),
  succeeded integer not null default 0 check (succeeded >= 0),
  input_tokens bigint not null default 0 check (input_tokens >= 0),
  output_tokens bigint not null default 0 check (output_tokens >= 0),
  cache_write_tokens bigint not null default 0 check (cache_write_tokens >= 0),
  cache_read_tokens bigint not null default 0 check (cache_read_tokens >= 0),
  cost_usd numeric not null default 0 check (cost_usd >= 0),
  budget_usd numeric(14, 2) check (budget_usd >= 0),
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

FUNCTIONS = """
-- Every organization has AI settings, with the defaults, from the moment it exists.
create function private.create_ai_settings() returns trigger
  language plpgsql security definer set search_path = ''
  as $$ begin insert into public.ai_organization_settings (organization_id) values (new.id); return new; end $$;
create trigger organizations_ai_settings after insert on public.organizations
  for each row execute function private.create_ai_settings();
insert into public.ai_organization_settings (organization_id) select id from public.organizations;

create function private.check_allowed_services() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare missing uuid;
  begin
    select s into missing from unnest(new.allowed_service_ids) s
      where not exists (select from public.ai_services a where a.id = s) limit 1;
    if missing is not null then
      raise exception 'allowed_service_ids: no AI service %', missing using errcode = '23503';
    end if;
    return new;
  end $$;
create trigger ai_organization_settings_services before insert or update of allowed_service_ids
  on public.ai_organization_settings for each row execute function private.check_allowed_services();

-- Monthly partitions of ai_usage_logs, from p_first's month for p_months months.
-- Security definer: creating or dropping a partition needs the owner of ai_usage_logs,
-- and maintenance runs as service_role (the only role allowed to execute these two).
create function private.ensure_ai_usage_partitions(p_first date, p_months integer) returns integer
  language plpgsql security definer set search_path = ''
  as $$
  declare
    m date;
    created integer := 0;
    name text;
  begin
    for i in 0 .. p_months - 1 loop
      m := (date_trunc('month', p_first) + make_interval(months => i))::date;
      name := format('ai_usage_logs_%s', to_char(m, 'YYYY_MM'));
      if to_regclass('private.' || name) is null then
        execute format(
          'create table private.%I partition of public.ai_usage_logs for values from (%L) to (%L)',
          name, m::timestamp at time zone 'UTC', (m + interval '1 month')::timestamp at time zone 'UTC');
        created := created + 1;
      end if;
    end loop;
    return created;
  end $$;
select private.ensure_ai_usage_partitions((now() at time zone 'UTC')::date - 31, 5);

-- Drops the monthly partitions that end at or before p_before; returns how many.
create function private.drop_ai_usage_partitions_before(p_before timestamptz) returns integer
  language plpgsql security definer set search_path = ''
  as $$
  declare
    part record;
    dropped integer := 0;
  begin
    for part in
      select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.ai_usage_logs'::regclass and c.relname ~ '^ai_usage_logs_[0-9]{4}_[0-9]{2}$'
    loop
      if (to_date(right(part.relname, 7), 'YYYY_MM') + interval '1 month')::timestamp at time zone 'UTC' <= p_before then
        execute format('drop table private.%I', part.relname);
        dropped := dropped + 1;
      end if;
    end loop;
    return dropped;
  end $$;

-- (organization, student) pairs: a teacher's or parent's reach is the student's rows
-- in the organization where they teach or guard her, not in her other organizations.
create function private.taught_student_keys() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select distinct s.organization_id, s.user_id
        from public.enrollments t
        join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
        where t.user_id = auth.uid() and t.role = 'teacher' $$;
create function private.child_keys() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select g.organization_id, g.student_id from public.guardianships g where g.parent_id = auth.uid() $$;

revoke all on all functions in schema private from public;
grant execute on all functions in schema private to authenticated, service_role;
revoke execute on function private.ensure_ai_usage_partitions(date, integer),
  private.drop_ai_usage_partitions_before(timestamptz) from authenticated;
"""

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

GATEWAY_FUNCTIONS = """
-- The gateway's two steps in the database: admit (feature and role, quotas, rate
-- slots, budget reservation) and record (usage row, roll-ups, alerts, release).
-- Row locks are always taken in the order rate limits → monthly → daily, so
-- concurrent admissions and settlements cannot deadlock.

create function private.ai_seconds_until_end(p_kind text, p_tz text) returns integer
  language sql stable set search_path = ''
  as $$
    select greatest(1, ceil(extract(epoch from (
      case p_kind
        when 'minute' then date_trunc('minute', now()) + interval '1 minute'
        when 'hour' then date_trunc('hour', now()) + interval '1 hour'
        when 'day' then (date_trunc('day', now() at time zone p_tz) + interval '1 day') at time zone p_tz
        else (date_trunc('month', now() at time zone p_tz) + interval '1 month') at time zone p_tz
      end - now()))))::integer
  $$;

create function private.ai_window_start(p_kind text, p_tz text) returns timestamptz
  language sql stable set search_path = ''
  as $$
    select case p_kind
      when 'minute' then date_trunc('minute', now())
      when 'hour' then date_trunc('hour', now())
      else date_trunc('day', now() at time zone p_tz) at time zone p_tz
    end
  $$;

-- One usage row and its roll-ups; releases the call's reservation if it has one.
create function private.ai_record(
  p_org uuid, p_user uuid, p_service uuid, p_feature public.ai_feature, p_request_id text,
  p_status public.ai_call_status, p_tokens integer[], p_prices numeric[], p_cost numeric,
  p_latency_ms integer, p_error text, p_prompt text, p_response text, p_reservation uuid
) returns uuid
  language plpgsql volatile set search_path = ''
  as $$
  declare
    s public.ai_organization_settings;
    tz text;
    log_id uuid;
    held record;
    ok integer := (p_status = 'succeeded')::integer;
  begin
    select o.time_zone into tz from public.organizations o where o.id = p_org;
    select * into s from public.ai_organization_settings where organization_id = p_org;
    insert into public.ai_usage_logs (organization_id, user_id, service_id, feature, request_id, status,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
      input_usd_per_mtok, output_usd_per_mtok, cache_write_usd_per_mtok, cache_read_usd_per_mtok,
      cost_usd, latency_ms, upstream_error, prompt_text, response_text)
    values (p_org, p_user, p_service, p_feature, p_request_id, p_status,
      p_tokens[1], p_tokens[2], p_tokens[3], p_tokens[4], p_prices[1], p_prices[2], p_prices[3], p_prices[4],
      p_cost, p_latency_ms, p_error,
      case when s.store_prompts then p_prompt end, case when s.store_prompts then p_response end)
    returning id into log_id;

    if p_reservation is not null then
      delete from public.ai_budget_reservations where id = p_reservation returning month, amount_usd into held;
      if found then
        update public.ai_monthly_org_usage set reserved_usd = reserved_usd - held.amount_usd
        where organization_id = p_org and month = held.month;
      end if;
    end if;

    insert into public.ai_monthly_org_usage as m (organization_id, month, requests, succeeded, input_tokens,
      output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, budget_usd)
    values (p_org, date_trunc('month', now() at time zone tz)::date, 1, ok,
      p_tokens[1], p_tokens[2], p_tokens[3], p_tokens[4], p_cost, s.monthly_budget_usd)
    on conflict (organization_id, month) do update set
      requests = m.requests + 1, succeeded = m.succeeded + excluded.succeeded,
      input_tokens = m.input_tokens + excluded.input_tokens, output_tokens = m.output_tokens + excluded.output_tokens,
      cache_write_tokens = m.cache_write_tokens + excluded.cache_write_tokens,
      cache_read_tokens = m.cache_read_tokens + excluded.cache_read_tokens,
      cost_usd = m.cost_usd + excluded.cost_usd, budget_usd = excluded.budget_usd;

    insert into public.ai_daily_user_usage as d (organization_id, user_id, day, requests, succeeded,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd)
    values (p_org, p_user, (now() at time zone tz)::date, 1, ok,
      p_tokens[1], p_tokens[2], p_tokens[3], p_tokens[4], p_cost)
    on conflict (organization_id, user_id, day) do update set
      requests = d.requests + 1, succeeded = d.succeeded + excluded.succeeded,
      input_tokens = d.input_tokens + excluded.input_tokens, output_tokens = d.output_tokens + excluded.output_tokens,
      cache_write_tokens = d.cache_write_tokens + excluded.cache_write_tokens,
      cache_read_tokens = d.cache_read_tokens + excluded.cache_read_tokens,
      cost_usd = d.cost_usd + excluded.cost_usd;

    -- Each threshold once per month: the unique key turns repeats into no-ops.
    if p_cost > 0 then
      insert into public.ai_budget_alerts (organization_id, month, threshold_percent, spent_usd, budget_usd)
      select m.organization_id, m.month, t, m.cost_usd, m.budget_usd
      from public.ai_monthly_org_usage m, unnest(s.alert_thresholds_percent) as t
      where m.organization_id = p_org and m.month = date_trunc('month', now() at time zone tz)::date
        and m.budget_usd > 0 and m.cost_usd * 100 >= m.budget_usd * t
      on conflict (organization_id, month, threshold_percent) do nothing;
    end if;
    return log_id;
  end $$;

-- Admit a call or deny it (a denial is recorded as a usage row). p_worst is the most
-- the call can cost; it is held against the month's budget until the call settles.
create function private.ai_admit(
  p_org uuid, p_user uuid, p_service uuid, p_feature public.ai_feature, p_worst numeric,
  p_ttl_seconds integer, p_request_id text, p_prompt text
) returns table (reservation_id uuid, denial text, detail text, retry_after integer)
  language plpgsql volatile set search_path = ''
  as $$
  declare
    s public.ai_organization_settings;
    tz text;
    member_roles public.membership_role[];
    feature_on boolean;
    feature_roles public.membership_role[];
    used bigint;
    w record;
    m public.ai_monthly_org_usage;
    released numeric;
    rid uuid;
  begin
    select o.time_zone into tz from public.organizations o where o.id = p_org;
    select * into s from public.ai_organization_settings where organization_id = p_org;
    select array_agg(role) into member_roles from public.memberships
      where organization_id = p_org and user_id = p_user;
    feature_on := case p_feature when 'homework_help' then s.homework_help_enabled
      when 'grading_assistance' then s.grading_assistance_enabled else s.resource_generation_enabled end;
    feature_roles := case p_feature when 'homework_help' then s.homework_help_roles
      when 'grading_assistance' then s.grading_assistance_roles else s.resource_generation_roles end;

    if not feature_on or not coalesce(feature_roles && member_roles, false) then
      denial := 'feature_disabled';
      detail := format('%s is not enabled for your role in this organization', p_feature);
    elsif s.allowed_service_ids is not null and not p_service = any (s.allowed_service_ids) then
      denial := 'feature_disabled';
      detail := 'this model is not allowed in this organization';
    elsif s.daily_token_quota_per_user is not null then
      select d.input_tokens + d.output_tokens + d.cache_write_tokens + d.cache_read_tokens into used
      from public.ai_daily_user_usage d
      where d.organization_id = p_org and d.user_id = p_user and d.day = (now() at time zone tz)::date;
      if coalesce(used, 0) >= s.daily_token_quota_per_user then
        denial := 'daily_token_quota';
        detail := format('your daily quota of %s tokens is used up', s.daily_token_quota_per_user);
        retry_after := private.ai_seconds_until_end('day', tz);
      end if;
    end if;

    if denial is null then
      insert into public.ai_rate_limits (organization_id, user_id, window_kind, window_start, used)
      select p_org, p_user, k, private.ai_window_start(k, tz), 0 from unnest(array['day', 'hour', 'minute']) as k
      on conflict (organization_id, user_id, window_kind) do nothing;
      for w in
        select r.window_kind, r.window_start = private.ai_window_start(r.window_kind, tz) as current, r.used,
               case r.window_kind when 'minute' then s.rate_limit_per_minute when 'hour' then s.rate_limit_per_hour
                 else least(s.rate_limit_per_day, coalesce(s.daily_request_quota_per_user, s.rate_limit_per_day)) end
                 as allowed
        from public.ai_rate_limits r
        where r.organization_id = p_org and r.user_id = p_user
        order by r.window_kind
        for update
      loop
        if w.current and w.used >= w.allowed then
          denial := 'per_' || w.window_kind;
          detail := format('rate limit of %s calls per %s reached', w.allowed, w.window_kind);
          retry_after := private.ai_seconds_until_end(w.window_kind, tz);
          exit;
        end if;
      end loop;
    end if;

    if denial is null then
      insert into public.ai_monthly_org_usage (organization_id, month, budget_usd)
      values (p_org, date_trunc('month', now() at time zone tz)::date, s.monthly_budget_usd)
      on conflict (organization_id, month) do nothing;
      select * into m from public.ai_monthly_org_usage
      where organization_id = p_org and month = date_trunc('month', now() at time zone tz)::date
      for update;
      -- A crash between admit and settle leaves a reservation; past its expiry it is released here.
      with gone as (
        delete from public.ai_budget_reservations
        where organization_id = p_org and month = m.month and expires_at < now()
        returning amount_usd
      ) select coalesce(sum(amount_usd), 0) into released from gone;
      if s.monthly_budget_usd is not null
         and m.cost_usd + m.reserved_usd - released + p_worst > s.monthly_budget_usd then
        denial := 'monthly_budget';
        detail := format('the monthly AI budget of $%s cannot cover this call''s worst case of $%s',
                         s.monthly_budget_usd, round(p_worst, 6));
        retry_after := private.ai_seconds_until_end('month', tz);
        update public.ai_monthly_org_usage set reserved_usd = reserved_usd - released where id = m.id;
      else
        update public.ai_rate_limits r
        set used = case when r.window_start = private.ai_window_start(r.window_kind, tz) then r.used + 1 else 1 end,
            window_start = private.ai_window_start(r.window_kind, tz)
        where r.organization_id = p_org and r.user_id = p_user;
        update public.ai_monthly_org_usage
        set reserved_usd = reserved_usd - released + p_worst, budget_usd = s.monthly_budget_usd
        where id = m.id;
        insert into public.ai_budget_reservations (organization_id, month, amount_usd, expires_at)
        values (p_org, m.month, p_worst, now() + make_interval(secs => p_ttl_seconds))
        returning id into rid;
        reservation_id := rid;
        return next;
        return;
      end if;
    end if;

    perform private.ai_record(p_org, p_user, p_service, p_feature, p_request_id,
      case denial when 'feature_disabled' then 'feature_disabled'::public.ai_call_status
                  when 'monthly_budget' then 'over_budget'::public.ai_call_status
                  else 'rate_limited'::public.ai_call_status end,
      array[0, 0, 0, 0], array[null, null, null, null]::numeric[], 0, null, detail, p_prompt, null, null);
    return next;
  end $$;

-- Only the server's own role runs the gateway's steps.
revoke all on function private.ai_seconds_until_end(text, text), private.ai_window_start(text, text),
  private.ai_record(uuid, uuid, uuid, public.ai_feature, text, public.ai_call_status, integer[], numeric[],
                    numeric, integer, text, text, text, uuid),
  private.ai_admit(uuid, uuid, uuid, public.ai_feature, numeric, integer, text, text) from public;
grant execute on function private.ai_seconds_until_end(text, text), private.ai_window_start(text, text),
  private.ai_record(uuid, uuid, uuid, public.ai_feature, text, public.ai_call_status, integer[], numeric[],
                    numeric, integer, text, text, text, uuid),
  private.ai_admit(uuid, uuid, uuid, public.ai_feature, numeric, integer, text, text) to service_role;
"""

POLICIES = """
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
create policy ai_services_insert on public.ai_services for insert to authenticated
  with check ((select private.is_super_admin()));
create policy ai_services_update on public.ai_services for update to authenticated
  using ((select private.is_super_admin())) with check ((select private.is_super_admin()));
create policy ai_services_delete on public.ai_services for delete to authenticated
  using ((select private.is_super_admin()));

create policy ai_service_prices_select on public.ai_service_prices for select to authenticated
  using ((select private.is_super_admin())
         or service_id in (select s.id from public.ai_services s where s.enabled));
create policy ai_service_prices_insert on public.ai_service_prices for insert to authenticated
  with check ((select private.is_super_admin()));
create policy ai_service_prices_update on public.ai_service_prices for update to authenticated
  using ((select private.is_super_admin())) with check ((select private.is_super_admin()));
create policy ai_service_prices_delete on public.ai_service_prices for delete to authenticated
  using ((select private.is_super_admin()));

create policy ai_organization_settings_select on public.ai_organization_settings for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.member_org_ids()));
create policy ai_organization_settings_insert on public.ai_organization_settings for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy ai_organization_settings_update on public.ai_organization_settings for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy ai_organization_settings_delete on public.ai_organization_settings for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

create policy ai_usage_logs_select on public.ai_usage_logs for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id, user_id) in (select * from private.taught_student_keys())
         or (organization_id, user_id) in (select * from private.child_keys()));
create policy ai_usage_logs_feedback on public.ai_usage_logs for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy ai_daily_user_usage_select on public.ai_daily_user_usage for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id, user_id) in (select * from private.taught_student_keys())
         or (organization_id, user_id) in (select * from private.child_keys()));

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


@explicit_grants
def upgrade() -> None:
    op.execute(TABLES)
    for table in TOUCHED_TABLES:
        op.execute(
            f"create trigger {table}_touch before update on public.{table} "
            "for each row execute function private.touch_updated_at()"
        )
    op.execute(FUNCTIONS)
    op.execute(GATEWAY_FUNCTIONS)
    op.execute(SEED)
    op.execute(POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        """
        drop trigger organizations_ai_settings on public.organizations;
        drop table public.ai_budget_alerts, public.ai_rate_limits, public.ai_budget_reservations,
          public.ai_monthly_org_usage, public.ai_daily_user_usage, public.ai_usage_logs,
          public.ai_organization_settings, public.ai_service_prices, public.ai_services;
        drop function private.ai_admit(uuid, uuid, uuid, public.ai_feature, numeric, integer, text, text),
          private.ai_record(uuid, uuid, uuid, public.ai_feature, text, public.ai_call_status, integer[], numeric[],
                            numeric, integer, text, text, text, uuid),
          private.ai_window_start(text, text), private.ai_seconds_until_end(text, text);
        drop function private.create_ai_settings(), private.check_allowed_services(),
          private.ensure_ai_usage_partitions(date, integer), private.drop_ai_usage_partitions_before(timestamptz),
          private.taught_student_keys(), private.child_keys();
        drop type public.ai_call_status, public.ai_feature;
        """
    )
