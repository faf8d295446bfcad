
-- The gateway's settlements commit without waiting for their WAL flush (private.ai_settle's
-- p_flush_later), so that the monthly row they update is not held locked (from every
-- admission of the organization) while the disk flushes; the gateway then waits for the flush
-- with a write of its own here, and only then tells the caller the call is settled. WAL
-- reaches the disk in order, so a crash that loses a settlement loses everything that saw it
-- too. A connection writes the row of its backend's process id modulo 1,024, so the table
-- stays small and connections rarely share a row (sharing one only makes them take turns).
create table private.ai_flush_marks (
  slot integer primary key check (slot between 0 and 1023),
  marked_at timestamptz not null
);
alter table private.ai_flush_marks enable row level security;
grant select, insert, update on private.ai_flush_marks to service_role;

-- Settles any number of finished calls in one statement and one commit: their usage rows,
-- their reservations released, the monthly and daily roll-ups and the budget alerts, set by
-- set. The gateway gathers the settlements that finish while one is being written, so under
-- load a commit (and its disk flush) serves many calls. Returns the usage row ids in the
-- order of p_calls. Roll-up rows are locked in key order, so settlements from several
-- server processes cannot deadlock on them. With p_flush_later the commit does not wait for
-- the disk: the caller then waits for it (private.ai_flush_marks above).
create type private.ai_settlement as (
  org uuid, "user" uuid, service uuid, feature public.ai_feature, request_id text, status public.ai_call_status,
  tokens integer[], prices numeric[], cost numeric, latency integer, error text, prompt text, response text,
  reservation uuid, log_id uuid,
  -- filled in from the organization
  month date, day date, store_prompts boolean, budget numeric, thresholds integer[]
);

create function private.ai_settle(p_calls jsonb, p_flush_later boolean default false) returns uuid[]
  language plpgsql volatile set search_path = ''
  as $$
  declare
    calls private.ai_settlement[];
  begin
    if p_flush_later then
      perform set_config('synchronous_commit', 'off', true);
    end if;
    select array_agg(row(c.org, c."user", c.service, c.feature, c.request_id, c.status, c.tokens, c.prices,
        c.cost, c.latency, c.error, c.prompt, c.response, c.reservation, coalesce(c.log_id, gen_random_uuid()),
        date_trunc('month', now() at time zone o.time_zone)::date, (now() at time zone o.time_zone)::date,
        s.store_prompts, s.monthly_budget_usd, s.alert_thresholds_percent)::private.ai_settlement order by c.ordinality)
      into calls
    from jsonb_populate_recordset(null::private.ai_settlement, p_calls) with ordinality as c
    join public.organizations o on o.id = c.org
    join public.ai_organization_settings s on s.organization_id = c.org;
    if cardinality(calls) is distinct from jsonb_array_length(p_calls) then
      raise exception 'a settlement names an organization without AI settings' using errcode = 'foreign_key_violation';
    end if;

    insert into public.ai_usage_logs (id, organization_id, user_id, service_id, feature, request_id, status,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
      input_usd_per_mtok, output_usd_per_mtok, cache_write_usd_per_mtok, cache_read_usd_per_mtok,
      cost_usd, latency_ms, upstream_error, prompt_text, response_text)
    select log_id, org, "user", service, feature, request_id, status,
      tokens[1], tokens[2], tokens[3], tokens[4], prices[1], prices[2], prices[3], prices[4],
      cost, latency, error, case when store_prompts then prompt end, case when store_prompts then response end
    from unnest(calls) with ordinality as c order by c.ordinality;

    -- The month a reservation holds is the month of its admission, which may be the last one.
    perform from public.ai_monthly_org_usage m
    where (m.organization_id, m.month) in (
        select org, month from unnest(calls)
        union select r.organization_id, r.month from public.ai_budget_reservations r
              where r.id in (select reservation from unnest(calls)))
    order by m.organization_id, m.month
    for update;
    with released as (
      delete from public.ai_budget_reservations r
      where r.id in (select reservation from unnest(calls))
      returning r.organization_id, r.month, r.amount_usd
    )
    update public.ai_monthly_org_usage m set reserved_usd = m.reserved_usd - x.amount
    from (select organization_id, month, sum(amount_usd) as amount from released group by 1, 2) x
    where m.organization_id = x.organization_id and m.month = x.month;

    insert into public.ai_monthly_org_usage as m (organization_id, month, requests, succeeded, input_tokens,
      output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, budget_usd)
    select org, month, count(*), count(*) filter (where status = 'succeeded'),
      sum(tokens[1]), sum(tokens[2]), sum(tokens[3]), sum(tokens[4]), sum(cost), min(budget)
    from unnest(calls) group by org, month order by org, month
    on conflict (organization_id, month) do update set
      requests = m.requests + excluded.requests, succeeded = m.succeeded + excluded.succeeded,
      input_tokens = m.input_tokens + excluded.input_tokens, output_tokens = m.output_tokens + excluded.output_tokens,
      cache_write_tokens = m.cache_write_tokens + excluded.cache_write_tokens,
      cache_read_tokens = m.cache_read_tokens + excluded.cache_read_tokens,
      cost_usd = m.cost_usd + excluded.cost_usd, budget_usd = excluded.budget_usd;

    insert into public.ai_daily_user_usage as d (organization_id, user_id, day, requests, succeeded,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd)
    select org, "user", day, count(*), count(*) filter (where status = 'succeeded'),
      sum(tokens[1]), sum(tokens[2]), sum(tokens[3]), sum(tokens[4]), sum(cost)
    from unnest(calls) group by org, "user", day order by org, "user", day
    on conflict (organization_id, user_id, day) do update set
      requests = d.requests + excluded.requests, succeeded = d.succeeded + excluded.succeeded,
      input_tokens = d.input_tokens + excluded.input_tokens, output_tokens = d.output_tokens + excluded.output_tokens,
      cache_write_tokens = d.cache_write_tokens + excluded.cache_write_tokens,
      cache_read_tokens = d.cache_read_tokens + excluded.cache_read_tokens,
      cost_usd = d.cost_usd + excluded.cost_usd;

    -- Each threshold once per month: the unique key turns repeats into no-ops.
    insert into public.ai_budget_alerts (organization_id, month, threshold_percent, spent_usd, budget_usd)
    select m.organization_id, m.month, t, m.cost_usd, m.budget_usd
    from (select distinct org, month, thresholds from unnest(calls) where cost > 0) c
    join public.ai_monthly_org_usage m on m.organization_id = c.org and m.month = c.month
    cross join unnest(c.thresholds) as t
    where m.budget_usd > 0 and m.cost_usd * 100 >= m.budget_usd * t
    order by m.organization_id, t
    on conflict (organization_id, month, threshold_percent) do nothing;

    return array(select log_id from unnest(calls) with ordinality as c order by c.ordinality);
  end $$;

