"""Resource portal and meetings: categories (a hierarchy), resources with search and an
approval workflow, reviews with a rating kept by a trigger; meeting rooms, sessions
that cannot overlap in a room, participants with attendance, action items.

Revision ID: 20250922_164000
Revises: 20250920_163900
Create Date: 2025-09-22 16:40:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants

revision = "20250922_164000"
down_revision = "20250920_163900"
branch_labels = None
depends_on = None

TABLES = """
-- Extensions live outside public (as on Supabase, where the schema already exists).
do $$
begin
  if to_regnamespace('extensions') is null then
    create schema extensions;
    comment on schema extensions is 'schoolbase';
  end if;
end
$$;
grant usage on schema extensions to authenticated, service_role;
create extension if not exists btree_gist with schema extensions;

create type public.resource_type as enum ('video', 'document', 'interactive_activity', 'link', 'worksheet', 'quiz');
create type public.resource_state as enum ('draft', 'pending_review', 'approved', 'rejected', 'archived');
create type public.meeting_state as enum ('scheduled', 'live', 'ended', 'cancelled');
create type public.action_item_state as enum ('open', 'in_progress', 'done');

create table public.resource_categories (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  parent_id uuid,
  name text not null check (length(btrim(name)) between 1 and 200),
  description text check (length(description) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique nulls not distinct (organization_id, parent_id, name),
  check (parent_id <> id),
  foreign key (organization_id, parent_id) references public.resource_categories (organization_id, id)
);
create index resource_categories_parent_idx on public.resource_categories (organization_id, parent_id);

create function private.resource_search_vector(p_title text, p_description text, p_tags text[]) returns tsvector
  language sql immutable set search_path = ''
  as $$
    select setweight(to_tsvector('english'::regconfig, p_title), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(array_to_string(p_tags, ' '), '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(p_description, '')), 'B')
  $$;

create table public.resources (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  title text not null check (length(btrim(title)) between 1 and 300),
  description text check (length(description) <= 10000),
  type public.resource_type not null,
  url text check (url ~ '^https?://' and length(url) <= 2000),
  body text check (length(body) <= 200000),
  file_path text check (length(file_path) <= 500),
  file_content_type text,
  file_size bigint check (file_size >= 0),
  subject text check (length(subject) <= 200),
  grade_levels text[] not null default '{}',
  tags text[] not null default '{}' check (cardinality(tags) <= 50),
  category_id uuid,
  class_id uuid,
  state public.resource_state not null default 'draft',
  author_id uuid not null references public.users (id),
  reviewer_id uuid references public.users (id),
  review_note text check (length(review_note) <= 2000),
  reviewed_at timestamptz,
  ai_generated boolean not null default false,
  ai_usage_log_id uuid,
  rating_average numeric(3, 2) check (rating_average between 1 and 5),
  rating_count integer not null default 0 check (rating_count >= 0),
  search tsvector generated always as (private.resource_search_vector(title, description, tags)) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  check (url is not null or body is not null or file_path is not null),
  check ((file_path is null) = (file_content_type is null)),
  foreign key (organization_id, category_id) references public.resource_categories (organization_id, id),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade
);
create index resources_search_idx on public.resources using gin (search);
create index resources_org_state_idx on public.resources (organization_id, state, type);
create index resources_category_idx on public.resources (organization_id, category_id);
create index resources_class_idx on public.resources (organization_id, class_id);
create index resources_author_idx on public.resources (author_id);
create index resources_reviewer_idx on public.resources (reviewer_id);
create index resources_grade_levels_idx on public.resources using gin (grade_levels);

create table public.resource_reviews (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  resource_id uuid not null,
  user_id uuid not null references public.users (id) on delete cascade,
  rating smallint not null check (rating between 1 and 5),
  comment text check (length(comment) <= 5000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, resource_id, user_id),
  foreign key (organization_id, resource_id) references public.resources (organization_id, id) on delete cascade
);
create index resource_reviews_user_idx on public.resource_reviews (user_id);

create table public.meeting_rooms (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  capacity integer check (capacity > 0),
  join_url text check (join_url ~ '^https?://' and length(join_url) <= 2000),
  provider_settings jsonb not null default '{}' check (jsonb_typeof(provider_settings) = 'object'),
  owner_id uuid not null references public.users (id),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, name)
);
create index meeting_rooms_owner_idx on public.meeting_rooms (owner_id);

create table public.meeting_sessions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  room_id uuid not null,
  title text not null check (length(btrim(title)) between 1 and 300),
  class_id uuid,
  host_id uuid not null references public.users (id),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  state public.meeting_state not null default 'scheduled',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  check (ends_at > starts_at),
  foreign key (organization_id, room_id) references public.meeting_rooms (organization_id, id) on delete cascade,
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete set null (class_id),
  constraint meeting_sessions_no_overlap exclude using gist
    (room_id with =, tstzrange(starts_at, ends_at, '[)') with &&) where (state <> 'cancelled')
);
create index meeting_sessions_room_idx on public.meeting_sessions (organization_id, room_id, starts_at);
create index meeting_sessions_class_idx on public.meeting_sessions (organization_id, class_id);
create index meeting_sessions_host_idx on public.meeting_sessions (host_id);

create table public.meeting_participants (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  session_id uuid not null,
  user_id uuid not null references public.users (id) on delete cascade,
  joined_at timestamptz,
  left_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, session_id, user_id),
  check (left_at is null or (joined_at is not null and left_at >= joined_at)),
  foreign key (organization_id, session_id) references public.meeting_sessions (organization_id, id) on delete cascade
);
create index meeting_participants_user_idx on public.meeting_participants (user_id, session_id);

