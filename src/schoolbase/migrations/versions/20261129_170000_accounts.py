"""Accounts and the tenant boundary: a second login role for server work, server-only
tables outside ``public``, sessions, verified email domains, managed accounts,
invitations, password resets and the mail outbox.

- ``authenticator`` (requests) may become only ``anon`` and ``authenticated``; sign-in,
  the AI gateway and jobs log in as ``service_authenticator``, which may become
  ``service_role``.
- Credentials, refresh tokens, sign-in sessions, throttling counters, invitation and
  reset tokens and the mail outbox live in the schema ``server``, which only
  ``service_role`` may use. ``public`` (exposed by Supabase's API) keeps only
  row-level-secured domain tables.
- An organization owns email domains; an account whose address lies in an owned domain
  is managed by that organization, and the database keeps it so: the owner is derived
  from the address on every insert and update. Accounts without an address (young
  students) have a username unique within the organization that manages them.
- Org admins reach people only through their own organization: they create accounts
  only in their own domains (or with a username), add memberships only for people
  already in their organization or managed by it, and invite everyone else.

Revision ID: 20261129_170000
Revises: 20261129_165000
Create Date: 2026-11-29 17:00:00
"""

from alembic import op

from schoolbase.migrations.grants import explicit_grants
from schoolbase.migrations.helpers import (
    drop_functions,
    execute_only,
    function_statement,
    grant_execute,
    restored_functions,
    revoke_from_public,
    sql_file,
    sql_step,
    touch_triggers,
)

revision = "20261129_170000"
down_revision = "20261129_165000"
branch_labels = None
depends_on = None

# Roles and their memberships are cluster-wide, shared by every database on the server
# (a second database, the checks' scratch databases): changed only where they differ
# from what this revision needs, and not undone by its downgrade. Running an older
# release afterwards needs ``grant service_role to authenticator`` by hand.
ROLES = """
do $$
begin
  if not exists (select from pg_roles where rolname = 'service_authenticator') then
    create role service_authenticator login noinherit;
  end if;
  if not pg_has_role('service_authenticator', 'service_role', 'member') then
    grant service_role to service_authenticator;
  end if;
  if pg_has_role('authenticator', 'service_role', 'member') then
    revoke service_role from authenticator;
  end if;
end
$$;
"""

SERVER_SCHEMA = """
create schema server;
revoke all on schema server from public;
grant usage on schema server to service_role;

alter table public.credentials set schema server;
alter table public.refresh_tokens set schema server;
alter table public.login_failures set schema server;

-- An initial password an org admin set must be changed at the first sign-in.
alter table server.credentials add column must_change boolean not null default false;

-- A sign-in: access tokens carry its id (sid), refresh tokens rotate within it.
create table server.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  client text check (length(client) <= 300),
  address text check (length(address) <= 100),
  last_used_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index sessions_user_idx on server.sessions (user_id);

-- Each former refresh-token family becomes the session it stood for.
insert into server.sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at)
select family_id, min(user_id::text)::uuid, min(created_at), max(created_at), max(expires_at),
       case when bool_and(revoked_at is not null) then max(revoked_at) end
from server.refresh_tokens group by family_id;
alter table server.refresh_tokens rename column family_id to session_id;
alter index server.refresh_tokens_family_idx rename to refresh_tokens_session_idx;
alter table server.refresh_tokens add constraint refresh_tokens_session_id_fkey
  foreign key (session_id) references server.sessions (id) on delete cascade;

-- Failures per account from one address, per address, and per account everywhere.
delete from server.login_failures;
alter table server.login_failures drop constraint login_failures_scope_check;
alter table server.login_failures add constraint login_failures_scope_check
  check (scope in ('account_address', 'address', 'account'));

create table server.password_resets (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  token_hash text unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index password_resets_user_idx on server.password_resets (user_id);

-- Messages to send, written in the transaction that causes them. The sender renders a
-- message (minting its link's token) at its first attempt and keeps it for retries.
create table server.mail_outbox (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid references public.organizations (id) on delete cascade,
  kind text not null check (kind in ('invitation', 'password_reset')),
  reference_id uuid not null,
  to_address text not null check (length(to_address) between 3 and 320),
  subject text,
  text_body text,
  html_body text,
  state text not null default 'pending' check (state in ('pending', 'sent', 'dead')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index mail_outbox_pending_idx on server.mail_outbox (next_attempt_at) where state = 'pending';
create index mail_outbox_reference_idx on server.mail_outbox (reference_id);
"""

