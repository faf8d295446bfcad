
create function private.user_id_for_email(p_email text) returns uuid
  language sql stable security definer set search_path = ''
  as $$ select u.id from public.users u
        where lower(u.email) = lower(p_email)
          and (exists (select from public.memberships a where a.user_id = auth.uid() and a.role = 'org_admin')
               or exists (select from public.users s where s.id = auth.uid() and s.is_super_admin)) $$;

create function private.set_initial_password(p_user_id uuid, p_password_hash text) returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    if not (private.is_super_admin() or exists (
        select from public.memberships t
        join public.memberships a on a.organization_id = t.organization_id
        where t.user_id = p_user_id and a.user_id = auth.uid() and a.role = 'org_admin')) then
      raise exception 'only an org admin of one of this person''s organizations may set their first password'
        using errcode = '42501';
    end if;
    insert into public.credentials (user_id, password_hash) values (p_user_id, p_password_hash);
  exception when unique_violation then
    raise exception 'this person already has a password' using errcode = '23505';
  end $$;

create or replace function private.guard_user_columns() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if current_user <> 'authenticated' or private.is_super_admin() then
      return new;
    end if;
    if tg_op = 'INSERT' then
      if new.is_super_admin or new.disabled_at is not null then
        raise exception 'only a super admin may create super admins or disabled users'
          using errcode = '42501';
      end if;
    -- Everything but the display name and avatar (updated_at is the touch trigger's)
    -- stays as it was, including columns added later.
    elsif (to_jsonb(new) - 'display_name' - 'avatar_url' - 'updated_at') is distinct from
          (to_jsonb(old) - 'display_name' - 'avatar_url' - 'updated_at') then
      raise exception 'only a super admin may change email, super admin or disabled status, or anything but display name and avatar'
        using errcode = '42501';
    end if;
    return new;
  end $$;

create or replace function private.guard_resource_columns() returns trigger
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

