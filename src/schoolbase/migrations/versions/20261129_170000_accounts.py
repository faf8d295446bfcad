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

FUNCTIONS = """
drop function private.user_id_for_email(text);
drop function private.set_initial_password(uuid, text);

-- The request's one check before anything else: the account is active and the
-- token's session has not ended (logout, password change, reset).
create function private.session_is_active() returns boolean
  language sql stable security definer set search_path = ''
  as $$ select exists (
          select from public.users u join server.sessions s on s.user_id = u.id
          where u.id = auth.uid() and u.disabled_at is null
            and s.id = nullif(auth.jwt() ->> 'sid', '')::uuid
            and s.revoked_at is null and s.expires_at > now()) $$;

create function private.admin_org_ids() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id from public.memberships m where m.user_id = auth.uid() and m.role = 'org_admin' $$;

-- People an org admin already reaches in each of their organizations: its members
-- and the accounts it manages. Nobody else can be given a membership by them.
create function private.admin_org_people() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select m.organization_id, m.user_id from public.memberships m
        where m.organization_id in (select private.admin_org_ids())
        union
        select u.managed_by_organization_id, u.id from public.users u
        where u.managed_by_organization_id in (select private.admin_org_ids()) $$;

-- An org admin sets the password of an account their organization manages (or a super
-- admin of any); it must be changed at the next sign-in, and every session ends.
-- A super admin's account is nobody's to manage, whatever its address.
create function private.set_managed_password(p_user_id uuid, p_password_hash text) returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    if not (private.is_super_admin() or exists (
        select from public.users u where u.id = p_user_id and not u.is_super_admin
          and u.managed_by_organization_id in (select private.admin_org_ids()))) then
      raise exception 'only an org admin of the organization that manages this account may set its password'
        using errcode = '42501';
    end if;
    insert into server.credentials (user_id, password_hash, must_change) values (p_user_id, p_password_hash, true)
      on conflict (user_id) do update set password_hash = excluded.password_hash, must_change = true;
    update server.sessions set revoked_at = now() where user_id = p_user_id and revoked_at is null;
  end $$;

-- End users change their own display name and avatar. An org admin changes the name,
-- username and disabled state of accounts their organization manages. The super admin
-- and the server's own role may change anything.
create or replace function private.guard_user_columns() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if current_user <> 'authenticated' or private.is_super_admin() then
      return new;
    end if;
    if tg_op = 'INSERT' then
      if new.is_super_admin or new.disabled_at is not null then
        raise exception 'only a super admin may create super admins or disabled users'
          using errcode = '42501';
      end if;
    elsif old.id = auth.uid() then
      -- Everything but the display name and avatar (updated_at is the touch trigger's)
      -- stays as it was, including columns added later.
      if (to_jsonb(new) - 'display_name' - 'avatar_url' - 'updated_at') is distinct from
         (to_jsonb(old) - 'display_name' - 'avatar_url' - 'updated_at') then
        raise exception 'you may change only your display name and avatar' using errcode = '42501';
      end if;
    elsif (to_jsonb(new) - 'display_name' - 'username' - 'disabled_at' - 'updated_at') is distinct from
          (to_jsonb(old) - 'display_name' - 'username' - 'disabled_at' - 'updated_at') then
      raise exception 'an org admin may change only the name, username and disabled state of a managed account'
        using errcode = '42501';
    end if;
    return new;
  end $$;

-- A request's role may not become service_role any more, so an author stamps their own
-- AI-made resource: only with a successful resource-generation call of their own that no
-- other resource carries (the AI generation flow inserts it so, in one statement).
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
    end if;
    return new;
  end $$;

revoke all on function private.session_is_active(), private.admin_org_ids(), private.admin_org_people(),
  private.set_managed_password(uuid, text), private.manage_by_email_domain(),
  private.claim_domain_accounts(), private.queue_invitation_mail() from public;
grant execute on function private.session_is_active(), private.admin_org_ids(), private.admin_org_people(),
  private.set_managed_password(uuid, text) to authenticated, service_role;
"""

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

OLD_FUNCTIONS = """
create function private.user_id_for_email(p_email text) returns uuid
  language sql stable security definer set search_path = ''
  as $$ select u.id from public.users u
        where lower(u.email) = lower(p_email)
          and (exists (select from public.memberships a where a.user_id = auth.uid() and a.role = 'org_admin')
               or exists (select from public.users s where s.id = auth.uid() and s.is_super_admin)) $$;

create function private.set_initial_password(p_user_id uuid, p_password_hash text) returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    if not (private.is_super_admin() or exists (
        select from public.memberships t
        join public.memberships a on a.organization_id = t.organization_id
        where t.user_id = p_user_id and a.user_id = auth.uid() and a.role = 'org_admin')) then
      raise exception 'only an org admin of one of this person''s organizations may set their first password'
        using errcode = '42501';
    end if;
    insert into public.credentials (user_id, password_hash) values (p_user_id, p_password_hash);
  exception when unique_violation then
    raise exception 'this person already has a password' using errcode = '23505';
  end $$;

create or replace function private.guard_user_columns() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if current_user <> 'authenticated' or private.is_super_admin() then
      return new;
    end if;
    if tg_op = 'INSERT' then
      if new.is_super_admin or new.disabled_at is not null then
        raise exception 'only a super admin may create super admins or disabled users'
          using errcode = '42501';
      end if;
    -- Everything but the display name and avatar (updated_at is the touch trigger's)
    -- stays as it was, including columns added later.
    elsif (to_jsonb(new) - 'display_name' - 'avatar_url' - 'updated_at') is distinct from
          (to_jsonb(old) - 'display_name' - 'avatar_url' - 'updated_at') then
      raise exception 'only a super admin may change email, super admin or disabled status, or anything but display name and avatar'
        using errcode = '42501';
    end if;
    return new;
  end $$;

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

revoke all on function private.user_id_for_email(text), private.set_initial_password(uuid, text) from public;
grant execute on function private.user_id_for_email(text), private.set_initial_password(uuid, text)
  to authenticated, service_role;
"""

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


@explicit_grants
def upgrade() -> None:
    op.execute(ROLES)
    op.execute(SERVER_SCHEMA)
    op.execute(ACCOUNTS)
    for table in TOUCHED:
        name = table.split(".")[1]
        op.execute(
            f"create trigger {name}_touch before update on {table} "
            "for each row execute function private.touch_updated_at()"
        )
    op.execute(FUNCTIONS)
    op.execute(POLICIES)


@explicit_grants
def downgrade() -> None:
    op.execute(
        """
        drop policy users_select on public.users;
        drop policy users_insert on public.users;
        drop policy users_update on public.users;
        drop policy memberships_insert on public.memberships;
        drop policy memberships_update on public.memberships;
        drop table server.invitation_tokens, public.invitations, public.organization_domains;
        drop trigger users_managed_by_email_domain on public.users;
        drop function private.session_is_active(), private.admin_org_people(), private.admin_org_ids(),
          private.set_managed_password(uuid, text), private.queue_invitation_mail(),
          private.claim_domain_accounts(), private.manage_by_email_domain();
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