ACCOUNTS = """
create table public.organization_domains (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  domain text not null unique
    check (length(domain) <= 253 and domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create index organization_domains_org_idx on public.organization_domains (organization_id);

-- Deleting an organization deletes the accounts it manages: nobody else may manage them.
alter table public.users
  alter column email drop not null,
  add column username text check (username ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  add column managed_by_organization_id uuid references public.organizations (id) on delete cascade,
  add constraint users_email_or_username check (email is not null or username is not null),
  add constraint users_username_is_managed check (username is null or managed_by_organization_id is not null);
create unique index users_username_key on public.users (managed_by_organization_id, username)
  where username is not null;
create index users_email_domain_idx on public.users (lower(split_part(email, '@', 2)));
create index users_managed_by_idx on public.users (managed_by_organization_id);

-- An address's domain decides who manages its account, whoever writes the row.
create function private.manage_by_email_domain() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if new.email is not null then
      new.managed_by_organization_id := (
        select d.organization_id from public.organization_domains d
        where d.domain = lower(split_part(new.email, '@', 2)));
    end if;
    return new;
  end $$;
create trigger users_managed_by_email_domain before insert or update of email, managed_by_organization_id
  on public.users for each row execute function private.manage_by_email_domain();

-- Claiming a domain takes over the accounts in it; releasing it lets them go. Touching
-- their owner column is enough: the users trigger derives it again from the domain.
create function private.claim_domain_accounts() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    -- A released account with an address signs in by it; its username went with the domain.
    update public.users u set managed_by_organization_id = null,
                              username = case when tg_op = 'DELETE' then null else u.username end
    where lower(split_part(u.email, '@', 2)) = coalesce(new.domain, old.domain);
    return null;
  end $$;
create trigger organization_domains_claim after insert or delete on public.organization_domains
  for each row execute function private.claim_domain_accounts();

-- An invitation until the person accepts: the inviting organization sees only the
-- address it typed and the state. Its token lives in server.invitation_tokens.
create table public.invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  email text not null check (email ~ '^[^@\\s]+@[^@\\s]+$' and length(email) <= 320),
  roles public.membership_role[] not null
    check (cardinality(roles) between 1 and 4 and array_position(roles, null) is null),
  display_name text check (length(btrim(display_name)) between 1 and 200),
  invited_by uuid references public.users (id) on delete set null,
  sent_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references public.users (id) on delete set null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);
create unique index invitations_open_key on public.invitations (organization_id, lower(email))
  where accepted_at is null and revoked_at is null;

create table server.invitation_tokens (
  invitation_id uuid primary key references public.invitations (id) on delete cascade,
  token_hash text not null unique,
  created_at timestamptz not null default now()
);

-- Sending (or sending again: a new sent_at) an invitation queues its message in the
-- same transaction; the org admin's own role may not write the outbox.
create function private.queue_invitation_mail() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    -- At most one message a minute per invitation, however often it is sent again.
    if new.accepted_at is null and new.revoked_at is null and not exists (
        select from server.mail_outbox o where o.kind = 'invitation' and o.reference_id = new.id
          and o.created_at > now() - interval '1 minute') then
      insert into server.mail_outbox (organization_id, kind, reference_id, to_address)
      values (new.organization_id, 'invitation', new.id, new.email);
    end if;
    return null;
  end $$;
create trigger invitations_queue_mail after insert or update of sent_at on public.invitations
  for each row execute function private.queue_invitation_mail();
"""

TOUCHED = (
    "server.sessions",
    "server.password_resets",
    "server.mail_outbox",
    "public.organization_domains",
    "public.invitations",
)

# The functions this revision adds; requests call the first four, the rest run as triggers.
ACCOUNT_FUNCTIONS = (
    "private.session_is_active()",
    "private.admin_org_ids()",
    "private.admin_org_people()",
    "private.set_managed_password(uuid, text)",
    "private.manage_by_email_domain()",
    "private.claim_domain_accounts()",
    "private.queue_invitation_mail()",
)
# Replaced by the above; the downgrade restores them (OLD_FUNCTIONS).
REPLACED_FUNCTIONS = ("private.user_id_for_email(text)", "private.set_initial_password(uuid, text)")

FUNCTIONS = (
    drop_functions(REPLACED_FUNCTIONS)
    + sql_file(revision, "functions")
    + revoke_from_public(ACCOUNT_FUNCTIONS)
    + grant_execute(ACCOUNT_FUNCTIONS[:4], "authenticated, service_role")
)

