"""Response shapes of what grading reads back as a whole: a class's gradebook, and a
student's (or parent's) own assignments with their latest attempt and posted grade."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from schoolbase.models import AssignmentState, AssignmentType, GradeState, SubmissionStatus


class GradebookColumn(BaseModel):
    assignment_id: uuid.UUID
    title: str
    category_id: uuid.UUID
    points_possible: Decimal
    due_at: datetime | None
    state: AssignmentState


class GradebookCategory(BaseModel):
    id: uuid.UUID
    name: str
    weight_percent: Decimal
    drop_lowest: int


class GradebookCell(BaseModel):
    assignment_id: uuid.UUID
    status: SubmissionStatus | None = Field(description="of the latest attempt; null when nothing was handed in")
    grade_id: uuid.UUID | None
    points: Decimal | None
    final_points: Decimal | None
    points_possible: Decimal
    percentage: Decimal | None
    letter_grade: str | None
    grade_state: GradeState | None
    posted_at: datetime | None
    counted: bool = Field(description="counts toward the course percentage (before dropping the lowest)")


class PeriodOverride(BaseModel):
    """A teacher's period grade for the student instead of the computed one, and why."""

    percent: Decimal | None
    letter: str | None
    reason: str
    updated_at: datetime


class GradebookRow(BaseModel):
    student_id: uuid.UUID
    display_name: str | None
    course_percentage: Decimal | None
    course_letter: str | None
    override: PeriodOverride | None = Field(
        default=None, description="in a grading period's gradebook: the override beside the computed grade"
    )
    cells: list[GradebookCell]


class Gradebook(BaseModel):
    class_id: uuid.UUID
    period_id: uuid.UUID | None = Field(default=None, description="the grading period; null for the whole year")
    categories: list[GradebookCategory]
    assignments: list[GradebookColumn]
    students: list[GradebookRow]


# Student and parent views


class MySubmission(BaseModel):
    id: uuid.UUID
    attempt: int
    status: SubmissionStatus
    submitted_at: datetime | None


class MyGrade(BaseModel):
    points: Decimal
    late_penalty_points: Decimal
    final_points: Decimal
    points_possible: Decimal
    percentage: Decimal
    letter_grade: str | None
    feedback: str | None
    posted_at: datetime | None


class MyAssignment(BaseModel):
    id: uuid.UUID
    class_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    type: AssignmentType
    state: AssignmentState
    points_possible: Decimal
    available_from: datetime | None
    due_at: datetime | None
    close_at: datetime | None
    accept_late: bool
    allowed_attempts: int
    status: SubmissionStatus | Literal["not_submitted"] = Field(description="of the latest attempt")
    submission: MySubmission | None
    grade: MyGrade | None = Field(description="once posted")