-- One call's settlement, as the denials inside private.ai_admit and the demo's history write it.
create or replace function private.ai_record(
  p_org uuid, p_user uuid, p_service uuid, p_feature public.ai_feature, p_request_id text,
  p_status public.ai_call_status, p_tokens integer[], p_prices numeric[], p_cost numeric, p_latency_ms integer,
  p_error text, p_prompt text, p_response text, p_reservation uuid, p_log_id uuid default null
) returns uuid
  language sql volatile set search_path = ''
  as $$
    select (private.ai_settle(jsonb_build_array(jsonb_build_object(
      'org', p_org, 'user', p_user, 'service', p_service, 'feature', p_feature, 'request_id', p_request_id,
      'status', p_status, 'tokens', p_tokens, 'prices', p_prices, 'cost', p_cost, 'latency', p_latency_ms,
      'error', p_error, 'prompt', p_prompt, 'response', p_response, 'reservation', p_reservation,
      'log_id', p_log_id))))[1]
  $$;

-- Admit a call or deny it (a denial is recorded as a usage row). p_worst is the most the
-- call can cost; it is held against the month's budget until the call settles. The start
-- of each rate window is computed once per call, and a user's window rows are created by
-- their first call rather than tried again by every call.
create or replace function private.ai_admit(
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
    kinds text[] := array['day', 'hour', 'minute'];
    starts timestamptz[];
    w record;
    windows integer;
    m public.ai_monthly_org_usage;
    released numeric;
  begin
    select o.time_zone into tz from public.organizations o where o.id = p_org;
    select * into s from public.ai_organization_settings where organization_id = p_org;
    select array_agg(role) into member_roles from public.memberships
      where organization_id = p_org and user_id = p_user and ended_at is null;
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
      starts := array[private.ai_window_start('day', tz), private.ai_window_start('hour', tz),
                      private.ai_window_start('minute', tz)];
      loop
        windows := 0;
        for w in
          select r.window_kind, r.window_start = k.start as current, r.used,
                 case r.window_kind when 'minute' then s.rate_limit_per_minute when 'hour' then s.rate_limit_per_hour
                   else least(s.rate_limit_per_day, coalesce(s.daily_request_quota_per_user, s.rate_limit_per_day)) end
                   as allowed
          from public.ai_rate_limits r join unnest(kinds, starts) as k(kind, start) on k.kind = r.window_kind
          where r.organization_id = p_org and r.user_id = p_user
          order by r.window_kind
          for update of r
        loop
          windows := windows + 1;
          if w.current and w.used >= w.allowed then
            denial := 'per_' || w.window_kind;
            detail := format('rate limit of %s calls per %s reached', w.allowed, w.window_kind);
            retry_after := private.ai_seconds_until_end(w.window_kind, tz);
            exit;
          end if;
        end loop;
        exit when denial is not null or windows = cardinality(kinds);
        insert into public.ai_rate_limits (organization_id, user_id, window_kind, window_start, used)
        select p_org, p_user, k.kind, k.start, 0 from unnest(kinds, starts) as k(kind, start)
        on conflict (organization_id, user_id, window_kind) do nothing;
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
        set used = case when r.window_start = k.start then r.used + 1 else 1 end, window_start = k.start
        from unnest(kinds, starts) as k(kind, start)
        where r.organization_id = p_org and r.user_id = p_user and r.window_kind = k.kind;
        update public.ai_monthly_org_usage
        set reserved_usd = reserved_usd - released + p_worst, budget_usd = s.monthly_budget_usd
        where id = m.id;
        insert into public.ai_budget_reservations (organization_id, month, amount_usd, expires_at)
        values (p_org, m.month, p_worst, now() + make_interval(secs => p_ttl_seconds))
        returning id into reservation_id;
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
