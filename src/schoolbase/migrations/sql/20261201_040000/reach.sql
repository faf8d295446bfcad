-- The caller's reach, as every policy reads it, in PL/pgSQL: a PL/pgSQL function keeps the
-- plan of its query for the session, where PostgreSQL before 18 parses and plans the body of
-- a SQL function at every call, and a policy calls each of these once per statement and table
-- (a search reads two or more tables under the resources policy's condition). Same queries,
-- same results as revision 20261130_020000 made them.
create or replace function private.is_super_admin() returns boolean
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return coalesce((select u.is_super_admin from public.users u
                     where u.id = auth.uid() and u.disabled_at is null), false);
  end $$;

create or replace function private.member_org_ids() returns setof uuid
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query select distinct m.organization_id from public.memberships m
                 where m.user_id = auth.uid() and m.ended_at is null;
  end $$;

create or replace function private.org_ids_with_role(p_role public.membership_role) returns setof uuid
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query select m.organization_id from public.memberships m
                 where m.user_id = auth.uid() and m.role = p_role and m.ended_at is null;
  end $$;

create or replace function private.taught_class_ids() returns setof uuid
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query select e.class_id from public.enrollments e
                 where e.user_id = auth.uid() and e.role = 'teacher' and e.ended_at is null;
  end $$;

create or replace function private.enrolled_class_ids() returns setof uuid
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query select e.class_id from public.enrollments e
                 where e.user_id = auth.uid() and e.role = 'student' and e.ended_at is null;
  end $$;

create or replace function private.child_class_ids() returns setof uuid
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query select distinct e.class_id
                 from public.guardianships g
                 join public.enrollments e
                   on e.organization_id = g.organization_id and e.user_id = g.student_id and e.role = 'student'
                 where g.parent_id = auth.uid() and e.ended_at is null;
  end $$;
