"""Schools, academic sessions (years, terms, grading periods), courses, and what closing a
grading period leaves behind: period grade overrides and the period's history."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, org_fk, pg_enum, tenant_fk, user_fk
from schoolbase.models.grading import PERCENT
from schoolbase.models.tenancy import MembershipRole, membership_role


class AcademicSessionType(enum.StrEnum):
    school_year = "school_year"
    semester = "semester"
    term = "term"
    grading_period = "grading_period"


class School(TenantRow, Base):
    __tablename__ = "schools"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index("schools_org_name_idx", "organization_id", "name"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(Text)
    identifier: Mapped[str | None] = mapped_column(Text)


class AcademicSession(TenantRow, Base):
    __tablename__ = "academic_sessions"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        CheckConstraint("end_date >= start_date", name="academic_sessions_dates"),
        CheckConstraint("parent_id <> id", name="academic_sessions_not_own_parent"),
        CheckConstraint("closed_at is null or type = 'grading_period'", name="academic_sessions_only_periods_close"),
        tenant_fk("academic_sessions", parent_id="id", ondelete="CASCADE"),
        Index("academic_sessions_parent_idx", "organization_id", "parent_id"),
        Index("academic_sessions_type_idx", "organization_id", "type", "start_date"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[AcademicSessionType] = mapped_column(pg_enum(AcademicSessionType, "academic_session_type"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    school_year: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    state_note: Mapped[str | None] = mapped_column(Text)


class Course(TenantRow, Base):
    __tablename__ = "courses"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("schools", school_id="id"),
        tenant_fk("academic_sessions", school_year_id="id"),
        Index("courses_school_idx", "organization_id", "school_id"),
        Index("courses_school_year_idx", "organization_id", "school_year_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    school_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    school_year_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    subjects: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    grade_levels: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))


class ClassTerm(TenantRow, Base):
    __tablename__ = "class_terms"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "class_id", "session_id"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
        tenant_fk("academic_sessions", session_id="id", ondelete="CASCADE"),
        Index("class_terms_session_idx", "organization_id", "session_id"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class PeriodGradeOverride(TenantRow, Base):
    """A teacher's grade for a student in a grading period instead of the computed one, with why."""

    __tablename__ = "period_grade_overrides"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "class_id", "session_id", "student_id"),
        CheckConstraint("percent is not null or letter is not null", name="period_grade_overrides_value"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
        tenant_fk("academic_sessions", session_id="id", ondelete="CASCADE"),
        tenant_fk("memberships", student_id="user_id", student_role="role", ondelete="CASCADE"),
        Index("period_grade_overrides_session_idx", "organization_id", "session_id"),
        Index("period_grade_overrides_student_idx", "organization_id", "student_id"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_role: Mapped[MembershipRole] = mapped_column(membership_role, server_default=text("'student'"))
    percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    letter: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")


class GradingPeriodHistory(TenantRow, Base):
    """Closing, reopening and overrides of a grading period, written by triggers only."""

    __tablename__ = "grading_period_history"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("academic_sessions", session_id="id", ondelete="CASCADE"),
        Index("grading_period_history_session_idx", "organization_id", "session_id", "created_at"),
        Index("grading_period_history_class_idx", "organization_id", "class_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    class_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    student_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
