
-- The gateway's admission in one round trip: who calls (an active account and, for a
-- request, its sign-in session still open), which organization pays, the service and the
-- price in force, then private.ai_admit (feature and role, quotas, rate slots, the budget
-- reservation of the call's worst case). A refusal before the organization and the
-- service are known (problem) leaves no usage row; a denial leaves one.
create function private.ai_admit_call(
  p_user uuid, p_session uuid, p_org uuid, p_alias text, p_feature public.ai_feature,
  p_max_tokens integer, p_input_bound integer, p_ttl_seconds integer, p_request_id text, p_prompt text
) returns table (
  problem text, org_id uuid, svc_id uuid, svc_model_id text, svc_max_output integer, prices numeric[],
  keeps_prompts boolean, reservation_id uuid, denial text, detail text, retry_after integer
)
  language plpgsql volatile set search_path = ''
  as $$
  declare
    orgs uuid[];
    svc public.ai_services;
    price public.ai_service_prices;
  begin
    -- The admission commits without waiting for its WAL flush; the settlement (the usage row
    -- and its cost) waits for it. A PostgreSQL crash can lose the admissions of its last
    -- fraction of a second: the slots and reservations of calls then in flight, whose
    -- settlements the crash fails anyway, and the usage rows of denials made in it.
    perform set_config('synchronous_commit', 'off', true);
    if not exists (
        select from public.users u
        where u.id = p_user and u.disabled_at is null
          and (p_session is null or exists (
                select from server.sessions s
                where s.id = p_session and s.user_id = u.id and s.revoked_at is null and s.expires_at > now()))) then
      problem := 'signed_out';
      return next;
      return;
    end if;

    select array_agg(distinct m.organization_id order by m.organization_id) into orgs
    from public.memberships m
    join public.ai_organization_settings st on st.organization_id = m.organization_id
    where m.user_id = p_user and m.ended_at is null and (p_org is null or m.organization_id = p_org);
    if p_org is not null and orgs is null then
      problem := 'organization_not_found';
    elsif coalesce(cardinality(orgs), 0) <> 1 then
      problem := 'organization_required';
    end if;
    if problem is not null then
      return next;
      return;
    end if;
    org_id := orgs[1];

    select * into svc from public.ai_services s where s.alias = p_alias and s.enabled;
    if not found then
      problem := 'unknown_model';
      return next;
      return;
    end if;
    svc_id := svc.id;
    svc_model_id := svc.model_id;
    svc_max_output := svc.max_output_tokens;
    select * into price from public.ai_service_prices sp
    where sp.service_id = svc.id and sp.effective_from <= now()
    order by sp.effective_from desc limit 1;
    if p_max_tokens > svc.max_output_tokens then
      problem := 'max_tokens';
    elsif price.id is null then
      problem := 'no_price';
    end if;
    if problem is not null then
      return next;
      return;
    end if;
    prices := array[price.input_usd_per_mtok, price.output_usd_per_mtok,
                    price.cache_write_usd_per_mtok, price.cache_read_usd_per_mtok];
    select st.store_prompts into keeps_prompts from public.ai_organization_settings st where st.organization_id = org_id;

    -- The most the call can cost: every input token at the dearer of input and cache-write,
    -- every output token it may generate at the output rate.
    select a.reservation_id, a.denial, a.detail, a.retry_after into reservation_id, denial, detail, retry_after
    from private.ai_admit(org_id, p_user, svc.id, p_feature,
      (p_input_bound * greatest(price.input_usd_per_mtok, price.cache_write_usd_per_mtok)
       + p_max_tokens * price.output_usd_per_mtok) / 1000000,
      p_ttl_seconds, p_request_id, case when keeps_prompts then p_prompt end) a;
    return next;
  end $$;
