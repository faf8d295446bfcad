import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.db import crud
from schoolbase.models import (
    Class,
    Enrollment,
    Guardianship,
    Membership,
    Organization,
    User,
)
from schoolbase.pagination import Page, PageParams, page_of, page_params, paginate
from schoolbase.tenancy import schemas, service

router = APIRouter(tags=["tenancy"])
Paging = Annotated[PageParams, Depends(page_params)]
def no_content() -> Response:
    return Response(status_code=204)


# Me and users


@router.get("/me", response_model=schemas.Me)
async def get_me(user: CurrentUser, session: Session) -> schemas.Me:
    """My profile, my organizations and my roles in each."""
    return await service.me(session, user.user_id)


@router.patch("/me", response_model=schemas.UserOut)
async def update_me(body: schemas.UserUpdate, user: CurrentUser, session: Session) -> User:
    return await service.update_user(session, user.user_id, body)


@router.get("/users/{user_id}", response_model=schemas.UserOut)
async def get_user(user_id: uuid.UUID, _: CurrentUser, session: Session) -> User:
    return await crud.get_visible(session, User, user_id, "user")


@router.patch("/users/{user_id}", response_model=schemas.UserOut)
async def update_user(user_id: uuid.UUID, body: schemas.UserUpdate, _: CurrentUser, session: Session) -> User:
    """Yourself: display name and avatar. A super admin: anything, including disabling."""
    return await service.update_user(session, user_id, body)


# Organizations


@router.post("/organizations", response_model=schemas.OrganizationOut, status_code=201)
async def create_organization(body: schemas.OrganizationCreate, _: CurrentUser, session: Session) -> Organization:
    """Super admins only."""
    return await service.create_organization(session, body)


@router.get("/organizations", response_model=Page[schemas.OrganizationOut])
async def list_organizations(_: CurrentUser, session: Session, paging: Paging) -> Page:
    return await page_of(session, service.organizations_query(), Organization, paging, schemas.OrganizationOut)


@router.get("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
async def get_organization(organization_id: uuid.UUID, _: CurrentUser, session: Session) -> Organization:
    return await crud.get_visible(session, Organization, organization_id, "organization")


@router.patch("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
async def update_organization(
    organization_id: uuid.UUID, body: schemas.OrganizationUpdate, _: CurrentUser, session: Session
) -> Organization:
    values = body.model_dump(exclude_unset=True)
    return await crud.change(session, Organization, organization_id, values, "organization")


@router.delete("/organizations/{organization_id}", status_code=204)
async def delete_organization(organization_id: uuid.UUID, _: CurrentUser, session: Session) -> Response:
    await crud.remove(session, Organization, organization_id, "organization")
    return no_content()


# Members


@router.get("/organizations/{organization_id}/members", response_model=Page[schemas.MemberOut])
async def list_members(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Org admins see everyone; other members see the staff (org admins and teachers)."""
    rows, cursor = await paginate(session, service.members_query(organization_id), Membership, paging)
    return Page(items=[service.member_out(row) for row in rows], next_cursor=cursor)


@router.post("/organizations/{organization_id}/members", response_model=list[schemas.MembershipOut], status_code=201)
async def add_member(
    organization_id: uuid.UUID, body: schemas.MemberCreate, _: CurrentUser, session: Session
) -> list[Membership]:
    """Add a person by email with one or more roles; a new person may be given a first password."""
    return await service.add_member(session, organization_id, body)


@router.post("/organizations/{organization_id}/memberships", response_model=schemas.MembershipOut, status_code=201)
async def add_membership(
    organization_id: uuid.UUID, body: schemas.MembershipCreate, _: CurrentUser, session: Session
) -> Membership:
    return await service.add_membership(session, organization_id, body)


@router.delete("/organizations/{organization_id}/memberships/{membership_id}", status_code=204)
async def remove_membership(
    organization_id: uuid.UUID, membership_id: uuid.UUID, _: CurrentUser, session: Session
) -> Response:
    await crud.remove(session, Membership, membership_id, "membership", Membership.organization_id == organization_id)
    return no_content()


# Classes


@router.get("/classes", response_model=Page[schemas.ClassOut])
async def list_my_classes(_: CurrentUser, session: Session, paging: Paging) -> Page:
    """Every class I may see, in all my organizations."""
    return await page_of(session, service.classes_query(), Class, paging, schemas.ClassOut)


@router.get("/organizations/{organization_id}/classes", response_model=Page[schemas.ClassOut])
async def list_classes(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await page_of(session, service.classes_query(organization_id), Class, paging, schemas.ClassOut)


@router.post("/organizations/{organization_id}/classes", response_model=schemas.ClassOut, status_code=201)
async def create_class(
    organization_id: uuid.UUID, body: schemas.ClassCreate, _: CurrentUser, session: Session
) -> Class:
    return await service.create_class(session, organization_id, body)


@router.get("/classes/{class_id}", response_model=schemas.ClassOut)
async def get_class(class_id: uuid.UUID, _: CurrentUser, session: Session) -> Class:
    return await crud.get_visible(session, Class, class_id, "class")


@router.patch("/classes/{class_id}", response_model=schemas.ClassOut)
async def update_class(class_id: uuid.UUID, body: schemas.ClassUpdate, _: CurrentUser, session: Session) -> Class:
    return await crud.change(session, Class, class_id, body.model_dump(exclude_unset=True), "class")


@router.delete("/classes/{class_id}", status_code=204)
async def delete_class(class_id: uuid.UUID, _: CurrentUser, session: Session) -> Response:
    await crud.remove(session, Class, class_id, "class")
    return no_content()


# Enrollments


@router.get("/classes/{class_id}/enrollments", response_model=Page[schemas.EnrollmentOut])
async def list_enrollments(class_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await page_of(session, service.enrollments_query(class_id), Enrollment, paging, schemas.EnrollmentOut)


@router.post("/classes/{class_id}/enrollments", response_model=schemas.EnrollmentOut, status_code=201)
async def enroll(class_id: uuid.UUID, body: schemas.EnrollmentCreate, _: CurrentUser, session: Session) -> Enrollment:
    """Org admins enroll anyone; a teacher enrolls students in their own class."""
    return await service.enroll(session, class_id, body)


@router.delete("/classes/{class_id}/enrollments/{enrollment_id}", status_code=204)
async def unenroll(class_id: uuid.UUID, enrollment_id: uuid.UUID, _: CurrentUser, session: Session) -> Response:
    await crud.remove(session, Enrollment, enrollment_id, "enrollment", Enrollment.class_id == class_id)
    return no_content()


# Guardianships


@router.get("/organizations/{organization_id}/guardianships", response_model=Page[schemas.GuardianshipOut])
async def list_guardianships(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    stmt = service.guardianships_query(organization_id)
    return await page_of(session, stmt, Guardianship, paging, schemas.GuardianshipOut)


@router.post("/organizations/{organization_id}/guardianships", response_model=schemas.GuardianshipOut, status_code=201)
async def create_guardianship(
    organization_id: uuid.UUID, body: schemas.GuardianshipCreate, _: CurrentUser, session: Session
) -> Guardianship:
    return await service.create_guardianship(session, organization_id, body)


@router.delete("/guardianships/{guardianship_id}", status_code=204)
async def delete_guardianship(guardianship_id: uuid.UUID, _: CurrentUser, session: Session) -> Response:
    await crud.remove(session, Guardianship, guardianship_id, "guardianship")
    return no_content()
