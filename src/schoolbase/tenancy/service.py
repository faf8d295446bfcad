"""Organizations, people, memberships, classes, enrollments and guardianships.

Every query runs as the caller: row-level security decides what exists for them
(see schoolbase.db.crud for the 403-versus-404 rule).
"""

import uuid
from typing import Any

from sqlalchemy import bindparam, exists, func, select, text
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.invitations import invite, resend, send_held
from schoolbase.auth.passwords import hash_password
from schoolbase.config import Settings
from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.models import (
    Class,
    Enrollment,
    Guardianship,
    Invitation,
    Membership,
    MembershipRole,
    Organization,
    OrganizationDomain,
    User,
)
from schoolbase.pagination import Page, PageParams, page_of, paginate
from schoolbase.problems import INVITATION_CLOSED, VALIDATION, forbidden, not_found
from schoolbase.tenancy import schemas

# Organizations

_ADMINISTERS = text(
    "select private.is_super_admin() or :org in (select private.org_ids_with_role('org_admin'))"
).bindparams(bindparam("org", type_=UUID(as_uuid=True)))


async def check_org_admin(session: AsyncSession, organization_id: uuid.UUID, action: str) -> None:
    """404 if the caller cannot see the organization, 403 if they see it but do not administer it."""
    if await session.scalar(_ADMINISTERS, {"org": organization_id}):
        return
    if await session.scalar(select(exists().where(Organization.id == organization_id))):
        raise forbidden(f"only the organization's admins may {action}")
    raise not_found("organization")


async def list_organizations(session: AsyncSession, paging: PageParams) -> Page:
    return await page_of(session, select(Organization), Organization, paging, schemas.OrganizationOut)


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    return await get_visible(session, Organization, organization_id, "organization")


async def update_organization(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.OrganizationUpdate
) -> Organization:
    return await change(session, Organization, organization_id, body.model_dump(exclude_unset=True), "organization")


async def delete_organization(session: AsyncSession, organization_id: uuid.UUID) -> None:
    await remove(session, Organization, organization_id, "organization")


async def create_organization(session: AsyncSession, body: schemas.OrganizationCreate) -> Organization:
    return await add(session, Organization(**body.model_dump()))


# People


async def update_user(session: AsyncSession, user_id: uuid.UUID, body: schemas.UserUpdate) -> User:
    values = body.model_dump(exclude_unset=True, exclude={"disabled"})
    if body.disabled is not None:
        values["disabled_at"] = func.now() if body.disabled else None
    return await change(session, User, user_id, values, "user")


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    return await get_visible(session, User, user_id, "user")


async def me(session: AsyncSession, user_id: uuid.UUID) -> schemas.Me:
    user = await get_visible(session, User, user_id, "user")
    rows = (
        await session.execute(
            select(Organization, func.array_agg(Membership.role).label("roles"))
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user_id)
            .group_by(Organization.id)
            .order_by(Organization.name)
        )
    ).all()
    return schemas.Me(
        user=schemas.UserOut.model_validate(user),
        organizations=[
            schemas.MyOrganization(
                id=org.id, name=org.name, slug=org.slug, time_zone=org.time_zone, roles=sorted(roles)
            )
            for org, roles in rows
        ],
    )


