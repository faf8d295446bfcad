"""What the org admin's pages read, as the admin under row-level security: the members with
their roles and accounts, the counts of the overview, a class's roster and the guardianships,
each with people's names. Never a query as ``service_role``: only what the API shows an admin."""

import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import MembershipRole, User
from schoolbase.problems import forbidden, not_found
from schoolbase.tenancy import schemas
from schoolbase.tenancy import service as tenancy
from schoolbase.web.context import PageContext
from schoolbase.web.learning.views import every

ROLE_NAMES = {
    MembershipRole.org_admin: "Administrator",
    MembershipRole.teacher: "Teacher",
    MembershipRole.student: "Student",
    MembershipRole.parent: "Parent",
}
MEMBERS_PER_PAGE = 50


def admin_only(page: PageContext) -> uuid.UUID:
    """The organization looked at, if this person administers it (else 403)."""
    if not page.has("org_admin"):
        raise forbidden("These pages are for the school's administrators. Your pages are in the menu at the top.")
    return page.organization.id


@dataclass
class Member:
    user_id: uuid.UUID
    name: str
    email: str | None
    username: str | None
    managed: bool  # the organization's own account: it sets its password and may disable it
    disabled: bool
    roles: dict[MembershipRole, uuid.UUID] = field(default_factory=dict)  # role → membership id

    @property
    def missing_roles(self) -> list[MembershipRole]:
        return [role for role in MembershipRole if role not in self.roles]


async def people(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """The accounts of ``user_ids`` the admin may read."""
    if not user_ids:
        return {}
    return {user.id: user for user in await session.scalars(select(User).where(User.id.in_(user_ids)))}


def name_of(user: User | None) -> str:
    if user is None:
        return "Someone"
    return user.display_name or user.email or user.username or "Someone"


async def members(session: AsyncSession, organization_id: uuid.UUID) -> list[Member]:
    """Everyone with a role in the organization, by name, with their roles."""
    rows: list[schemas.MemberOut] = await every(lambda p: tenancy.list_members(session, organization_id, p))
    accounts = await people(session, {row.user_id for row in rows})
    found: dict[uuid.UUID, Member] = {}
    for row in rows:
        user = accounts.get(row.user_id)
        member = found.get(row.user_id)
        if member is None:
            member = found[row.user_id] = Member(
                user_id=row.user_id,
                name=name_of(user) if user else (row.display_name or row.email or "Someone"),
                email=user.email if user else row.email,
                username=user.username if user else None,
                managed=bool(user and user.managed_by_organization_id == organization_id),
                disabled=bool(user and user.disabled_at is not None),
            )
        member.roles[row.role] = row.id
    ordered = sorted(found.values(), key=lambda m: (m.name.lower(), str(m.user_id)))
    for member in ordered:
        member.roles = dict(sorted(member.roles.items(), key=lambda item: list(MembershipRole).index(item[0])))
    return ordered


async def member(session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    """One member of the organization (404 for anyone else)."""
    found = next((m for m in await members(session, organization_id) if m.user_id == user_id), None)
    if found is None:
        raise not_found("member")
    return found


def with_role(everyone: list[Member], role: MembershipRole | None) -> list[Member]:
    return [m for m in everyone if role is None or role in m.roles]


async def invitations(session: AsyncSession, organization_id: uuid.UUID) -> list[schemas.InvitationOut]:
    """Every invitation of the organization, newest first."""
    found = await every(lambda p: tenancy.list_invitations(session, organization_id, p))
    return sorted(found, key=lambda i: i.sent_at or i.created_at, reverse=True)


async def invitation(session: AsyncSession, organization_id: uuid.UUID, invitation_id: uuid.UUID):
    """One of the organization's invitations (404 for another's)."""
    found = next((i for i in await invitations(session, organization_id) if i.id == invitation_id), None)
    if found is None:
        raise not_found("invitation")
    return found


async def domains(session: AsyncSession, organization_id: uuid.UUID) -> list[schemas.DomainOut]:
    found = await every(lambda p: tenancy.list_domains(session, organization_id, p))
    return sorted(found, key=lambda d: d.domain)


async def classes(session: AsyncSession, organization_id: uuid.UUID) -> list[schemas.ClassOut]:
    found = await every(lambda p: tenancy.list_classes(session, p, organization_id))
    return sorted(found, key=lambda c: (c.name.lower(), str(c.id)))


async def school_class(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID):
    """A class of the organization looked at (404 for another organization's)."""
    klass = await tenancy.get_class(session, class_id)
    if klass.organization_id != organization_id:
        raise not_found("class")
    return klass


@dataclass(frozen=True)
class Enrolled:
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    role: MembershipRole


async def roster(session: AsyncSession, class_id: uuid.UUID) -> list[Enrolled]:
    """The class's teachers, then its students, by name."""
    rows = await every(lambda p: tenancy.list_enrollments(session, class_id, p))
    accounts = await people(session, {row.user_id for row in rows})
    enrolled = [Enrolled(row.id, row.user_id, name_of(accounts.get(row.user_id)), row.role) for row in rows]
    return sorted(enrolled, key=lambda e: (e.role != MembershipRole.teacher, e.name.lower()))


@dataclass(frozen=True)
class Guardian:
    id: uuid.UUID
    parent_id: uuid.UUID
    parent: str
    student_id: uuid.UUID
    student: str


async def guardianships(session: AsyncSession, organization_id: uuid.UUID) -> list[Guardian]:
    rows = await every(lambda p: tenancy.list_guardianships(session, organization_id, p))
    accounts = await people(session, {r.parent_id for r in rows} | {r.student_id for r in rows})
    found = [
        Guardian(
            r.id, r.parent_id, name_of(accounts.get(r.parent_id)), r.student_id, name_of(accounts.get(r.student_id))
        )
        for r in rows
    ]
    return sorted(found, key=lambda g: (g.parent.lower(), g.student.lower()))


@dataclass(frozen=True)
class Overview:
    by_role: list[tuple[MembershipRole, int]]
    people: int
    classes: int
    pending_invitations: int


async def overview(session: AsyncSession, organization_id: uuid.UUID) -> Overview:
    everyone = await members(session, organization_id)
    counted = Counter(role for m in everyone for role in m.roles)
    return Overview(
        by_role=[(role, counted[role]) for role in MembershipRole],
        people=len(everyone),
        classes=len(await classes(session, organization_id)),
        pending_invitations=sum(i.state == "pending" for i in await invitations(session, organization_id)),
    )
