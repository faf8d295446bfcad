"""Grade integrity, resubmitting rejected resources, attendance over presence intervals.

- An assignment's points possible are fixed once it has a grade (any state): a grade keeps
  the points it was given against, so changing them afterwards made the gradebook cell and
  the course percentage disagree (a grade could read 250 %). The trigger
  ``assignments_points_fixed_once_graded`` refuses the change from every writer (23514); the
  API checks first and answers 409 ``points-locked``. Removing the grades unlocks them.
- ``grade_history`` gets one row per change: the writes one edit makes to a grade in a
  transaction (the grade itself, then the rubric scores' sum, removed scores, the AI
  suggestion's points) fold into the transaction's first row for that grade, which keeps
  the true before (``old_row``) and takes the final after (``new_row``). A grade inserted and
  deleted in the same transaction leaves none.
- A rejected resource can be revised by its author and submitted again (rejected →
  pending_review); the review (note, reviewer, time) stays, visible to the author, until the
  next decision replaces it. Nobody but an org admin moves a resource into ``rejected``.
- ``meeting_participants.away`` holds the gaps between a leave and the next join, so
  attendance counts only the time between each join and its leave; a participant records
  it with their join (the self-service guard lets them change it).

Revision ID: 20261129_200000
Revises: 20261129_190000
Create Date: 2026-11-29 20:00:00
"""

from schoolbase.migrations.helpers import function_statement, sql_step

revision = "20261129_200000"
down_revision = "20261129_190000"
branch_labels = None
depends_on = None


def resources_update_policy(author_states: str) -> str:
    """``resources_update``: org admins change any resource, its author one in ``author_states``."""
    return f"""alter policy resources_update on public.resources
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (author_id = (select auth.uid()) and state in ({author_states})
             and organization_id in (select private.member_org_ids())))
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (author_id = (select auth.uid()) and state in ({author_states})
                  and organization_id in (select private.member_org_ids())
                  and (class_id is null or class_id in (select private.taught_class_ids()))));
"""


UPGRADE = (
    """
create function private.points_fixed_once_graded() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if new.points_possible is distinct from old.points_possible and exists (
        select from public.assignment_grades g
        where g.organization_id = old.organization_id and g.class_id = old.class_id and g.assignment_id = old.id) then
      raise exception 'assignment "%" already has grades, so its points possible (%) cannot change; remove its grades first',
        old.title, old.points_possible using errcode = '23514', constraint = 'assignments_points_fixed_once_graded';
    end if;
    return new;
  end $$;
revoke all on function private.points_fixed_once_graded() from public;
grant execute on function private.points_fixed_once_graded() to authenticated, service_role;
create trigger assignments_points_fixed_once_graded before update of points_possible on public.assignments
  for each row execute function private.points_fixed_once_graded();

create or replace function private.record_grade_history() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    org uuid := coalesce(new.organization_id, old.organization_id);
    target uuid := coalesce(new.id, old.id);
    earlier public.grade_history;
  begin
    -- A grade deleted along with its whole organization leaves no history (there is no
    -- organization left to keep it for, and the foreign key would refuse the row).
    if tg_op = 'DELETE' and not exists (select from public.organizations o where o.id = old.organization_id) then
      return null;
    end if;
    -- One row per change: a later write of the same grade in the same transaction (now() is
    -- the transaction's start) folds into the first one's row, keeping its true before.
    select * into earlier from public.grade_history h
    where h.organization_id = org and h.grade_id = target and h.changed_at = now()
      and h.changed_by is not distinct from auth.uid()
    order by h.created_at desc, h.id desc limit 1
    for update;
    if earlier.id is null then
      insert into public.grade_history (organization_id, class_id, grade_id, operation, changed_by, old_row, new_row)
      values (org, coalesce(new.class_id, old.class_id), target, tg_op, auth.uid(),
              case when tg_op <> 'INSERT' then to_jsonb(old) end, case when tg_op <> 'DELETE' then to_jsonb(new) end);
    elsif earlier.operation = 'INSERT' and tg_op = 'DELETE' then
      delete from public.grade_history h where h.id = earlier.id;
    else
      update public.grade_history h
      set operation = case when earlier.operation = 'INSERT' then 'INSERT' else tg_op end,
          new_row = case when tg_op <> 'DELETE' then to_jsonb(new) end
      where h.id = earlier.id;
    end if;
    return null;
  end $$;

"""
    + resources_update_policy("'draft', 'pending_review', 'rejected'")
    + """
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
    elsif new.state = 'rejected' and old.state <> 'rejected' then
      raise exception 'only an org admin rejects a resource' using errcode = '42501';
    elsif old.state = 'rejected' and new.state not in ('rejected', 'pending_review') then
      raise exception 'a rejected resource is revised and submitted for review again' using errcode = '42501';
    end if;
    return new;
  end $$;

alter table public.meeting_participants add column away tstzmultirange not null default '{}';
drop trigger meeting_participants_self_service on public.meeting_participants;
create trigger meeting_participants_self_service before update on public.meeting_participants
  for each row execute function private.guard_meeting_self_service('joined_at', 'left_at', 'away');
"""
)

# 20261129_170000's guard and 20250924_163800's history trigger, character for character.
DOWNGRADE = f"""
drop trigger meeting_participants_self_service on public.meeting_participants;
create trigger meeting_participants_self_service before update on public.meeting_participants
  for each row execute function private.guard_meeting_self_service('joined_at', 'left_at');
alter table public.meeting_participants drop column away;

{function_statement("20261129_170000", "functions", "private.guard_resource_columns")}
{resources_update_policy("'draft', 'pending_review'")}
{function_statement("20250924_163800", "functions", "private.record_grade_history", or_replace=True)}
drop trigger assignments_points_fixed_once_graded on public.assignments;
drop function private.points_fixed_once_graded();
"""


upgrade = sql_step(UPGRADE)
downgrade = sql_step(DOWNGRADE)
