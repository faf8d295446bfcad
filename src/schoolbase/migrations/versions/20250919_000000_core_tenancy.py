"""Core tenancy: roles, auth helpers, organizations, users, credentials, memberships,
classes, enrollments, guardianships, and their row-level security.

Revision ID: 20250919_000000
Revises:
Create Date: 2025-09-19 00:00:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants
from schoolbase.migrations.helpers import org_admin_writes, sql_file, sql_step, touch_triggers

revision = "20250919_000000"
down_revision = None
branch_labels = None
depends_on = None

# Roles are cluster-wide and may already exist (Supabase, a second database on
# the same server), so they are created only where absent and never dropped.
ROLES = """
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;
do $$
begin
  -- Requests' login role becomes only anon or authenticated (revision 20261129_170000
  -- adds the login role for service_role); granted only where missing, as roles are shared.
  if not pg_has_role('authenticator', 'anon', 'member') then
    grant anon to authenticator;
  end if;
  if not pg_has_role('authenticator', 'authenticated', 'member') then
    grant authenticated to authenticator;
  end if;
end
$$;
"""

# auth.uid()/jwt()/role() as Supabase defines them; on Supabase they already
# exist and are left alone. Ours carry a comment so downgrade drops only ours.
AUTH_FUNCTIONS = """
do $$
begin
  if to_regnamespace('auth') is null then
    create schema auth;
    comment on schema auth is 'schoolbase';
  end if;
end
$$;
grant usage on schema auth to anon, authenticated, service_role;
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
      language sql stable set search_path = ''
      as $f$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
    comment on function auth.jwt() is 'schoolbase';
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable set search_path = ''
      as $f$ select nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'), '')::uuid $f$;
    comment on function auth.uid() is 'schoolbase';
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
      language sql stable set search_path = ''
      as $f$ select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                             nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role') $f$;
    comment on function auth.role() is 'schoolbase';
  end if;
end
$$;
"""

DROP_AUTH_FUNCTIONS = """
do $$
declare f regprocedure;
begin
  foreach f in array array['auth.jwt()', 'auth.uid()', 'auth.role()'] loop
    if obj_description(f, 'pg_proc') = 'schoolbase' then
      execute format('drop function %s', f);
    end if;
  end loop;
  if obj_description('auth'::regnamespace, 'pg_namespace') = 'schoolbase' then
    drop schema auth;
  end if;
end
$$;
"""

TABLES = """
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

create type public.membership_role as enum ('org_admin', 'teacher', 'student', 'parent');

create function private.touch_updated_at() returns trigger
  language plpgsql set search_path = ''
  as $$ begin new.updated_at := now(); return new; end $$;

-- An unknown zone name makes "at time zone" raise 22023, which the API reports as 422.
create function private.check_time_zone() returns trigger
  language plpgsql set search_path = ''
  as $$ begin perform now() at time zone new.time_zone; return new; end $$;

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  time_zone text not null default 'UTC',
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create trigger organizations_time_zone before insert or update of time_zone on public.organizations
  for each row execute function private.check_time_zone();

