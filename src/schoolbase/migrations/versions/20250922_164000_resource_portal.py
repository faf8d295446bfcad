"""Resource portal and meetings: categories (a hierarchy), resources with search and an
approval workflow, reviews with a rating kept by a trigger; meeting rooms, sessions
that cannot overlap in a room, participants with attendance, action items.

Revision ID: 20250922_164000
Revises: 20250920_163900
Create Date: 2025-09-22 16:40:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants
from schoolbase.migrations.helpers import (
    ORG_ADMIN_WRITE,
    drop_functions,
    execute_only_one_by_one,
    sql_file,
    sql_step,
    tenant_policies,
    touch_triggers,
)

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

RESOURCE_FUNCTIONS = (
    "private.resource_search_vector(text, text, text[])",
    "private.check_category_cycle()",
    "private.category_subtree(uuid)",
    "private.resource_matches(tsquery)",
    "private.guard_resource_columns()",
    "private.refresh_resource_rating()",
    "private.participating_session_ids()",
    "private.hosted_session_ids()",
    "private.guard_meeting_self_service()",
)
# Granted one by one: a blanket grant would reopen functions earlier revisions closed.
FUNCTIONS = sql_file(revision, "functions") + execute_only_one_by_one(RESOURCE_FUNCTIONS, "authenticated, service_role")


def hosted_writes(table: str, own: str) -> str:
    """Org admins, and members who host the row's session, write ``table``; the member the
    row's ``own`` column names updates it too (the self-service trigger limits the columns)."""
    return f"""create policy {table}_insert on public.{table} for insert to authenticated
  with check ({ORG_ADMIN_WRITE}
              or (organization_id in (select private.member_org_ids())
                  and session_id in (select private.hosted_session_ids())));
create policy {table}_update on public.{table} for update to authenticated
  using ({ORG_ADMIN_WRITE}
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids()) or {own} = (select auth.uid()))))
  with check ({ORG_ADMIN_WRITE}
              or (organization_id in (select private.member_org_ids())
                  and (session_id in (select private.hosted_session_ids()) or {own} = (select auth.uid()))));
create policy {table}_delete on public.{table} for delete to authenticated
  using ({ORG_ADMIN_WRITE}
         or (organization_id in (select private.member_org_ids())
             and session_id in (select private.hosted_session_ids())));
"""


POLICIES = (
    """
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

"""
    + tenant_policies("resource_categories")
    + """
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
"""
    + hosted_writes("meeting_participants", "user_id")
    + """
create policy meeting_action_items_select on public.meeting_action_items for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or (organization_id in (select private.member_org_ids())
             and (session_id in (select private.hosted_session_ids())
                  or session_id in (select private.participating_session_ids())
                  or assignee_id = (select auth.uid()))));
"""
    + hosted_writes("meeting_action_items", "assignee_id")
)


upgrade = sql_step(TABLES, *touch_triggers(TOUCHED_TABLES), FUNCTIONS, POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        f"""
        drop table public.meeting_action_items, public.meeting_participants, public.meeting_sessions,
          public.meeting_rooms, public.resource_reviews, public.resources, public.resource_categories;
        {drop_functions(RESOURCE_FUNCTIONS)}
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
