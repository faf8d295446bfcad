"""Applying people: users, their roles, guardianships and enrollments.

An address in one of the organization's domains, or no address at all, makes a managed
account (a username is made for people without one). Any other address becomes an
invitation that waits, held, until an org admin sends it: nobody outside the organization's
domains gets an account by an import, and nothing here looks at accounts the organization
does not manage. A held person's enrollments and guardianships wait in their links until
the invitation is accepted (``claims.py``)."""

from typing import Any

from psycopg import AsyncConnection

from schoolbase.roster.apply import GOOD, ref_id, run, scalar, script, table
from schoolbase.roster.formats import ENROLLMENT_ROLES, FILES, USER_ROLES
from schoolbase.roster.report import Report

USERS = table("users")
ENROLLMENTS = table("enrollments")


def _mapping(roles: dict) -> str:
    pairs = ", ".join(f"('{source}', '{kept.value}')" for source, kept in roles.items() if kept is not None)
    return f"(values {pairs}) as m(source_role, role)"


PREPARE = f"""
alter table {USERS} add column roles public.membership_role[] not null default '{{}}',
  add column kind text, add column invitation_id uuid;
alter table {ENROLLMENTS} add column class_id uuid, add column user_id uuid, add column role public.membership_role;
-- A person's roles: their own (users.csv, roles.csv) and those their enrollments give.
update {USERS} s set roles = x.roles
from (select y.sourced_id, array_agg(distinct y.role::public.membership_role) as roles from (
        select u.sourced_id, m.role from {USERS} u join {_mapping(USER_ROLES)} on m.source_role = u.source_role
        union all
        select r.user_ref, m.role from {table("roles")} r join {_mapping(USER_ROLES)} on m.source_role = r.source_role
        where not r.bad and r.status = 'active'
        union all
        select e.user_ref, m.role from {ENROLLMENTS} e join {_mapping(ENROLLMENT_ROLES)} on m.source_role = e.source_role
        where not e.bad and e.status = 'active') y
      group by y.sourced_id) x
where s.sourced_id = x.sourced_id and {GOOD};
"""

KIND = f"""
update {USERS} s set invitation_id = l.invitation_id from public.roster_links l
  where l.organization_id = %(org)s and l.source_system = %(source)s and l.entity = 'user' and l.sourced_id = s.sourced_id;
update {USERS} s set target_id = null
  where s.target_id is not null and not exists (select from public.users u where u.id = s.target_id);
update {USERS} s set kind = case
    when s.target_id is not null then 'linked'
    when s.email is null or exists (select from public.organization_domains d where d.organization_id = %(org)s
                                    and d.domain = split_part(s.email, '@', 2)) then 'managed'
    else 'invite' end
  where {GOOD};
-- The organization's own accounts are found by address or username, not made twice.
update {USERS} s set target_id = u.id from public.users u
  where s.kind = 'managed' and s.target_id is null and u.managed_by_organization_id = %(org)s
    and lower(u.email) = s.email;
update {USERS} s set target_id = u.id from public.users u
  where s.kind = 'managed' and s.target_id is null and u.managed_by_organization_id = %(org)s
    and s.email is null and u.username = s.username;
-- The columns just filled decide the plans that follow.
analyze {USERS};
"""

# A username for managed people without one: given.family, made unique with a digest of the
# sourcedId where it is taken (the same row always gets the same name).
USERNAMES = f"""
update {USERS} s set username = coalesce(s.username_base, 'user')
  where s.kind = 'managed' and s.target_id is null and s.email is null and s.username is null;
update {USERS} s set username = s.username || '.' || left(md5(s.sourced_id), 5)
  where s.kind = 'managed' and s.target_id is null and s.email is null and s.username is not null and s.line is not null
    and (s.username !~ '^[a-z0-9]'
         or exists (select from public.users u where u.managed_by_organization_id = %(org)s and u.username = s.username)
         or exists (select from {USERS} o where o.username = s.username and o.sourced_id <> s.sourced_id));
"""

DISPLAY_NAME = "coalesce(s.preferred_given_name, s.given_name) || ' ' || s.family_name"

NEW_ACCOUNTS = f"""
insert into public.users (id, email, username, display_name, managed_by_organization_id, disabled_at)
select s.target_id, s.email, case when s.email is null then s.username end, {DISPLAY_NAME}, %(org)s,
       case when s.enabled = false then now() end
from {USERS} s where s.is_new order by s.line
"""

# Only the organization's own accounts change with its roster; an invited person's account is theirs.
CHANGED_ACCOUNTS = f"""
update public.users u set display_name = {DISPLAY_NAME},
  disabled_at = case when s.enabled = false then coalesce(u.disabled_at, now()) else null end
from {USERS} s
where u.id = s.target_id and not s.is_new and {GOOD} and u.managed_by_organization_id = %(org)s
  and (u.display_name is distinct from {DISPLAY_NAME} or (s.enabled = false) <> (u.disabled_at is not null))
"""