create table public.users (
  id uuid primary key default gen_random_uuid(),
  email text not null check (email ~ '^[^@\\s]+@[^@\\s]+$' and length(email) <= 320),
  display_name text not null check (length(btrim(display_name)) between 1 and 200),
  avatar_url text check (length(avatar_url) <= 2000),
  is_super_admin boolean not null default false,
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_key on public.users (lower(email));

create table public.credentials (
  user_id uuid primary key references public.users (id) on delete cascade,
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  family_id uuid not null,
  token_hash text not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index refresh_tokens_user_idx on public.refresh_tokens (user_id);
create index refresh_tokens_family_idx on public.refresh_tokens (family_id);

create table public.login_failures (
  scope text not null check (scope in ('account', 'address')),
  key text not null,
  window_started_at timestamptz not null,
  failures integer not null check (failures >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (scope, key)
);

create table public.memberships (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  role public.membership_role not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, user_id, role)
);
create index memberships_user_idx on public.memberships (user_id, role);

create table public.classes (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  subject text check (length(subject) <= 200),
  grade_level text check (length(grade_level) <= 50),
  term text check (length(term) <= 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create index classes_org_name_idx on public.classes (organization_id, name);

-- The role columns of enrollments and guardianships take part in composite
-- foreign keys to memberships, so a person can only be enrolled as a teacher
-- (student, parent) where they hold that role in the same organization.
create table public.enrollments (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  class_id uuid not null,
  user_id uuid not null,
  role public.membership_role not null check (role in ('teacher', 'student')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, class_id, user_id),
  foreign key (organization_id, class_id) references public.classes (organization_id, id) on delete cascade,
  foreign key (organization_id, user_id, role) references public.memberships (organization_id, user_id, role) on delete cascade
);
create index enrollments_member_idx on public.enrollments (organization_id, user_id, role);
create index enrollments_user_idx on public.enrollments (user_id, role, class_id);

create table public.guardianships (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  parent_id uuid not null,
  parent_role public.membership_role not null default 'parent' check (parent_role = 'parent'),
  student_id uuid not null,
  student_role public.membership_role not null default 'student' check (student_role = 'student'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  unique (organization_id, parent_id, student_id),
  check (parent_id <> student_id),
  foreign key (organization_id, parent_id, parent_role) references public.memberships (organization_id, user_id, role) on delete cascade,
  foreign key (organization_id, student_id, student_role) references public.memberships (organization_id, user_id, role) on delete cascade
);
create index guardianships_parent_member_idx on public.guardianships (organization_id, parent_id, parent_role);
create index guardianships_student_member_idx on public.guardianships (organization_id, student_id, student_role);
create index guardianships_parent_idx on public.guardianships (parent_id, student_id);
"""

TOUCHED_TABLES = (
    "organizations",
    "users",
    "credentials",
    "refresh_tokens",
    "login_failures",
    "memberships",
    "classes",
    "enrollments",
    "guardianships",
)

# Each helper returns the *set* of ids the caller may reach; policies compare an
# indexed column against it once per statement (see DESIGN.md).
HELPERS = sql_file(revision, "helpers")

POLICIES = (
    """
grant select, insert, update, delete on public.organizations, public.users, public.memberships,
  public.classes, public.enrollments, public.guardianships to authenticated, service_role;
grant select, insert, update, delete on public.credentials, public.refresh_tokens, public.login_failures
  to service_role;

alter table public.organizations enable row level security;
alter table public.users enable row level security;
alter table public.credentials enable row level security;
alter table public.refresh_tokens enable row level security;
alter table public.login_failures enable row level security;
alter table public.memberships enable row level security;
alter table public.classes enable row level security;
alter table public.enrollments enable row level security;
alter table public.guardianships enable row level security;

-- Credentials are reached only by the server's own role.
create policy credentials_service on public.credentials to service_role using (true) with check (true);
create policy refresh_tokens_service on public.refresh_tokens to service_role using (true) with check (true);
create policy login_failures_service on public.login_failures to service_role using (true) with check (true);

create policy organizations_select on public.organizations for select to authenticated
  using ((select private.is_super_admin()) or id in (select private.member_org_ids()));
create policy organizations_insert on public.organizations for insert to authenticated
  with check ((select private.is_super_admin()));
create policy organizations_update on public.organizations for update to authenticated
  using ((select private.is_super_admin()) or id in (select private.org_ids_with_role('org_admin')))
  with check ((select private.is_super_admin()) or id in (select private.org_ids_with_role('org_admin')));
create policy organizations_delete on public.organizations for delete to authenticated
  using ((select private.is_super_admin()));

create policy users_select on public.users for select to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin())
         or id in (select private.visible_user_ids()));
create policy users_insert on public.users for insert to authenticated
  with check ((select private.is_super_admin())
              or exists (select from private.org_ids_with_role('org_admin')));
create policy users_update on public.users for update to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin()))
  with check (id = (select auth.uid()) or (select private.is_super_admin()));
create policy users_delete on public.users for delete to authenticated
  using ((select private.is_super_admin()));

create policy memberships_select on public.memberships for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (role in ('org_admin', 'teacher') and organization_id in (select private.member_org_ids())));
"""
    + org_admin_writes("memberships")
    + """
create policy classes_select on public.classes for select to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or id in (select private.taught_class_ids())
         or id in (select private.enrolled_class_ids())
         or id in (select private.child_class_ids()));
create policy classes_insert on public.classes for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy classes_update on public.classes for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
         or id in (select private.taught_class_ids()))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin'))
              or id in (select private.taught_class_ids()));
create policy classes_delete on public.classes for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));

create policy enrollments_select on public.enrollments for select to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or class_id in (select private.taught_class_ids())
         or user_id = (select auth.uid())
         or (role = 'teacher' and class_id in (select private.enrolled_class_ids()))
         or user_id in (select private.child_ids()));
create policy enrollments_insert on public.enrollments for insert to authenticated
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (role = 'student' and class_id in (select private.taught_class_ids())));
create policy enrollments_update on public.enrollments for update to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (role = 'student' and class_id in (select private.taught_class_ids())))
  with check ((select private.is_super_admin())
              or organization_id in (select private.org_ids_with_role('org_admin'))
              or (role = 'student' and class_id in (select private.taught_class_ids())));
create policy enrollments_delete on public.enrollments for delete to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or (role = 'student' and class_id in (select private.taught_class_ids())));

create policy guardianships_select on public.guardianships for select to authenticated
  using ((select private.is_super_admin())
         or organization_id in (select private.org_ids_with_role('org_admin'))
         or parent_id = (select auth.uid())
         or student_id = (select auth.uid())
         or student_id in (select private.taught_student_ids()));
"""
    + org_admin_writes("guardianships")
)


upgrade = sql_step(ROLES, AUTH_FUNCTIONS, TABLES, *touch_triggers(TOUCHED_TABLES), HELPERS, POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        """
        drop table public.guardianships, public.enrollments, public.classes, public.memberships,
          public.login_failures, public.refresh_tokens, public.credentials, public.users,
          public.organizations;
        drop schema private cascade;
        drop type public.membership_role;
        """
    )
    op.execute("revoke all on schema auth from anon, authenticated, service_role")
    op.execute(DROP_AUTH_FUNCTIONS)
