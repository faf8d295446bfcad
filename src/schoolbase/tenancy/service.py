"""Organizations, people, memberships, classes, enrollments and guardianships.

Every query runs as the caller: row-level security decides what exists for them
(see schoolbase.db.crud for the 403-versus-404 rule).
"""

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.passwords import hash_password
from schoolbase.db.crud import add, change, get_visible
from schoolbase.errors import Problem
from schoolbase.models import (
    Class,
    Enrollment,
    Guardianship,
    Membership,
    MembershipRole,
    Organization,
    User,
)
from schoolbase.tenancy import schemas

# Organizations


def organizations_query() -> Select:
    return select(Organization)


async def create_organization(session: AsyncSession, body: schemas.OrganizationCreate) -> Organization:
    return await add(session, Organization(**body.model_dump()))


# People


async def update_user(session: AsyncSession, user_id: uuid.UUID, body: schemas.UserUpdate) -> User:
    values = body.model_dump(exclude_unset=True, exclude={"disabled"})
    if body.disabled is not None:
        values["disabled_at"] = func.now() if body.disabled else None
    return await change(session, User, user_id, values, "user")


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
            schemas.MyOrganization(id=org.id, name=org.name, slug=org.slug, roles=sorted(roles)) for org, roles in rows
        ],
    )


def members_query(organization_id: uuid.UUID) -> Select:
    return (
        select(Membership, User.email, User.display_name)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
    )


def member_out(row: Any) -> schemas.MemberOut:
    membership, email, display_name = row
    return schemas.MemberOut(
        **schemas.MembershipOut.model_validate(membership).model_dump(), email=email, display_name=display_name
    )


async def add_member(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.MemberCreate
) -> list[Membership]:
    """Add a person (new or existing, found by email) with one or more roles."""
    await get_visible(session, Organization, organization_id, "organization")
    user_id = await session.scalar(select(func.private.user_id_for_email(body.email)))
    if user_id is not None and body.password:
        raise Problem(
            409, "person-exists", "Person already exists",
            f"{body.email} already has an account; add them without a password",
        )
    if user_id is None:
        if not body.display_name:
            raise Problem(422, "validation", "Invalid request", "display_name is required for a new person")
        user_id = uuid.uuid4()
        # No RETURNING: the new person becomes visible to the admin only once a membership exists.
        await session.execute(insert(User).values(id=user_id, email=body.email, display_name=body.display_name))
    for role in body.roles:
        await session.execute(
            insert(Membership)
            .values(organization_id=organization_id, user_id=user_id, role=role)
            .on_conflict_do_nothing(index_elements=["organization_id", "user_id", "role"])
        )
    if body.password:
        await session.execute(
            select(func.private.set_initial_password(user_id, await hash_password(body.password)))
        )
    return list(
        (
            await session.scalars(
                select(Membership).where(Membership.organization_id == organization_id, Membership.user_id == user_id)
            )
        ).all()
    )


async def add_membership(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.MembershipCreate
) -> Membership:
    return await add(session, Membership(organization_id=organization_id, **body.model_dump()))


# Classes, enrollments, guardianships


def classes_query(organization_id: uuid.UUID | None = None) -> Select:
    stmt = select(Class)
    return stmt if organization_id is None else stmt.where(Class.organization_id == organization_id)


async def create_class(session: AsyncSession, organization_id: uuid.UUID, body: schemas.ClassCreate) -> Class:
    return await add(session, Class(organization_id=organization_id, **body.model_dump()))


async def enroll(session: AsyncSession, class_id: uuid.UUID, body: schemas.EnrollmentCreate) -> Enrollment:
    cls = await get_visible(session, Class, class_id, "class")
    return await add(
        session,
        Enrollment(organization_id=cls.organization_id, class_id=class_id, user_id=body.user_id, role=MembershipRole(body.role)),
    )


def enrollments_query(class_id: uuid.UUID) -> Select:
    return select(Enrollment).where(Enrollment.class_id == class_id)


def guardianships_query(organization_id: uuid.UUID) -> Select:
    return select(Guardianship).where(Guardianship.organization_id == organization_id)


async def create_guardianship(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.GuardianshipCreate
) -> Guardianship:
    return await add(session, Guardianship(organization_id=organization_id, **body.model_dump()))
