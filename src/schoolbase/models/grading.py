import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, org_fk, pg_enum, tenant_fk, user_fk
from schoolbase.models.tenancy import MembershipRole, membership_role


class AssignmentType(enum.StrEnum):
    homework = "homework"
    quiz = "quiz"
    test = "test"
    project = "project"
    essay = "essay"
    other = "other"


class AssignmentState(enum.StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"


class SubmissionStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    late = "late"
    graded = "graded"
    returned = "returned"
    missing = "missing"
    excused = "excused"


class GradeSource(enum.StrEnum):
    teacher = "teacher"
    ai = "ai"


class GradeState(enum.StrEnum):
    ai_suggested = "ai_suggested"
    draft = "draft"
    final = "final"


POINTS = Numeric(8, 2)
PERCENT = Numeric(5, 2)


class GradingScaleLevel(TenantRow, Base):
    __tablename__ = "grading_scale_levels"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "letter"),
        UniqueConstraint("organization_id", "min_percent"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    letter: Mapped[str] = mapped_column(Text)
    min_percent: Mapped[Decimal] = mapped_column(PERCENT)


class AssignmentCategory(TenantRow, Base):
    __tablename__ = "assignment_categories"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "class_id", "id"),
        UniqueConstraint("organization_id", "class_id", "name"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(Text)
    weight_percent: Mapped[Decimal] = mapped_column(PERCENT)
    drop_lowest: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Assignment(TenantRow, Base):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "class_id", "id"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
        tenant_fk("assignment_categories", class_id="class_id", category_id="id"),
        Index("assignments_class_due_idx", "organization_id", "class_id", "due_at"),
        Index("assignments_category_idx", "organization_id", "class_id", "category_id"),
        Index("assignments_created_by_idx", "created_by"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    category_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    type: Mapped[AssignmentType] = mapped_column(
        pg_enum(AssignmentType, "assignment_type"), server_default=text("'homework'")
    )
    points_possible: Mapped[Decimal] = mapped_column(POINTS)
    available_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    close_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[AssignmentState] = mapped_column(
        pg_enum(AssignmentState, "assignment_state"), server_default=text("'draft'")
    )
    accept_late: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    late_penalty_percent_per_day: Mapped[Decimal] = mapped_column(PERCENT, server_default=text("0"))
    late_penalty_floor_percent: Mapped[Decimal] = mapped_column(PERCENT, server_default=text("0"))
    allowed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    visible_to_parents: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[uuid.UUID | None] = user_fk("SET NULL")


class AssignmentRubric(TenantRow, Base):
    __tablename__ = "assignment_rubrics"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "assignment_id"),
        tenant_fk("assignments", assignment_id="id", ondelete="CASCADE"),
    )

    assignment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)


class AssignmentRubricCriterion(TenantRow, Base):
    __tablename__ = "assignment_rubric_criteria"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "rubric_id", "position"),
        tenant_fk("assignment_rubrics", rubric_id="id", ondelete="CASCADE"),
    )

    rubric_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    max_points: Mapped[Decimal] = mapped_column(POINTS)
    levels: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'"))


class AssignmentSubmission(TenantRow, Base):
    __tablename__ = "assignment_submissions"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "id", "assignment_id", "student_id"),
        UniqueConstraint("organization_id", "assignment_id", "student_id", "attempt"),
        tenant_fk("assignments", class_id="class_id", assignment_id="id", ondelete="CASCADE"),
        tenant_fk("enrollments", class_id="class_id", student_id="user_id", student_role="role", ondelete="CASCADE"),
        CheckConstraint("student_role = 'student'"),
        Index("assignment_submissions_student_idx", "organization_id", "student_id"),
        Index("assignment_submissions_enrollment_idx", "organization_id", "class_id", "student_id", "student_role"),
        Index("assignment_submissions_class_idx", "organization_id", "class_id", "assignment_id"),
        # A student's attempts at an assignment, looked up by the assignment alone (its id is unique
        # across organizations): the organization-first indexes would be scanned whole.
        Index("assignment_submissions_assignment_student_idx", "assignment_id", "student_id", "attempt"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    assignment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_role: Mapped[MembershipRole] = mapped_column(membership_role, server_default=text("'student'"))
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    body: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[SubmissionStatus] = mapped_column(
        pg_enum(SubmissionStatus, "submission_status"), server_default=text("'draft'")
    )


class AssignmentGrade(TenantRow, Base):
    __tablename__ = "assignment_grades"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "submission_id"),
        tenant_fk(
            "assignment_submissions",
            submission_id="id",
            assignment_id="assignment_id",
            student_id="student_id",
            ondelete="CASCADE",
        ),
        tenant_fk("assignments", class_id="class_id", assignment_id="id", ondelete="CASCADE"),
        Index("assignment_grades_class_idx", "organization_id", "class_id", "assignment_id"),
        Index("assignment_grades_student_idx", "organization_id", "student_id"),
        Index("assignment_grades_submission_idx", "organization_id", "submission_id", "assignment_id", "student_id"),
        Index("assignment_grades_grader_idx", "grader_id"),
        # A submission's grade, looked up by the submission alone (see the submissions' index).
        Index("assignment_grades_submission_id_idx", "submission_id"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    assignment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    points: Mapped[Decimal] = mapped_column(POINTS)
    points_possible: Mapped[Decimal] = mapped_column(POINTS)
    late_penalty_points: Mapped[Decimal] = mapped_column(POINTS, server_default=text("0"))
    final_points: Mapped[Decimal] = mapped_column(
        POINTS, Computed("greatest(points - late_penalty_points, 0)", persisted=True)
    )
    percentage: Mapped[Decimal] = mapped_column(
        Numeric(7, 2),
        Computed("round(greatest(points - late_penalty_points, 0) / points_possible * 100, 2)", persisted=True),
    )
    letter_grade: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    grader_id: Mapped[uuid.UUID | None] = user_fk("SET NULL")
    source: Mapped[GradeSource] = mapped_column(pg_enum(GradeSource, "grade_source"), server_default=text("'teacher'"))
    state: Mapped[GradeState] = mapped_column(pg_enum(GradeState, "grade_state"), server_default=text("'draft'"))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ai_confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    ai_usage_log_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ai_suggested_points: Mapped[Decimal | None] = mapped_column(POINTS)


class RubricGrade(TenantRow, Base):
    __tablename__ = "rubric_grades"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "grade_id", "criterion_id"),
        tenant_fk("assignment_grades", grade_id="id", ondelete="CASCADE"),
        tenant_fk("assignment_rubric_criteria", criterion_id="id", ondelete="CASCADE"),
        Index("rubric_grades_criterion_idx", "organization_id", "criterion_id"),
    )

    grade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    criterion_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    points: Mapped[Decimal] = mapped_column(POINTS)
    level_title: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)


class GradeHistory(TenantRow, Base):
    __tablename__ = "grade_history"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index("grade_history_grade_idx", "organization_id", "grade_id", "changed_at"),
        Index("grade_history_class_idx", "organization_id", "class_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    grade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    operation: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    old_row: Mapped[dict | None] = mapped_column(JSONB)
    new_row: Mapped[dict | None] = mapped_column(JSONB)
