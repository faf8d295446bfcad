"""What an invitation or password-reset message says, with a fresh link.

The mailer calls ``message_context`` (as ``service_role``) when it first renders an
outbox message. The token is minted here, at that moment, and only its hash is
stored: a newer message for the same invitation or reset replaces the older link.
"""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.tokens import hash_opaque_token, new_opaque_token
from schoolbase.config import Settings
from schoolbase.models import (
    Invitation,
    InvitationToken,
    MailMessage,
    Organization,
    PasswordReset,
    User,
)

INVITATION_PATH = "/accept-invitation"
RESET_PATH = "/reset-password"


def link(settings: Settings, path: str, token: str) -> str:
    # The token rides in the query string: request logs record only the path.
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


async def message_context(session: AsyncSession, settings: Settings, message: MailMessage) -> dict[str, Any] | None:
    """Template variables for ``message``; None when what it is about is no longer open."""
    if message.kind == "invitation":
        return await _invitation_context(session, settings, message)
    if message.kind == "password_reset":
        return await _reset_context(session, settings, message)
    raise ValueError(f"unknown message kind {message.kind!r}")


async def _invitation_context(session: AsyncSession, settings: Settings, message: MailMessage) -> dict | None:
    row = (
        await session.execute(
            select(Invitation, Organization.name)
            .join(Organization, Organization.id == Invitation.organization_id)
            .where(Invitation.id == message.reference_id)
        )
    ).first()
    if row is None or not _open(row[0].accepted_at or row[0].revoked_at, row[0].expires_at):
        return None
    invitation, organization = row
    token = new_opaque_token()
    stmt = insert(InvitationToken).values(invitation_id=invitation.id, token_hash=hash_opaque_token(token))
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["invitation_id"], set_={"token_hash": stmt.excluded.token_hash})
    )
    return {
        "link": link(settings, INVITATION_PATH, token),
        "organization": organization,
        "roles": [str(role) for role in invitation.roles],
        "display_name": invitation.display_name,
        "expires_at": invitation.expires_at,
    }


async def _reset_context(session: AsyncSession, settings: Settings, message: MailMessage) -> dict | None:
    row = (
        await session.execute(
            select(PasswordReset, User.display_name)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.id == message.reference_id)
        )
    ).first()
    if row is None or not _open(row[0].used_at, row[0].expires_at):
        return None
    reset, display_name = row
    token = new_opaque_token()
    reset.token_hash = hash_opaque_token(token)
    await session.flush()
    return {"link": link(settings, RESET_PATH, token), "display_name": display_name, "expires_at": reset.expires_at}


def _open(closed_at: datetime | None, expires_at: datetime) -> bool:
    return closed_at is None and expires_at > datetime.now(UTC)
