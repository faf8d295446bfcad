
-- The organization's scale, or the common A-F one when it has none; null unless the
-- caller may read that scale (a member or the super admin, as grading_scale_levels_select
-- says). The grade trigger calls this once per written grade and the gradebook once per
-- student: membership is read inline, because a nested helper function is planned anew on
-- every call and would cost several times the letter itself; the super admin's helper
-- comes last, so members never pay for it.
create or replace function private.letter_grade(p_org uuid, p_percent numeric) returns text
  language sql stable security definer set search_path = ''
  as $$
    select case when current_setting('role') not in ('anon', 'authenticated')
                  or exists (select from public.memberships m
                             where m.organization_id = p_org and m.user_id = (select auth.uid()))
                  or (select private.is_super_admin())
           then coalesce(
      (select l.letter from public.grading_scale_levels l
       where l.organization_id = p_org and l.min_percent <= p_percent order by l.min_percent desc limit 1),
      (select d.letter from (values ('A', 90), ('B', 80), ('C', 70), ('D', 60), ('F', 0)) as d(letter, min_percent)
       where not exists (select from public.grading_scale_levels l where l.organization_id = p_org)
         and d.min_percent <= p_percent order by d.min_percent desc limit 1)) end
  $$;

-- The organization of a class (an id, no row data), so the gradebook can use the
-- (organization_id, class_id, ...) indexes. It runs as the caller: the classes policy
-- decides, and a class the caller may not see has no organization (null). The gradebook
-- calls it once per statement.
create or replace function private.class_organization_id(p_class_id uuid) returns uuid
  language sql stable set search_path = ''
  as $$ select c.organization_id from public.classes c where c.id = p_class_id $$;

-- Full-text matches the caller may read, with their rank. With RLS on resources the
-- planner may not evaluate the non-leakproof @@ ahead of the policy, so it would scan
-- every row instead of using the GIN index; this function does the indexed match and
-- applies the condition of the resources_select policy itself (keep the two alike:
-- tests/resources/test_search_leaks.py compares them for every kind of person), so no
-- id leaves it that the caller could not read. The join back to resources applies the
-- policy once more to every row shown.
-- The low row estimate is deliberate: it steers the join back to resources to a
-- nested loop over the primary key, where a hash join would scan the whole table.
create or replace function private.resource_matches(p_query tsquery) returns table (id uuid, rank real)
  language sql stable security definer set search_path = '' rows 20
  as $$
    select r.id, ts_rank(r.search, p_query) from public.resources r
    where r.search @@ p_query
      and ((select current_setting('role') not in ('anon', 'authenticated'))
           or (select private.is_super_admin())
           or r.organization_id in (select private.org_ids_with_role('org_admin'))
           or (r.author_id = (select auth.uid()) and r.state <> 'archived'
               and r.organization_id in (select private.member_org_ids()))
           or (r.state = 'approved' and r.organization_id in (select private.member_org_ids())
               and (r.class_id is null
                    or r.class_id in (select private.taught_class_ids())
                    or r.class_id in (select private.enrolled_class_ids())
                    or r.class_id in (select private.child_class_ids()))))
  $$;

-- Already so; said here because these are the functions this revision is about.
revoke all on function private.letter_grade(uuid, numeric), private.class_organization_id(uuid),
  private.resource_matches(tsquery) from public, anon;
