"""Functions end users may execute check that the caller may see what they are asked about.

- ``private.letter_grade(org, percent)`` answers only for an organization the caller is a
  member of (the grading scale is read by M); it gave any signed-in user another
  organization's scale.
- ``private.class_organization_id(class)`` runs as the caller, so the classes policy
  decides; it gave the organization of any class.
- ``private.resource_matches(query)`` returns only the resources the caller may read under
  the resources select policy; it returned every match in the caller's organizations,
  drafts and other people's pending or rejected work included.

Revision ID: 20261129_165000
Revises: 20250925_120000
Create Date: 2026-11-29 16:50:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants

revision = "20261129_165000"
down_revision = "20250925_120000"
branch_labels = None
depends_on = None

# Only the end-user roles are restricted: the server (service_role, which bypasses
# row-level security anyway) and the owner (the grade trigger, maintenance) compute any
# organization's letters and see every resource, as their own reads of the tables would.
# The role setting, not the JWT's role claim: it is what PostgreSQL itself enforces, and
# a security definer function leaves it as the caller set it.
CHECKED = """
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
"""

# The definitions of 20250924_163800 and 20250922_164000, character for character.
PREVIOUS = """
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
"""


@explicit_grants
def upgrade() -> None:
    op.execute(CHECKED)


@explicit_grants
def downgrade() -> None:
    op.execute(PREVIOUS)
