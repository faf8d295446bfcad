
-- A category may not become its own ancestor. Moves in one organization are
-- serialised, so two concurrent moves cannot build a cycle between them.
create function private.check_category_cycle() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.parent_id is null then
      return new;
    end if;
    perform pg_advisory_xact_lock(hashtextextended('resource_categories:' || new.organization_id::text, 0));
    if exists (
      with recursive up as (
        select c.id, c.parent_id from public.resource_categories c where c.id = new.parent_id
        union
        select c.id, c.parent_id from public.resource_categories c join up on c.id = up.parent_id
      ) select from up where up.id = new.id
    ) then
      raise exception 'moving category % under % would make a cycle', new.id, new.parent_id
        using errcode = '23514', constraint = 'resource_categories_no_cycle';
    end if;
    return new;
  end $$;
create trigger resource_categories_no_cycle before insert or update of parent_id on public.resource_categories
  for each row execute function private.check_category_cycle();

-- A category and everything below it, in one query.
create function private.category_subtree(p_root uuid) returns setof uuid
  language sql stable set search_path = ''
  as $$
    with recursive down as (
      select c.id from public.resource_categories c where c.id = p_root
      union
      select c.id from public.resource_categories c join down on c.parent_id = down.id
    ) select id from down
  $$;

-- Full-text matches in the caller's organizations, with their rank. With RLS on
-- resources the planner may not evaluate the non-leakproof @@ ahead of the policy,
-- so it would scan every row instead of using the GIN index; this function does
-- the indexed match, and only ids and ranks leave it: the join back to resources
-- applies the policy to every row shown.
-- The low row estimate is deliberate: it steers the join back to resources to a
-- nested loop over the primary key, where a hash join would scan the whole table.
create function private.resource_matches(p_query tsquery) returns table (id uuid, rank real)
  language sql stable security definer set search_path = '' rows 20
  as $$
    select r.id, ts_rank(r.search, p_query) from public.resources r
    where r.search @@ p_query
      and ((select auth.role()) = 'service_role' or (select private.is_super_admin())
           or r.organization_id in (select private.member_org_ids()))
  $$;

-- Authors change content; reviewer fields, the AI flag and the rating belong to
-- org admins, the server and the review trigger. Only they move a resource to
-- another organization (the update policy's author branch does not check the org).
create function private.guard_resource_columns() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if current_user <> 'authenticated' or private.is_super_admin()
       or new.organization_id in (select private.org_ids_with_role('org_admin')) then
      return new;
    end if;
    if tg_op = 'INSERT' then
      if new.reviewer_id is not null or new.review_note is not null or new.reviewed_at is not null
         or new.ai_generated or new.ai_usage_log_id is not null
         or new.rating_average is not null or new.rating_count <> 0 then
        raise exception 'review, AI and rating fields are set by org admins and the server' using errcode = '42501';
      end if;
    elsif (new.reviewer_id, new.review_note, new.reviewed_at, new.ai_generated, new.ai_usage_log_id,
           new.rating_average, new.rating_count, new.author_id, new.organization_id)
          is distinct from
          (old.reviewer_id, old.review_note, old.reviewed_at, old.ai_generated, old.ai_usage_log_id,
           old.rating_average, old.rating_count, old.author_id, old.organization_id) then
      raise exception 'review, AI, rating, author and organization fields are set by org admins and the server'
        using errcode = '42501';
    end if;
    return new;
  end $$;
create trigger resources_guard_columns before insert or update on public.resources
  for each row execute function private.guard_resource_columns();

-- The rating is recomputed from the reviews (not adjusted), under the resource's row lock.
create function private.refresh_resource_rating() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare target uuid := coalesce(new.resource_id, old.resource_id);
  begin
    update public.resources r set rating_average = s.average, rating_count = s.n
    from (select round(avg(v.rating), 2) as average, count(*)::integer as n
          from public.resource_reviews v where v.resource_id = target) s
    where r.id = target;
    if tg_op = 'UPDATE' and new.resource_id <> old.resource_id then
      raise exception 'a review cannot move to another resource' using errcode = '23514';
    end if;
    return null;
  end $$;
create trigger resource_reviews_rating after insert or update or delete on public.resource_reviews
  for each row execute function private.refresh_resource_rating();

-- Sessions the caller takes part in or hosts (for policies of sessions, participants, action items).
create function private.participating_session_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select p.session_id from public.meeting_participants p where p.user_id = auth.uid() $$;

create function private.hosted_session_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select s.id from public.meeting_sessions s where s.host_id = auth.uid() $$;

-- A participant records only their own join and leave; an assignee only state and progress.
-- Org admins and hosts change anything, but only of rows they manage both before and after:
-- judged on new alone, a participant or assignee who hosts some other session could move
-- the row into it and so change every column.
create function private.guard_meeting_self_service() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare allowed text[] := tg_argv;
  begin
    if current_user <> 'authenticated' or private.is_super_admin()
       or (old.organization_id in (select private.org_ids_with_role('org_admin'))
           and new.organization_id in (select private.org_ids_with_role('org_admin')))
       or (old.session_id in (select private.hosted_session_ids())
           and new.session_id in (select private.hosted_session_ids())) then
      return new;
    end if;
    if (to_jsonb(new) - allowed - 'updated_at') is distinct from (to_jsonb(old) - allowed - 'updated_at') then
      raise exception 'you may change only %', array_to_string(allowed, ', ') using errcode = '42501';
    end if;
    return new;
  end $$;
create trigger meeting_participants_self_service before update on public.meeting_participants
  for each row execute function private.guard_meeting_self_service('joined_at', 'left_at');
create trigger meeting_action_items_self_service before update on public.meeting_action_items
  for each row execute function private.guard_meeting_self_service('state', 'progress_percent');

