"""Bulk AI grading runs (revision 20250925_120000). Written only by the server."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, tenant_fk, user_fk


class BulkGradingJobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class BulkGradingItemState(enum.StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"
    skipped = "skipped"


class BulkGradingJob(TenantRow, Base):
    __tablename__ = "bulk_grading_jobs"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("assignments", class_id="class_id", assignment_id="id", ondelete="CASCADE"),
        Index("bulk_grading_jobs_assignment_idx", "organization_id", "class_id", "assignment_id"),
        Index("bulk_grading_jobs_requested_by_idx", "requested_by"),
        Index(
            "bulk_grading_jobs_unfinished_idx",
            "organization_id",
            "assignment_id",
            unique=True,
            postgresql_where=text("state in ('queued', 'running')"),
        ),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    assignment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    requested_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    model: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BulkGradingJobItem(TenantRow, Base):
    __tablename__ = "bulk_grading_job_items"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "job_id", "submission_id"),
        tenant_fk("bulk_grading_jobs", job_id="id", ondelete="CASCADE"),
        tenant_fk("assignment_submissions", submission_id="id", ondelete="CASCADE"),
        Index("bulk_grading_job_items_submission_idx", "organization_id", "submission_id"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    grade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    usage_log_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    error: Mapped[str | None] = mapped_column(Text)