async def list_members(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = (
        select(Membership, User.email, User.display_name)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
    )
    rows, cursor = await paginate(session, stmt, Membership, paging)
    return Page(items=[_member_out(row) for row in rows], next_cursor=cursor)


def _member_out(row: Any) -> schemas.MemberOut:
    membership, email, display_name = row
    return schemas.MemberOut(
        **schemas.MembershipOut.model_validate(membership).model_dump(), email=email, display_name=display_name
    )


async def add_member(
    session: AsyncSession, settings: Settings, organization_id: uuid.UUID, body: schemas.MemberCreate, admin: uuid.UUID
) -> schemas.MemberAdded:
    """A person with no address, or with one in the organization's own domains, is the
    organization's to manage: their account is made (or found) and they are members at once.
    Anyone else is invited, and the answer is the same whether or not they have an account."""
    await get_visible(session, Organization, organization_id, "organization")
    if body.username is None and not await owns_domain(session, organization_id, body.email):
        # Inviting first answers a non-admin with row-level security's 403; a refusal after it
        # rolls the invitation back with the rest of the request.
        invitation = await invite(session, settings, organization_id, body.email, body.roles, body.display_name, admin)
        if body.password:
            raise VALIDATION(
                "password: only accounts in your organization's own email domains get a password from you; "
                "this address gets an invitation instead"
            )
        return schemas.MemberAdded(outcome="invited", invitation=schemas.InvitationOut.model_validate(invitation))
    user_id = await managed_account(session, organization_id, body)
    memberships = await grant_roles(session, organization_id, user_id, body.roles)
    if body.password:
        await session.execute(select(func.private.set_managed_password(user_id, await hash_password(body.password))))
    return schemas.MemberAdded(outcome="added", memberships=memberships)


async def owns_domain(session: AsyncSession, organization_id: uuid.UUID, email: str) -> bool:
    domain = email.rsplit("@", 1)[1].lower()
    return bool(
        await session.scalar(
            select(OrganizationDomain.id).where(
                OrganizationDomain.organization_id == organization_id, OrganizationDomain.domain == domain
            )
        )
    )


async def managed_account(session: AsyncSession, organization_id: uuid.UUID, body: schemas.MemberCreate) -> uuid.UUID:
    """The organization's own account for this address or username, made if it does not exist."""
    if body.email is not None:
        found = select(User.id).where(func.lower(User.email) == body.email.lower())
    else:
        found = select(User.id).where(
            User.managed_by_organization_id == organization_id, User.username == body.username
        )
    if user_id := await session.scalar(found):
        return user_id
    if not body.display_name:
        raise VALIDATION("display_name: required for a new person")
    user_id = uuid.uuid4()
    # The database derives the managing organization from an address's domain; row-level
    # security then admits the row only if that is the caller's organization.
    await session.execute(
        insert(User).values(
            id=user_id,
            email=body.email,
            username=body.username,
            display_name=body.display_name,
            managed_by_organization_id=organization_id,
        )
    )
    return user_id


async def grant_roles(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID, roles: list[MembershipRole]
) -> list[Membership]:
    for role in roles:
        await session.execute(
            insert(Membership)
            .values(organization_id=organization_id, user_id=user_id, role=role)
            .on_conflict_do_nothing(index_elements=["organization_id", "user_id", "role"])
        )
    return list(
        await session.scalars(
            select(Membership).where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        )
    )


async def add_membership(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.MembershipCreate
) -> Membership:
    """Another role for someone the organization already has (a member, or an account it manages)."""
    await get_visible(session, User, body.user_id, "person")
    return await add(session, Membership(organization_id=organization_id, **body.model_dump()))


async def remove_membership(session: AsyncSession, organization_id: uuid.UUID, membership_id: uuid.UUID) -> None:
    await remove(session, Membership, membership_id, "membership", Membership.organization_id == organization_id)


async def set_managed_password(session: AsyncSession, user_id: uuid.UUID, password: str) -> None:
    await get_visible(session, User, user_id, "person")
    await session.execute(select(func.private.set_managed_password(user_id, await hash_password(password))))


# Domains and invitations


async def list_domains(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = select(OrganizationDomain).where(OrganizationDomain.organization_id == organization_id)
    return await page_of(session, stmt, OrganizationDomain, paging, schemas.DomainOut)


async def remove_domain(session: AsyncSession, organization_id: uuid.UUID, domain_id: uuid.UUID) -> None:
    await remove(
        session, OrganizationDomain, domain_id, "domain", OrganizationDomain.organization_id == organization_id
    )


async def add_domain(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.DomainCreate
) -> OrganizationDomain:
    await get_visible(session, Organization, organization_id, "organization")
    return await add(session, OrganizationDomain(organization_id=organization_id, domain=body.domain))


async def list_invitations(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = select(Invitation).where(Invitation.organization_id == organization_id)
    return await page_of(session, stmt, Invitation, paging, schemas.InvitationOut)


async def resend_invitation(session: AsyncSession, settings: Settings, invitation_id: uuid.UUID) -> Invitation:
    return await resend(session, settings, await get_visible(session, Invitation, invitation_id, "invitation"))


async def send_held_invitations(session: AsyncSession, settings: Settings, organization_id: uuid.UUID) -> int:
    await check_org_admin(session, organization_id, "send invitations")
    return await send_held(session, settings, organization_id)


async def revoke_invitation(session: AsyncSession, invitation_id: uuid.UUID) -> Invitation:
    invitation = await get_visible(session, Invitation, invitation_id, "invitation")
    if invitation.state == "accepted":
        raise INVITATION_CLOSED("this invitation was already accepted")
    return await change(session, Invitation, invitation_id, {"revoked_at": func.now()}, "invitation")


# Classes, enrollments, guardianships


async def list_classes(session: AsyncSession, paging: PageParams, organization_id: uuid.UUID | None = None) -> Page:
    """Every class the caller may see, or those of one organization."""
    stmt = select(Class) if organization_id is None else select(Class).where(Class.organization_id == organization_id)
    return await page_of(session, stmt, Class, paging, schemas.ClassOut)


async def get_class(session: AsyncSession, class_id: uuid.UUID) -> Class:
    return await get_visible(session, Class, class_id, "class")


async def update_class(session: AsyncSession, class_id: uuid.UUID, body: schemas.ClassUpdate) -> Class:
    return await change(session, Class, class_id, body.model_dump(exclude_unset=True), "class")


async def delete_class(session: AsyncSession, class_id: uuid.UUID) -> None:
    await remove(session, Class, class_id, "class")


async def create_class(session: AsyncSession, organization_id: uuid.UUID, body: schemas.ClassCreate) -> Class:
    return await add(session, Class(organization_id=organization_id, **body.model_dump()))


async def enroll(session: AsyncSession, class_id: uuid.UUID, body: schemas.EnrollmentCreate) -> Enrollment:
    cls = await get_visible(session, Class, class_id, "class")
    return await add(
        session,
        Enrollment(
            organization_id=cls.organization_id, class_id=class_id, user_id=body.user_id, role=MembershipRole(body.role)
        ),
    )


async def list_enrollments(session: AsyncSession, class_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = select(Enrollment).where(Enrollment.class_id == class_id)
    return await page_of(session, stmt, Enrollment, paging, schemas.EnrollmentOut)


async def unenroll(session: AsyncSession, class_id: uuid.UUID, enrollment_id: uuid.UUID) -> None:
    await remove(session, Enrollment, enrollment_id, "enrollment", Enrollment.class_id == class_id)


async def list_guardianships(
    session: AsyncSession, organization_id: uuid.UUID, paging: PageParams, *, parent_id: uuid.UUID | None = None
) -> Page:
    """The organization's guardianships the caller may see (``parent_id``: that parent's only)."""
    stmt = select(Guardianship).where(Guardianship.organization_id == organization_id)
    if parent_id is not None:
        stmt = stmt.where(Guardianship.parent_id == parent_id)
    return await page_of(session, stmt, Guardianship, paging, schemas.GuardianshipOut)


async def delete_guardianship(session: AsyncSession, guardianship_id: uuid.UUID) -> None:
    await remove(session, Guardianship, guardianship_id, "guardianship")


async def create_guardianship(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.GuardianshipCreate
) -> Guardianship:
    return await add(session, Guardianship(organization_id=organization_id, **body.model_dump()))
