"""Sign-in and joining: credentials, sessions, throttling, invitations, resets, domains.

Everything only the server may read lives in the schema ``server`` (see revision
20261129_170000); invitations and domains are domain tables in ``public`` under RLS.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, Timestamps, org_fk, uuid_pk
from schoolbase.models.tenancy import MembershipRole, membership_role

SERVER = {"schema": "server"}


def _user_fk(ondelete: str = "CASCADE") -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete=ondelete))


class Credential(Timestamps, Base):
    __tablename__ = "credentials"
    __table_args__ = SERVER

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(Text)
    must_change: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class AuthSession(Timestamps, Base):
    """One sign-in. Access tokens name it (``sid``); ending it ends them at once."""

    __tablename__ = "sessions"
    __table_args__ = (Index("sessions_user_idx", "user_id"), SERVER)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = _user_fk()
    client: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Timestamps, Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("refresh_tokens_user_idx", "user_id"),
        Index("refresh_tokens_session_idx", "session_id"),
        SERVER,
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = _user_fk()
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("server.sessions.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Timestamps, Base):
    __tablename__ = "login_failures"
    __table_args__ = SERVER

    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer)


class PasswordReset(Timestamps, Base):
    __tablename__ = "password_resets"
    __table_args__ = (Index("password_resets_user_idx", "user_id"), SERVER)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = _user_fk()
    token_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OrganizationDomain(TenantRow, Base):
    __tablename__ = "organization_domains"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index("organization_domains_org_idx", "organization_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    domain: Mapped[str] = mapped_column(Text, unique=True)


class Invitation(TenantRow, Base):
    """An offer of roles in an organization, until the address's owner accepts it."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index(
            "invitations_open_key",
            "organization_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("accepted_at is null and revoked_at is null"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    email: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[MembershipRole]] = mapped_column(ARRAY(membership_role))
    display_name: Mapped[str | None] = mapped_column(Text)
    invited_by: Mapped[uuid.UUID | None] = _user_fk("SET NULL")
    # None while held: made by a roster import, not yet sent by an org admin.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = _user_fk("SET NULL")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.sent_at is None:
            return "held"
        return "pending" if self.expires_at > datetime.now(UTC) else "expired"


class InvitationToken(Base):
    __tablename__ = "invitation_tokens"
    __table_args__ = SERVER

    invitation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MailMessage(Timestamps, Base):
    """A message in the outbox: queued with what caused it, delivered by a job."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("mail_outbox_pending_idx", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("mail_outbox_reference_idx", "reference_id"),
        SERVER,
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text)
    reference_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    to_address: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