POLICIES = """
grant select, insert, update, delete on server.sessions, server.password_resets, server.mail_outbox,
  server.invitation_tokens to service_role;
-- Only service_role (which bypasses row-level security) uses the schema; RLS without a
-- policy refuses anyone a stray grant might reach.
alter table server.sessions enable row level security;
alter table server.password_resets enable row level security;
alter table server.mail_outbox enable row level security;
alter table server.invitation_tokens enable row level security;

grant select, insert, delete on public.organization_domains to authenticated;
grant select, insert, update, delete on public.organization_domains, public.invitations to service_role;
grant select, delete on public.invitations to authenticated;
-- Acceptance is the server's to record, never an admin's.
grant insert (organization_id, email, roles, display_name, invited_by, sent_at, expires_at)
  on public.invitations to authenticated;
grant update (roles, display_name, sent_at, expires_at, revoked_at) on public.invitations to authenticated;
alter table public.organization_domains enable row level security;
alter table public.invitations enable row level security;

create policy organization_domains_select on public.organization_domains for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()));
create policy organization_domains_insert on public.organization_domains for insert to authenticated
  with check ((select private.is_super_admin()));
create policy organization_domains_delete on public.organization_domains for delete to authenticated
  using ((select private.is_super_admin()));

create policy invitations_select on public.invitations for select to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()));
create policy invitations_insert on public.invitations for insert to authenticated
  with check ((select private.is_super_admin())
              or (organization_id in (select private.admin_org_ids()) and invited_by = (select auth.uid())));
-- Only an open invitation changes: an accepted or revoked one stays as it is.
create policy invitations_update on public.invitations for update to authenticated
  using (((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()))
         and accepted_at is null and revoked_at is null)
  with check ((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()));
create policy invitations_delete on public.invitations for delete to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()));

drop policy users_select on public.users;
create policy users_select on public.users for select to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin())
         or id in (select private.visible_user_ids())
         or managed_by_organization_id in (select private.admin_org_ids()));
drop policy users_insert on public.users;
create policy users_insert on public.users for insert to authenticated
  with check ((select private.is_super_admin()) or managed_by_organization_id in (select private.admin_org_ids()));
drop policy users_update on public.users;
create policy users_update on public.users for update to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin())
         or (managed_by_organization_id in (select private.admin_org_ids()) and not is_super_admin))
  with check (id = (select auth.uid()) or (select private.is_super_admin())
              or (managed_by_organization_id in (select private.admin_org_ids()) and not is_super_admin));

drop policy memberships_insert on public.memberships;
create policy memberships_insert on public.memberships for insert to authenticated
  with check ((select private.is_super_admin())
              or (organization_id, user_id) in (select p.organization_id, p.user_id from private.admin_org_people() p));
drop policy memberships_update on public.memberships;
create policy memberships_update on public.memberships for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.admin_org_ids()))
  with check ((select private.is_super_admin())
              or (organization_id, user_id) in (select p.organization_id, p.user_id from private.admin_org_people() p));
"""

# The definitions of 20250919_000000 and 20250922_164000, character for character.
OLD_FUNCTIONS = (
    restored_functions(
        function_statement("20250919_000000", "helpers", "private.user_id_for_email"),
        function_statement("20250919_000000", "helpers", "private.set_initial_password"),
        function_statement("20250919_000000", "helpers", "private.guard_user_columns", or_replace=True),
        function_statement("20250922_164000", "functions", "private.guard_resource_columns", or_replace=True),
    )
    + "\n"
    + execute_only(REPLACED_FUNCTIONS, "authenticated, service_role")
)

OLD_POLICIES = """
create policy users_select on public.users for select to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin())
         or id in (select private.visible_user_ids()));
create policy users_insert on public.users for insert to authenticated
  with check ((select private.is_super_admin())
              or exists (select from private.org_ids_with_role('org_admin')));
create policy users_update on public.users for update to authenticated
  using (id = (select auth.uid()) or (select private.is_super_admin()))
  with check (id = (select auth.uid()) or (select private.is_super_admin()));
create policy memberships_insert on public.memberships for insert to authenticated
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
create policy memberships_update on public.memberships for update to authenticated
  using ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')))
  with check ((select private.is_super_admin()) or organization_id in (select private.org_ids_with_role('org_admin')));
"""


upgrade = sql_step(ROLES, SERVER_SCHEMA, ACCOUNTS, *touch_triggers(TOUCHED), FUNCTIONS, POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        f"""
        drop policy users_select on public.users;
        drop policy users_insert on public.users;
        drop policy users_update on public.users;
        drop policy memberships_insert on public.memberships;
        drop policy memberships_update on public.memberships;
        drop table server.invitation_tokens, public.invitations, public.organization_domains;
        drop trigger users_managed_by_email_domain on public.users;
        {drop_functions(ACCOUNT_FUNCTIONS)}
        """
    )
    op.execute(OLD_FUNCTIONS)
    op.execute(OLD_POLICIES)
    op.execute(
        """
        drop table server.mail_outbox, server.password_resets;
        -- Accounts without an address cannot exist before this revision.
        delete from public.users where email is null;
        drop index public.users_email_domain_idx;
        alter table public.users drop column username, drop column managed_by_organization_id,
          alter column email set not null;
        alter table server.refresh_tokens drop constraint refresh_tokens_session_id_fkey;
        alter table server.refresh_tokens rename column session_id to family_id;
        alter index server.refresh_tokens_session_idx rename to refresh_tokens_family_idx;
        drop table server.sessions;
        delete from server.login_failures;
        alter table server.login_failures drop constraint login_failures_scope_check;
        alter table server.login_failures add constraint login_failures_scope_check
          check (scope in ('account', 'address'));
        alter table server.credentials drop column must_change;
        alter table server.credentials set schema public;
        alter table server.refresh_tokens set schema public;
        alter table server.login_failures set schema public;
        drop schema server;
        """
    )
