
-- The request's one check before anything else: the account is active and the
-- token's session has not ended (logout, password change, reset).
create function private.session_is_active() returns boolean
  language sql stable security definer set search_path = ''
  as $$ select exists (
          select from public.users u join server.sessions s on s.user_id = u.id
          where u.id = auth.uid() and u.disabled_at is null
            and s.id = nullif(auth.jwt() ->> 'sid', '')::uuid
            and s.revoked_at is null and s.expires_at > now()) $$;

create function private.admin_org_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id from public.memberships m where m.user_id = auth.uid() and m.role = 'org_admin' $$;

-- People an org admin already reaches in each of their organizations: its members
-- and the accounts it manages. Nobody else can be given a membership by them.
create function private.admin_org_people() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id, m.user_id from public.memberships m
        where m.organization_id in (select private.admin_org_ids())
        union
        select u.managed_by_organization_id, u.id from public.users u
        where u.managed_by_organization_id in (select private.admin_org_ids()) $$;

-- An org admin sets the password of an account their organization manages (or a super
-- admin of any); it must be changed at the next sign-in, and every session ends.
-- A super admin's account is nobody's to manage, whatever its address.
create function private.set_managed_password(p_user_id uuid, p_password_hash text) returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    if not (private.is_super_admin() or exists (
        select from public.users u where u.id = p_user_id and not u.is_super_admin
          and u.managed_by_organization_id in (select private.admin_org_ids()))) then
      raise exception 'only an org admin of the organization that manages this account may set its password'
        using errcode = '42501';
    end if;
    insert into server.credentials (user_id, password_hash, must_change) values (p_user_id, p_password_hash, true)
      on conflict (user_id) do update set password_hash = excluded.password_hash, must_change = true;
    update server.sessions set revoked_at = now() where user_id = p_user_id and revoked_at is null;
  end $$;

-- End users change their own display name and avatar. An org admin changes the name,
-- username and disabled state of accounts their organization manages. The super admin
-- and the server's own role may change anything.
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
    elsif old.id = auth.uid() then
      -- Everything but the display name and avatar (updated_at is the touch trigger's)
      -- stays as it was, including columns added later.
      if (to_jsonb(new) - 'display_name' - 'avatar_url' - 'updated_at') is distinct from
         (to_jsonb(old) - 'display_name' - 'avatar_url' - 'updated_at') then
        raise exception 'you may change only your display name and avatar' using errcode = '42501';
      end if;
    elsif (to_jsonb(new) - 'display_name' - 'username' - 'disabled_at' - 'updated_at') is distinct from
          (to_jsonb(old) - 'display_name' - 'username' - 'disabled_at' - 'updated_at') then
      raise exception 'an org admin may change only the name, username and disabled state of a managed account'
        using errcode = '42501';
    end if;
    return new;
  end $$;

-- A request's role may not become service_role any more, so an author stamps their own
-- AI-made resource: only with a successful resource-generation call of their own that no
-- other resource carries (the AI generation flow inserts it so, in one statement).
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
         or new.ai_generated <> (new.ai_usage_log_id is not null)
         or new.rating_average is not null or new.rating_count <> 0 then
        raise exception 'review, AI and rating fields are set by org admins and the server' using errcode = '42501';
      end if;
      if new.ai_usage_log_id is not null and not (
          exists (select from public.ai_usage_logs l where l.id = new.ai_usage_log_id and l.user_id = auth.uid()
                    and l.organization_id = new.organization_id and l.feature = 'resource_generation'
                    and l.status = 'succeeded')
          and not exists (select from public.resources r where r.ai_usage_log_id = new.ai_usage_log_id)) then
        raise exception 'an AI-made resource carries a generation call of its author''s own, once'
          using errcode = '42501';
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