create table public.meeting_action_items (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  session_id uuid not null,
  title text not null check (length(btrim(title)) between 1 and 300),
  description text check (length(description) <= 5000),
  assignee_id uuid references public.users (id),
  due_date date,
  state public.action_item_state not null default 'open',
  progress_percent smallint not null default 0 check (progress_percent between 0 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  check (state <> 'done' or progress_percent = 100),
  foreign key (organization_id, session_id) references public.meeting_sessions (organization_id, id) on delete cascade
);
create index meeting_action_items_session_idx on public.meeting_action_items (organization_id, session_id);
create index meeting_action_items_assignee_idx on public.meeting_action_items (assignee_id, state);
"""

TOUCHED_TABLES = (
    "resource_categories",
    "resources",
    "resource_reviews",
    "meeting_rooms",
    "meeting_sessions",
    "meeting_participants",
    "meeting_action_items",
)

FUNCTIONS = """
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

-- Granted one by one: a blanket grant would reopen functions earlier revisions closed.
do $$
declare f regprocedure;
begin
  foreach f in array array[
    'private.resource_search_vector(text, text, text[])', 'private.check_category_cycle()',
    'private.category_subtree(uuid)', 'private.resource_matches(tsquery)', 'private.guard_resource_columns()', 'private.refresh_resource_rating()',
    'private.participating_session_ids()', 'private.hosted_session_ids()', 'private.guard_meeting_self_service()'
  ]::regprocedure[] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to authenticated, service_role', f);
  end loop;
end
$$;
"""

POLICIES = """
grant select, insert, update, delete on public.resource_categories, public.resources, public.resource_reviews,
  public.meeting_rooms, public.meeting_sessions, public.meeting_participants, public.meeting_action_items
  to authenticated, service_role;

alter table public.resource_categories enable row level security;
alter table public.resources enable row level security;
alter table public.resource_reviews enable row level security;
alter table public.meeting_rooms enable row level security;
alter table public.meeting_sessions enable row level security;
alter table public.meeting_participants enable row level security;
alter table public.meeting_action_items enable row level security;

create policy resource_categories_select on public.resource_categories for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.member_org_ids()));
create policy resource_categories_insert on public.resource_categories for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy resource_categories_update on public.resource_categories for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy resource_categories_delete on public.resource_categories for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

create policy resources_select on public.resources for select to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (author_id = (select auth.uid()) and state <> 'archived'
             and organization_id in (select private.member_org_ids()))
         or (state = 'approved' and organization_id in (select private.member_org_ids())
             and (class_id is null
                  or class_id in (select private.taught_class_ids())
                  or class_id in (select private.enrolled_class_ids())
                  or class_id in (select private.child_class_ids()))));
create policy resources_insert on public.resources for insert to authenticated
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.org_ids_with_role('teacher'))
                  and author_id = (select auth.uid()) and state in ('draft', 'pending_review')
                  and (class_id is null or class_id in (select private.taught_class_ids()))));
create policy resources_update on public.resources for update to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (author_id = (select auth.uid()) and state in ('draft', 'pending_review')
             and organization_id in (select private.member_org_ids())))
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (author_id = (select auth.uid()) and state in ('draft', 'pending_review')
                  and organization_id in (select private.member_org_ids())
                  and (class_id is null or class_id in (select private.taught_class_ids()))));
create policy resources_delete on public.resources for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

-- Reviews: readable with their resource (the sub-select runs under the resources policy).
create policy resource_reviews_select on public.resource_reviews for select to authenticated
  using (resource_id in (select r.id from public.resources r));
create policy resource_reviews_insert on public.resource_reviews for insert to authenticated
  with check (user_id = (select auth.uid())
              and resource_id in (select r.id from public.resources r where r.state = 'approved'));