INVITATIONS = f"""
update {USERS} s set invitation_id = i.id from public.invitations i
  where s.kind = 'invite' and s.invitation_id is null and i.organization_id = %(org)s and lower(i.email) = s.email
    and i.accepted_at is null and i.revoked_at is null;
update {USERS} s set invitation_id = gen_random_uuid(), is_new = true where s.kind = 'invite' and s.invitation_id is null;
insert into public.invitations (id, organization_id, email, roles, display_name, invited_by, sent_at, expires_at)
select s.invitation_id, %(org)s, s.email, s.roles, {DISPLAY_NAME}, %(actor)s, null, now() + interval '30 days'
from {USERS} s where s.kind = 'invite' and s.is_new order by s.line;
"""

CHANGED_INVITATIONS = f"""
update public.invitations i set roles = s.roles, display_name = {DISPLAY_NAME}
from {USERS} s
where s.kind = 'invite' and not s.is_new and i.id = s.invitation_id and i.accepted_at is null and i.revoked_at is null
  and (i.roles, i.display_name) is distinct from (s.roles, {DISPLAY_NAME})
"""

MEMBERSHIPS = f"""
insert into public.memberships (organization_id, user_id, role)
select distinct %(org)s, s.target_id, r.role from {USERS} s cross join lateral unnest(s.roles) as r(role)
where {GOOD} and s.target_id is not null
on conflict (organization_id, user_id, role) do update set ended_at = null where memberships.ended_at is not null;
-- Roles an earlier import of this source gave and the row no longer has end.
update public.memberships m set ended_at = now()
from {USERS} s join public.roster_links l
  on l.organization_id = %(org)s and l.source_system = %(source)s and l.entity = 'user' and l.sourced_id = s.sourced_id
where {GOOD} and m.organization_id = %(org)s and m.user_id = s.target_id and m.ended_at is null
  and (l.detail -> 'roles') ? m.role::text and m.role <> all (s.roles);
"""

REMOVED_PEOPLE = f"""
update public.memberships m set ended_at = now() from {USERS} s
  where not s.bad and s.status = 'tobedeleted' and m.organization_id = %(org)s and m.user_id = s.target_id
    and m.ended_at is null;
update public.enrollments e set ended_at = now() from {USERS} s
  where not s.bad and s.status = 'tobedeleted' and e.organization_id = %(org)s and e.user_id = s.target_id
    and e.ended_at is null;
delete from public.guardianships g using {USERS} s
  where not s.bad and s.status = 'tobedeleted' and g.organization_id = %(org)s
    and s.target_id in (g.parent_id, g.student_id);
update public.invitations i set revoked_at = now() from {USERS} s
  where not s.bad and s.status = 'tobedeleted' and i.id = s.invitation_id and i.accepted_at is null
    and i.revoked_at is null;
"""

USER_DETAIL = "jsonb_build_object('roles', to_jsonb(s.roles), 'agents', to_jsonb(coalesce(s.agents, '{}')))"


