
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

