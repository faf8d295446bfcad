import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from schoolbase.auth.deps import CurrentUser, MailKick, Session, get_settings
from schoolbase.config import Settings
from schoolbase.models import (
    Class,
    Enrollment,
    Guardianship,
    Invitation,
    Membership,
    Organization,
    OrganizationDomain,
    User,
)
from schoolbase.pagination import Page, PageParams, page_params
from schoolbase.tenancy import schemas, service

router = APIRouter(tags=["tenancy"])
Paging = Annotated[PageParams, Depends(page_params)]
Config = Annotated[Settings, Depends(get_settings)]


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
    return await service.get_user(session, user_id)


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
    return await service.list_organizations(session, paging)


@router.get("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
async def get_organization(organization_id: uuid.UUID, _: CurrentUser, session: Session) -> Organization:
    return await service.get_organization(session, organization_id)


@router.patch("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
async def update_organization(
    organization_id: uuid.UUID, body: schemas.OrganizationUpdate, _: CurrentUser, session: Session
) -> Organization:
    return await service.update_organization(session, organization_id, body)


@router.delete("/organizations/{organization_id}", status_code=204)
async def delete_organization(organization_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await service.delete_organization(session, organization_id)


# Members


@router.get("/organizations/{organization_id}/members", response_model=Page[schemas.MemberOut])
async def list_members(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Org admins see everyone; other members see the staff (org admins and teachers)."""
    return await service.list_members(session, organization_id, paging)


@router.post(
    "/organizations/{organization_id}/members",
    response_model=schemas.MemberAdded,
    status_code=201,
    responses={202: {"model": schemas.MemberAdded, "description": "an invitation was sent"}},
)
async def add_member(
    organization_id: uuid.UUID,
    body: schemas.MemberCreate,
    user: CurrentUser,
    session: Session,
    settings: Config,
    response: Response,
    mail: MailKick,
) -> schemas.MemberAdded:
    """Add a person with one or more roles. An address in one of the organization's own domains,
    or a username for a person without email, is a managed account: made at once (201), with an
    optional first password the person must change. Any other address is invited (202), alike
    whether or not it has an account; the person becomes a member on accepting."""
    added = await service.add_member(session, settings, organization_id, body, user.user_id)
    if added.outcome == "invited":
        response.status_code = 202
        mail()
    return added


@router.post("/organizations/{organization_id}/memberships", response_model=schemas.MembershipOut, status_code=201)
async def add_membership(
    organization_id: uuid.UUID, body: schemas.MembershipCreate, _: CurrentUser, session: Session
) -> Membership:
    return await service.add_membership(session, organization_id, body)


@router.delete("/organizations/{organization_id}/memberships/{membership_id}", status_code=204)
async def remove_membership(
    organization_id: uuid.UUID, membership_id: uuid.UUID, _: CurrentUser, session: Session
) -> None:
    await service.remove_membership(session, organization_id, membership_id)


@router.put("/users/{user_id}/password", status_code=204)
async def set_managed_password(
    user_id: uuid.UUID, body: schemas.ManagedPassword, _: CurrentUser, session: Session
) -> None:
    """Org admins of the organization that manages the account: set its password (first or
    reset). The person must change it at the next sign-in; their sessions end."""
    await service.set_managed_password(session, user_id, body.password)


# Domains


@router.get("/organizations/{organization_id}/domains", response_model=Page[schemas.DomainOut])
async def list_domains(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """The email domains the organization owns: their accounts are managed by it (org admins see them)."""
    return await service.list_domains(session, organization_id, paging)


@router.post("/organizations/{organization_id}/domains", response_model=schemas.DomainOut, status_code=201)
async def add_domain(
    organization_id: uuid.UUID, body: schemas.DomainCreate, _: CurrentUser, session: Session
) -> OrganizationDomain:
    """Super admins, once the organization has shown it controls the domain. Existing accounts
    at addresses in it become managed by the organization."""
    return await service.add_domain(session, organization_id, body)


@router.delete("/organizations/{organization_id}/domains/{domain_id}", status_code=204)
async def remove_domain(organization_id: uuid.UUID, domain_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Super admins. Accounts at addresses in the domain are no longer managed by the organization."""
    await service.remove_domain(session, organization_id, domain_id)


# Invitations


@router.get("/organizations/{organization_id}/invitations", response_model=Page[schemas.InvitationOut])
async def list_invitations(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Org admins: every invitation with the address as typed and its state."""
    return await service.list_invitations(session, organization_id, paging)


@router.post("/invitations/{invitation_id}/resend", response_model=schemas.InvitationOut)
async def resend_invitation(
    invitation_id: uuid.UUID, _: CurrentUser, session: Session, settings: Config, mail: MailKick
) -> Invitation:
    """Send again with a new link (the old one stops working) and a new expiry; a held invitation
    (made by a roster import) is sent for the first time."""
    invitation = await service.resend_invitation(session, settings, invitation_id)
    mail()
    return invitation


@router.post("/organizations/{organization_id}/invitations/send-held", response_model=schemas.HeldSent)
async def send_held_invitations(
    organization_id: uuid.UUID, _: CurrentUser, session: Session, settings: Config, mail: MailKick
) -> schemas.HeldSent:
    """Org admins: send every held invitation (those a roster import made without mail). One
    held invitation is sent with ``POST /invitations/{id}/resend``."""
    sent = await service.send_held_invitations(session, settings, organization_id)
    mail()
    return schemas.HeldSent(sent=sent)


@router.post("/invitations/{invitation_id}/revoke", response_model=schemas.InvitationOut)
async def revoke_invitation(invitation_id: uuid.UUID, _: CurrentUser, session: Session) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    return await service.revoke_invitation(session, invitation_id)


# Classes


@router.get("/classes", response_model=Page[schemas.ClassOut])
async def list_my_classes(_: CurrentUser, session: Session, paging: Paging) -> Page:
    """Every class I may see, in all my organizations."""
    return await service.list_classes(session, paging)


@router.get("/organizations/{organization_id}/classes", response_model=Page[schemas.ClassOut])
async def list_classes(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await service.list_classes(session, paging, organization_id)


@router.post("/organizations/{organization_id}/classes", response_model=schemas.ClassOut, status_code=201)
async def create_class(
    organization_id: uuid.UUID, body: schemas.ClassCreate, _: CurrentUser, session: Session
) -> Class:
    return await service.create_class(session, organization_id, body)


@router.get("/classes/{class_id}", response_model=schemas.ClassOut)
async def get_class(class_id: uuid.UUID, _: CurrentUser, session: Session) -> Class:
    return await service.get_class(session, class_id)


@router.patch("/classes/{class_id}", response_model=schemas.ClassOut)
async def update_class(class_id: uuid.UUID, body: schemas.ClassUpdate, _: CurrentUser, session: Session) -> Class:
    return await service.update_class(session, class_id, body)


@router.delete("/classes/{class_id}", status_code=204)
async def delete_class(class_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await service.delete_class(session, class_id)


# Enrollments


@router.get("/classes/{class_id}/enrollments", response_model=Page[schemas.EnrollmentOut])
async def list_enrollments(class_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await service.list_enrollments(session, class_id, paging)


@router.post("/classes/{class_id}/enrollments", response_model=schemas.EnrollmentOut, status_code=201)
async def enroll(class_id: uuid.UUID, body: schemas.EnrollmentCreate, _: CurrentUser, session: Session) -> Enrollment:
    """Org admins enroll anyone; a teacher enrolls students in their own class."""
    return await service.enroll(session, class_id, body)


@router.delete("/classes/{class_id}/enrollments/{enrollment_id}", status_code=204)
async def unenroll(class_id: uuid.UUID, enrollment_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await service.unenroll(session, class_id, enrollment_id)


# Guardianships


@router.get("/organizations/{organization_id}/guardianships", response_model=Page[schemas.GuardianshipOut])
async def list_guardianships(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await service.list_guardianships(session, organization_id, paging)


@router.post("/organizations/{organization_id}/guardianships", response_model=schemas.GuardianshipOut, status_code=201)
async def create_guardianship(
    organization_id: uuid.UUID, body: schemas.GuardianshipCreate, _: CurrentUser, session: Session
) -> Guardianship:
    return await service.create_guardianship(session, organization_id, body)


@router.delete("/guardianships/{guardianship_id}", status_code=204)
async def delete_guardianship(guardianship_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await service.delete_guardianship(session, guardianship_id)
