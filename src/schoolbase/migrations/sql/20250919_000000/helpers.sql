
create function private.is_super_admin() returns boolean
  language sql stable security definer set search_path = ''
  as $$ select coalesce((select u.is_super_admin from public.users u
                         where u.id = auth.uid() and u.disabled_at is null), false) $$;

create function private.member_org_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct m.organization_id from public.memberships m where m.user_id = auth.uid() $$;

create function private.org_ids_with_role(p_role public.membership_role) returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id from public.memberships m where m.user_id = auth.uid() and m.role = p_role $$;

create function private.taught_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select e.class_id from public.enrollments e where e.user_id = auth.uid() and e.role = 'teacher' $$;

create function private.enrolled_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select e.class_id from public.enrollments e where e.user_id = auth.uid() and e.role = 'student' $$;

create function private.child_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select g.student_id from public.guardianships g where g.parent_id = auth.uid() $$;

create function private.child_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct e.class_id
        from public.guardianships g
        join public.enrollments e
          on e.organization_id = g.organization_id and e.user_id = g.student_id and e.role = 'student'
        where g.parent_id = auth.uid() $$;

create function private.taught_student_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct s.user_id
        from public.enrollments t
        join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
        where t.user_id = auth.uid() and t.role = 'teacher' $$;

-- Users other than oneself that ACCESS.md lets the caller read.
create function private.visible_user_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$
    select m.user_id from public.memberships m
      where m.organization_id in (select a.organization_id from public.memberships a
                                  where a.user_id = auth.uid() and a.role = 'org_admin')
    union
    select c.user_id from public.enrollments t
      join public.enrollments c on c.class_id = t.class_id
      where t.user_id = auth.uid() and t.role = 'teacher'
    union
    select g.parent_id from public.enrollments t
      join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
      join public.guardianships g on g.organization_id = s.organization_id and g.student_id = s.user_id
      where t.user_id = auth.uid() and t.role = 'teacher'
    union
    select g.student_id from public.guardianships g where g.parent_id = auth.uid()
    union
    select t.user_id from public.enrollments s
      join public.enrollments t on t.class_id = s.class_id and t.role = 'teacher'
      where s.user_id = auth.uid() and s.role = 'student'
  $$;

-- An org admin adding an existing person to their organization must find them
-- by email without being able to read other organizations' users.
create function private.user_id_for_email(p_email text) returns uuid
  language sql stable security definer set search_path = ''
  as $$ select u.id from public.users u
        where lower(u.email) = lower(p_email)
          and (exists (select from public.memberships a where a.user_id = auth.uid() and a.role = 'org_admin')
               or exists (select from public.users s where s.id = auth.uid() and s.is_super_admin)) $$;

-- An org admin gives a person they have just added a first password. Credentials
-- are written only by the server's own functions, and never over an existing one.
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

-- End users may change only their own display name and avatar; the super admin
-- and the server's own role may change anything.
create function private.guard_user_columns() returns trigger
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
create trigger users_guard_columns before insert or update on public.users
  for each row execute function private.guard_user_columns();

revoke all on all functions in schema private from public;
grant execute on all functions in schema private to authenticated, service_role;