async def apply_users(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await script(connection, PREPARE, params)
    await script(connection, KIND, params)
    await script(connection, USERNAMES, params)
    await run(
        connection,
        f"update {USERS} s set target_id = gen_random_uuid(), is_new = true where s.kind = 'managed' and s.target_id is null",
        params,
    )
    created = await run(connection, NEW_ACCOUNTS, params)
    updated = await run(connection, CHANGED_ACCOUNTS, params)
    await script(connection, INVITATIONS, params)
    invited = await scalar(connection, f"select count(*) from {USERS} s where s.kind = 'invite' and s.is_new", params)
    updated += await run(connection, CHANGED_INVITATIONS, params)
    await script(connection, MEMBERSHIPS, params)
    ended = await scalar(
        connection,
        f"select count(*) from {USERS} s where not s.bad and s.status = 'tobedeleted' and (s.target_id is not null or s.invitation_id is not null)",
        params,
    )
    await script(connection, REMOVED_PEOPLE, params)
    good = await scalar(connection, f"select count(*) from {USERS} s where {GOOD}", params)
    report.count("user", "created", created + invited)
    report.count("user", "updated", updated)
    report.count("user", "unchanged", good - created - invited - updated)
    report.count("user", "ended", ended)


def _user(expr: str) -> str:
    return ref_id("users", expr)


GUARDIANSHIPS = f"""
with pairs as (
  select {_user("s.sourced_id")} as a, {_user("r.agent")} as b
  from {USERS} s cross join lateral unnest(s.agents) as r(agent) where {GOOD}
), oriented as (
  select a as parent_id, b as student_id from pairs union select b, a from pairs
)
insert into public.guardianships (organization_id, parent_id, student_id)
select %(org)s, o.parent_id, o.student_id from oriented o
where exists (select from public.memberships m where m.organization_id = %(org)s and m.user_id = o.parent_id
              and m.role = 'parent' and m.ended_at is null)
  and exists (select from public.memberships m where m.organization_id = %(org)s and m.user_id = o.student_id
              and m.role = 'student' and m.ended_at is null)
on conflict do nothing
"""


async def apply_guardianships(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    created = await run(connection, GUARDIANSHIPS, params)
    report.count("guardianship", "created", created)


def _resolved(stem: str, alias: str, ref: str) -> str:
    """Joins that find what ``ref`` names: a good row of this import, or an earlier import's link."""
    entity = FILES[stem].entity
    return (
        f"left join {table(stem)} {alias} on {alias}.sourced_id = {ref} and not {alias}.bad and {alias}.status = 'active' "
        f"left join public.roster_links {alias}_link on {alias}_link.organization_id = %(org)s "
        f"and {alias}_link.source_system = %(source)s and {alias}_link.entity = '{entity}' "
        f"and {alias}_link.sourced_id = {ref} and {alias}_link.status = 'active'"
    )


# One pass over the enrollments: their links, roles, classes and people (joins, not a lookup per row).
ENROLLMENT_TARGETS = f"""
update {ENROLLMENTS} s set target_id = x.link_target, role = x.role, class_id = x.class_id, user_id = x.user_id
from (select e.ctid as row_id, l.target_id as link_target, m.role::public.membership_role as role,
             coalesce(c.target_id, c_link.target_id) as class_id, coalesce(u.target_id, u_link.target_id) as user_id
      from {ENROLLMENTS} e
      left join public.roster_links l on l.organization_id = %(org)s and l.source_system = %(source)s
        and l.entity = 'enrollment' and l.sourced_id = e.sourced_id
      left join {_mapping(ENROLLMENT_ROLES)} on m.source_role = e.source_role
      {_resolved("classes", "c", "e.class_ref")}
      {_resolved("users", "u", "e.user_ref")}) x
where s.ctid = x.row_id;
-- An enrollment whose class, person or role changed ends the one it was.
update public.enrollments e set ended_at = now() from {ENROLLMENTS} s
  where e.id = s.target_id and e.organization_id = %(org)s and e.ended_at is null
    and (s.status = 'tobedeleted' or (e.class_id, e.user_id, e.role) is distinct from (s.class_id, s.user_id, s.role))
    and not s.bad;
insert into public.memberships (organization_id, user_id, role)
select distinct %(org)s, s.user_id, s.role from {ENROLLMENTS} s where {GOOD} and s.user_id is not null and s.role is not null
on conflict (organization_id, user_id, role) do update set ended_at = null where memberships.ended_at is not null;
"""

UPSERT_ENROLLMENTS = f"""
with upserted as (
  insert into public.enrollments (organization_id, class_id, user_id, role)
  select distinct %(org)s, s.class_id, s.user_id, s.role from {ENROLLMENTS} s
  where {GOOD} and s.user_id is not null and s.role is not null
  on conflict (organization_id, class_id, user_id, role) do update set ended_at = null
    where enrollments.ended_at is not null
  returning (xmax = 0) as inserted)
select count(*) filter (where inserted), count(*) filter (where not inserted) from upserted
"""


async def apply_enrollments(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await script(connection, ENROLLMENT_TARGETS, params)
    await connection.execute(f"analyze {ENROLLMENTS}")
    ended = await scalar(
        connection,
        f"select count(*) from {ENROLLMENTS} s where not s.bad and s.status = 'tobedeleted' and s.target_id is not null",
        params,
    )
    cursor = await connection.execute(UPSERT_ENROLLMENTS, params)
    created, reopened = await cursor.fetchone()
    await run(
        connection,
        f"""update {ENROLLMENTS} s set target_id = e.id from public.enrollments e
            where {GOOD} and e.organization_id = %(org)s and e.class_id = s.class_id and e.user_id = s.user_id
              and e.role = s.role and s.target_id is distinct from e.id""",
        params,
    )
    good = await scalar(connection, f"select count(*) from {ENROLLMENTS} s where {GOOD} and s.role is not null", params)
    # Enrollments of a held person wait in their new links: created, for the report.
    waiting = await scalar(
        connection,
        f"""select count(*) from {ENROLLMENTS} s where {GOOD} and s.role is not null and s.user_id is null
            and not exists (select from public.roster_links l where l.organization_id = %(org)s
                            and l.source_system = %(source)s and l.entity = 'enrollment' and l.sourced_id = s.sourced_id)""",
        params,
    )
    report.count("enrollment", "created", created + waiting)
    report.count("enrollment", "updated", reopened)
    report.count("enrollment", "unchanged", good - created - reopened - waiting)
    report.count("enrollment", "ended", ended)


ENROLLMENT_DETAIL = (
    "case when s.target_id is null and s.class_id is not null then "
    "jsonb_build_object('class_id', s.class_id, 'role', s.role, 'user', s.user_ref) else '{}'::jsonb end"
)
