"""Rostering: each OneRoster import (its report, progress and outcome) and the link from every
imported row's ``sourcedId`` (per organization and source system) to what it became."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, org_fk, pg_enum, tenant_fk, user_fk


class RosterImportState(enum.StrEnum):
    queued = "queued"
    validating = "validating"
    validated = "validated"
    applying = "applying"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class RosterImport(TenantRow, Base):
    __tablename__ = "roster_imports"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index("roster_imports_org_idx", "organization_id", text("created_at DESC")),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    file_name: Mapped[str] = mapped_column(Text)
    source_system: Mapped[str | None] = mapped_column(Text)
    oneroster_version: Mapped[str | None] = mapped_column(Text)
    state: Mapped[RosterImportState] = mapped_column(
        pg_enum(RosterImportState, "roster_import_state"), server_default=text("'queued'")
    )
    dry_run: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    requested_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    accepted_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    report: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    summary: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RosterLink(TenantRow, Base):
    __tablename__ = "roster_links"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "source_system", "entity", "sourced_id"),
        tenant_fk("invitations", invitation_id="id", ondelete="SET NULL"),
        tenant_fk("roster_imports", import_id="id", ondelete="SET NULL"),
        Index("roster_links_target_idx", "organization_id", "entity", "target_id"),
        Index("roster_links_invitation_idx", "organization_id", "invitation_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    source_system: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    sourced_id: Mapped[str] = mapped_column(Text)
    target_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    detail: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    date_last_modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
