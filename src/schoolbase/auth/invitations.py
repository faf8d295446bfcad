"""Invitations: how anyone who is not an organization's own managed account joins it.

An org admin invites (as themselves, under row-level security); a database trigger
queues the message in the same transaction. The person accepts with the emailed token
(as ``service_role``, since they may not be anyone's member yet): signed in as that
address, or by choosing a password for a new account. Only then do memberships exist.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.tokens import hash_opaque_token
from schoolbase.config import Settings
from schoolbase.models import (
    Credential,
    Invitation,
    InvitationToken,
    Membership,
    MembershipRole,
    Organization,
    OrganizationDomain,
    User,
)
from schoolbase.problems import (
    ACCOUNT_MANAGED_ELSEWHERE,
    INVALID_TOKEN,
    INVITATION_CLOSED,
    SIGN_IN_REQUIRED,
    TOO_SOON,
    VALIDATION,
    WRONG_ACCOUNT,
)
from schoolbase.roster import claims as roster_claims

INVALID = INVALID_TOKEN("this invitation link was used, replaced, revoked or has expired; ask for a new one")


async def invite(
    session: AsyncSession,
    settings: Settings,
    organization_id: uuid.UUID,
    email: str,
    roles: list[MembershipRole],
    display_name: str | None,
    inviter_id: uuid.UUID,
) -> Invitation:
    """Invite ``email``, or send its open invitation again with these roles (a new link)."""
    values = {
        "organization_id": organization_id,
        "email": email,
        "roles": roles,
        "display_name": display_name,
        "invited_by": inviter_id,
        "expires_at": datetime.now(UTC) + timedelta(days=settings.invitation_days),
        "sent_at": func.now(),
    }
    stmt = insert(Invitation).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Invitation.organization_id, func.lower(Invitation.email)],
        index_where=Invitation.accepted_at.is_(None) & Invitation.revoked_at.is_(None),
        set_={key: stmt.excluded[key] for key in ("roles", "display_name", "expires_at", "sent_at")},
    )
    return await session.scalar(stmt.returning(Invitation))


RESEND_AFTER = timedelta(minutes=1)


async def resend(session: AsyncSession, settings: Settings, invitation: Invitation) -> Invitation:
    """Send it again, or for the first time if it is held (an import made it without mail)."""
    if invitation.state in ("accepted", "revoked"):
        raise INVITATION_CLOSED(f"this invitation was {invitation.state}")
    # The database sends at most one message a minute per invitation; say so instead of pretending.
    wait = timedelta(0) if invitation.sent_at is None else invitation.sent_at + RESEND_AFTER - datetime.now(UTC)
    if wait > timedelta(0):
        seconds = int(wait.total_seconds()) + 1
        raise TOO_SOON(
            f"this invitation was just sent; send it again in {seconds} s", headers={"Retry-After": str(seconds)}
        )
    invitation.sent_at = datetime.now(UTC)
    invitation.expires_at = invitation.sent_at + timedelta(days=settings.invitation_days)
    await session.flush()
    return invitation


async def send_held(session: AsyncSession, settings: Settings, organization_id: uuid.UUID) -> int:
    """Send every held invitation of the organization (setting ``sent_at`` queues each one's
    message, whose link is made when it is sent); how many. Row-level security leaves an
    organization's invitations to its admins."""
    now = datetime.now(UTC)
    sent = await session.scalars(
        update(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            Invitation.sent_at.is_(None),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(sent_at=now, expires_at=now + timedelta(days=settings.invitation_days))
        .returning(Invitation.id)
    )
    return len(sent.all())


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    organization: Organization
    account: User | None


async def open_invitation(session: AsyncSession, token: str, *, lock: bool = False) -> OpenInvitation:
    """The invitation a token stands for, with the account its address has (as ``service_role``)."""
    stmt = (
        select(Invitation, Organization)
        .join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(InvitationToken.token_hash == hash_opaque_token(token))
    )
    row = (await session.execute(stmt.with_for_update(of=Invitation) if lock else stmt)).first()
    if row is None or row[0].state != "pending":
        raise INVALID
    invitation, organization = row
    account = await session.scalar(select(User).where(func.lower(User.email) == invitation.email.lower()))
    return OpenInvitation(invitation, organization, account)


async def accept(
    session: AsyncSession,
    token: str,
    signed_in: uuid.UUID | None,
    password_hash: str | None,
    display_name: str | None,
) -> tuple[User, list[Membership], bool]:
    """Accept: the memberships, and whether a new account was made (which then signs in)."""
    found = await open_invitation(session, token, lock=True)
    invitation, account = found.invitation, found.account
    created = account is None
    if account is not None:
        _check_signed_in_as(account, signed_in)
    else:
        account = await _new_account(session, found, password_hash, display_name)
    for role in invitation.roles:
        stmt = insert(Membership).values(organization_id=invitation.organization_id, user_id=account.id, role=role)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["organization_id", "user_id", "role"]))
    await roster_claims.claim(session, invitation.organization_id, invitation.id, account.id)
    memberships = list(
        await session.scalars(
            select(Membership).where(
                Membership.organization_id == invitation.organization_id, Membership.user_id == account.id
            )
        )
    )
    invitation.accepted_at, invitation.accepted_by = datetime.now(UTC), account.id
    await session.execute(InvitationToken.__table__.delete().where(InvitationToken.invitation_id == invitation.id))
    return account, memberships, created


def _check_signed_in_as(account: User, signed_in: uuid.UUID | None) -> None:
    if account.disabled_at is not None:
        raise INVALID
    if signed_in is None:
        raise SIGN_IN_REQUIRED(
            "this address already has an account: sign in with it, then accept the invitation",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if signed_in != account.id:
        raise WRONG_ACCOUNT("this invitation is for another address: sign in with the invited address to accept it")


async def _new_account(
    session: AsyncSession, found: OpenInvitation, password_hash: str | None, display_name: str | None
) -> User:
    invitation = found.invitation
    domain = invitation.email.rsplit("@", 1)[1].lower()
    owner = await session.scalar(select(OrganizationDomain.organization_id).where(OrganizationDomain.domain == domain))
    if owner is not None and owner != invitation.organization_id:
        # The domain's organization is the only way to an account there.
        raise ACCOUNT_MANAGED_ELSEWHERE(
            "accounts at this address are created by the organization that manages its domain; "
            "ask them for your account, then sign in and accept"
        )
    if password_hash is None:
        raise VALIDATION("password: choose a password for your new account")
    name = display_name or invitation.display_name or invitation.email.split("@", 1)[0]
    user = User(email=invitation.email, display_name=name)
    session.add(user)
    await session.flush()
    session.add(Credential(user_id=user.id, password_hash=password_hash))
    await session.flush()
    return user
