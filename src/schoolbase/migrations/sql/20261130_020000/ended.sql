-- An ended membership or enrollment (a roster delta removed it) keeps its row, so the
-- person's submissions and grades stay; it no longer gives any reach.
create or replace function private.member_org_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct m.organization_id from public.memberships m where m.user_id = auth.uid() and m.ended_at is null $$;

create or replace function private.org_ids_with_role(p_role public.membership_role) returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id from public.memberships m
        where m.user_id = auth.uid() and m.role = p_role and m.ended_at is null $$;

create or replace function private.taught_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select e.class_id from public.enrollments e
        where e.user_id = auth.uid() and e.role = 'teacher' and e.ended_at is null $$;

create or replace function private.enrolled_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select e.class_id from public.enrollments e
        where e.user_id = auth.uid() and e.role = 'student' and e.ended_at is null $$;

create or replace function private.child_class_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct e.class_id
        from public.guardianships g
        join public.enrollments e
          on e.organization_id = g.organization_id and e.user_id = g.student_id and e.role = 'student'
        where g.parent_id = auth.uid() and e.ended_at is null $$;

create or replace function private.taught_student_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select distinct s.user_id
        from public.enrollments t
        join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
        where t.user_id = auth.uid() and t.role = 'teacher' and t.ended_at is null $$;

create or replace function private.taught_student_keys() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select distinct s.organization_id, s.user_id
        from public.enrollments t
        join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
        where t.user_id = auth.uid() and t.role = 'teacher' and t.ended_at is null $$;
