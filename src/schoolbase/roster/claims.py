"""When a person invited by a roster import accepts, what the roster holds for them follows:
their link points at their account, and their enrollments and guardianships are made."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CLAIM = (
    """update public.roster_links set target_id = :user
       where organization_id = :org and entity = 'user' and invitation_id = :invitation""",
    # Enrollment links that waited for this person (detail.user is their sourcedId).
    """insert into public.memberships (organization_id, user_id, role)
       select distinct :org, :user, (l.detail ->> 'role')::public.membership_role
       from public.roster_links l join public.roster_links u
         on u.organization_id = l.organization_id and u.source_system = l.source_system and u.entity = 'user'
        and u.sourced_id = l.detail ->> 'user' and u.invitation_id = :invitation
       where l.organization_id = :org and l.entity = 'enrollment' and l.status = 'active' and l.target_id is null
       on conflict (organization_id, user_id, role) do update set ended_at = null where memberships.ended_at is not null""",
    """insert into public.enrollments (organization_id, class_id, user_id, role)
       select distinct :org, (l.detail ->> 'class_id')::uuid, :user, (l.detail ->> 'role')::public.membership_role
       from public.roster_links l join public.roster_links u
         on u.organization_id = l.organization_id and u.source_system = l.source_system and u.entity = 'user'
        and u.sourced_id = l.detail ->> 'user' and u.invitation_id = :invitation
       where l.organization_id = :org and l.entity = 'enrollment' and l.status = 'active' and l.target_id is null
       on conflict (organization_id, class_id, user_id, role) do update set ended_at = null
         where enrollments.ended_at is not null""",
    """update public.roster_links l set target_id = e.id, detail = '{}'
       from public.roster_links u, public.enrollments e
       where l.organization_id = :org and l.entity = 'enrollment' and l.target_id is null and l.status = 'active'
         and u.organization_id = l.organization_id and u.source_system = l.source_system and u.entity = 'user'
         and u.sourced_id = l.detail ->> 'user' and u.invitation_id = :invitation
         and e.organization_id = :org and e.class_id = (l.detail ->> 'class_id')::uuid and e.user_id = :user
         and e.role = (l.detail ->> 'role')::public.membership_role""",
    # Guardianships either side named (agentSourcedIds), between this person and linked accounts.
    """with me as (select source_system, sourced_id, detail from public.roster_links
                   where organization_id = :org and entity = 'user' and invitation_id = :invitation),
            other as (select o.target_id from public.roster_links o join me on o.source_system = me.source_system
                      where o.organization_id = :org and o.entity = 'user' and o.status = 'active'
                        and o.target_id is not null and o.target_id <> :user
                        and (o.detail -> 'agents' ? me.sourced_id or me.detail -> 'agents' ? o.sourced_id)),
            pairs as (select :user as parent_id, target_id as student_id from other
                      union select target_id, :user from other)
       insert into public.guardianships (organization_id, parent_id, student_id)
       select :org, p.parent_id, p.student_id from pairs p
       where exists (select from public.memberships m where m.organization_id = :org and m.user_id = p.parent_id
                     and m.role = 'parent' and m.ended_at is null)
         and exists (select from public.memberships m where m.organization_id = :org and m.user_id = p.student_id
                     and m.role = 'student' and m.ended_at is null)
       on conflict do nothing""",
)


async def claim(
    session: AsyncSession, organization_id: uuid.UUID, invitation_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    params = {"org": organization_id, "invitation": invitation_id, "user": user_id}
    for statement in CLAIM:
        await session.execute(text(statement), params)