create policy resource_reviews_update on public.resource_reviews for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid())
              and resource_id in (select r.id from public.resources r where r.state = 'approved'));
create policy resource_reviews_delete on public.resource_reviews for delete to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin')));

create policy meeting_rooms_select on public.meeting_rooms for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.member_org_ids()));
create policy meeting_rooms_insert on public.meeting_rooms for insert to authenticated
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.org_ids_with_role('teacher')) and owner_id = (select auth.uid())));
create policy meeting_rooms_update on public.meeting_rooms for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (owner_id = (select auth.uid()) and organization_id in (select private.member_org_ids())))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (owner_id = (select auth.uid()) and organization_id in (select private.member_org_ids())));
create policy meeting_rooms_delete on public.meeting_rooms for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (owner_id = (select auth.uid()) and organization_id in (select private.member_org_ids())));

-- The host, participants and assignees act only in an organization they belong to: a
-- person of another organization named in such a column is X there and gets nothing.
-- A teacher hosts a session without a class or for a class they teach.
create policy meeting_sessions_select on public.meeting_sessions for select to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (host_id = (select auth.uid())
                  or id in (select private.participating_session_ids())
                  or class_id in (select private.taught_class_ids()))));
create policy meeting_sessions_insert on public.meeting_sessions for insert to authenticated
  with check ((select private.is_super_admin())
              or (host_id = (select auth.uid())
                  and (organization_id in (select private.org_ids_with_role('org_admin'))
                       or (organization_id in (select private.org_ids_with_role('teacher'))
                           and (class_id is null or class_id in (select private.taught_class_ids()))))));
create policy meeting_sessions_update on public.meeting_sessions for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (host_id = (select auth.uid()) and organization_id in (select private.member_org_ids())))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (host_id = (select auth.uid()) and organization_id in (select private.member_org_ids())
                  and (class_id is null or class_id in (select private.taught_class_ids()))));
create policy meeting_sessions_delete on public.meeting_sessions for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (host_id = (select auth.uid()) and organization_id in (select private.member_org_ids())));

create policy meeting_participants_select on public.meeting_participants for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids())
                  or user_id = (select auth.uid()))));
create policy meeting_participants_insert on public.meeting_participants for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.member_org_ids())
                  and session_id in (select private.hosted_session_ids())));
create policy meeting_participants_update on public.meeting_participants for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids()) or user_id = (select auth.uid()))))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.member_org_ids())
                  and (session_id in (select private.hosted_session_ids()) or user_id = (select auth.uid()))));
create policy meeting_participants_delete on public.meeting_participants for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and session_id in (select private.hosted_session_ids())));

create policy meeting_action_items_select on public.meeting_action_items for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids())
                  or session_id in (select private.participating_session_ids())
                  or assignee_id = (select auth.uid()))));
create policy meeting_action_items_insert on public.meeting_action_items for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.member_org_ids())
                  and session_id in (select private.hosted_session_ids())));
create policy meeting_action_items_update on public.meeting_action_items for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids()) or assignee_id = (select auth.uid()))))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or (organization_id in (select private.member_org_ids())
                  and (session_id in (select private.hosted_session_ids()) or assignee_id = (select auth.uid()))));
create policy meeting_action_items_delete on public.meeting_action_items for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and session_id in (select private.hosted_session_ids())));
"""


@explicit_grants
def upgrade() -> None:
    op.execute(TABLES)
    for table in TOUCHED_TABLES:
        op.execute(
            f"create trigger {table}_touch before update on public.{table} "
            "for each row execute function private.touch_updated_at()"
        )
    op.execute(FUNCTIONS)
    op.execute(POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        """
        drop table public.meeting_action_items, public.meeting_participants, public.meeting_sessions,
          public.meeting_rooms, public.resource_reviews, public.resources, public.resource_categories;
        drop function private.check_category_cycle(), private.category_subtree(uuid), private.resource_matches(tsquery),
          private.guard_resource_columns(), private.refresh_resource_rating(),
          private.participating_session_ids(), private.hosted_session_ids(),
          private.guard_meeting_self_service(), private.resource_search_vector(text, text, text[]);
        drop type public.action_item_state, public.meeting_state, public.resource_state, public.resource_type;
        """
    )
    op.execute(
        """
        do $$
        begin
          -- Only what this revision created: on Supabase both were there before.
          if obj_description('extensions'::regnamespace, 'pg_namespace') = 'schoolbase' then
            drop extension if exists btree_gist;
            revoke all on schema extensions from authenticated, service_role;
            drop schema extensions;
          end if;
        end
        $$;
        """
    )
