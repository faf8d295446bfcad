
create or replace function private.letter_grade(p_org uuid, p_percent numeric) returns text
  language sql stable security definer set search_path = ''
  as $$
    select coalesce(
      (select l.letter from public.grading_scale_levels l
       where l.organization_id = p_org and l.min_percent <= p_percent order by l.min_percent desc limit 1),
      (select d.letter from (values ('A', 90), ('B', 80), ('C', 70), ('D', 60), ('F', 0)) as d(letter, min_percent)
       where not exists (select from public.grading_scale_levels l where l.organization_id = p_org)
         and d.min_percent <= p_percent order by d.min_percent desc limit 1))
  $$;

create or replace function private.class_organization_id(p_class_id uuid) returns uuid
  language sql stable security definer set search_path = ''
  as $$ select c.organization_id from public.classes c where c.id = p_class_id $$;

create or replace function private.resource_matches(p_query tsquery) returns table (id uuid, rank real)
  language sql stable security definer set search_path = '' rows 20
  as $$
    select r.id, ts_rank(r.search, p_query) from public.resources r
    where r.search @@ p_query
      and ((select auth.role()) = 'service_role' or (select private.is_super_admin())
           or r.organization_id in (select private.member_org_ids()))
  $$;
