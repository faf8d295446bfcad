"""What the teacher's pages read, shaped for the page, on the page's own session (as the
teacher, under row-level security: a page shows nothing the API would not). Who may open a
class or an assignment is the API's rule: the class's teachers and the organization's admins
(403); what another organization owns is not there (404)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from schoolbase.grading import assignments, rubrics
from schoolbase.grading.access import require_manager
from schoolbase.grading.schemas import RubricOut
from schoolbase.grading.submissions import turned_in_status
from schoolbase.models import (
    Assignment,
    AssignmentCategory,
    AssignmentGrade,
    AssignmentRubric,
    AssignmentSubmission,
    Class,
    Enrollment,
    GradeState,
    MembershipRole,
    SubmissionStatus,
    User,
)
from schoolbase.problems import forbidden
from schoolbase.tenancy import service as tenancy
from schoolbase.web.context import PageContext

Row = TypeVar("Row")

# My classes


@dataclass
class ClassCard:
    klass: Class
    students: int


def _students_of(class_id) -> Select:
    return select(func.count()).where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)


async def my_classes(session: AsyncSession, page: PageContext) -> list[ClassCard]:
    """The classes of the organization looked at where I am a teacher, by name."""
    if page.organization is None or not page.has("teacher"):
        raise forbidden("this page is for teachers")
    mine = aliased(Enrollment)
    stmt = (
        select(Class, _students_of(Class.id).scalar_subquery())
        .join(
            mine,
            and_(mine.class_id == Class.id, mine.user_id == page.user_id, mine.role == MembershipRole.teacher),
        )
        .where(Class.organization_id == page.organization.id)
    )
    return await _by_name(session, stmt, Class.name, Class.id, ClassCard)


async def _by_name(session: AsyncSession, stmt: Select, name: Any, key: Any, row: Callable[..., Row]) -> list[Row]:
    """The rows of ``stmt`` in the order people look for them: by name, whatever its case."""
    return [row(*found) for found in await session.execute(stmt.order_by(func.lower(name), key))]


# A class and its assignments, as their teacher


def _look_at(page: PageContext, organization_id: uuid.UUID) -> None:
    """A class of another of my organizations is shown in its own organization (time zone, navigation)."""
    if page.organization is not None and page.organization.id == organization_id:
        return
    page.organization = next((o for o in page.me.organizations if o.id == organization_id), page.organization)


async def taught_class(session: AsyncSession, page: PageContext, class_id: uuid.UUID) -> Class:
    klass = await tenancy.get_class(session, class_id)
    await require_manager(session, klass.organization_id, klass.id, "open the teacher's pages of this class")
    _look_at(page, klass.organization_id)
    return klass


async def managed_assignment(session: AsyncSession, page: PageContext, assignment_id: uuid.UUID) -> Assignment:
    assignment = await assignments.get_assignment(session, assignment_id)
    await require_manager(session, assignment.organization_id, assignment.class_id, "open the teacher's pages")
    _look_at(page, assignment.organization_id)
    return assignment


@dataclass
class Student:
    id: uuid.UUID
    name: str


async def roster(session: AsyncSession, class_id: uuid.UUID) -> list[Student]:
    """The class's students, by name."""
    stmt = (
        select(User.id, User.display_name)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)
    )
    return await _by_name(session, stmt, User.display_name, User.id, Student)


@dataclass
class CategoryRow:
    category: AssignmentCategory
    assignments: int


async def categories(session: AsyncSession, class_id: uuid.UUID) -> list[CategoryRow]:
    """The class's categories by name, each with how many assignments it holds."""
    used = select(func.count()).where(Assignment.category_id == AssignmentCategory.id).scalar_subquery()
    stmt = select(AssignmentCategory, used).where(AssignmentCategory.class_id == class_id)
    return await _by_name(session, stmt, AssignmentCategory.name, AssignmentCategory.id, CategoryRow)


@dataclass
class AssignmentRow:
    assignment: Assignment
    category: str
    turned_in: int
    graded: int


async def class_assignments(
    session: AsyncSession, class_id: uuid.UUID, category_names: dict[uuid.UUID, str]
) -> list[AssignmentRow]:
    """The class's assignments by due date (undated last), with how many students turned work
    in and how many have a final grade."""
    turned_in = (
        select(func.count(distinct(AssignmentSubmission.student_id)))
        .where(AssignmentSubmission.assignment_id == Assignment.id, AssignmentSubmission.submitted_at.is_not(None))
        .scalar_subquery()
    )
    graded = (
        select(func.count(distinct(AssignmentGrade.student_id)))
        .where(AssignmentGrade.assignment_id == Assignment.id, AssignmentGrade.state == GradeState.final)
        .scalar_subquery()
    )
    stmt = (
        select(Assignment, turned_in, graded)
        .where(Assignment.class_id == class_id)
        .order_by(Assignment.due_at.asc().nulls_last(), Assignment.created_at, Assignment.id)
    )
    return [
        AssignmentRow(assignment, category_names.get(assignment.category_id, "—"), turned, marked)
        for assignment, turned, marked in await session.execute(stmt)
    ]


async def rubric_of(session: AsyncSession, assignment_id: uuid.UUID) -> RubricOut | None:
    if await session.scalar(select(AssignmentRubric.id).where(AssignmentRubric.assignment_id == assignment_id)):
        return await rubrics.get_rubric(session, assignment_id)
    return None


# An assignment's submissions

STATUS_LABELS = {
    "on_time": "On time",
    "late": "Late",
    "missing": "Missing",
    "excused": "Excused",
    "not_submitted": "Not turned in",
}
_SHOWN = {
    SubmissionStatus.submitted: "on_time",
    SubmissionStatus.late: "late",
    SubmissionStatus.missing: "missing",
    SubmissionStatus.excused: "excused",
}


@dataclass
class StudentWork:
    student: Student
    submission: AssignmentSubmission | None
    grade: AssignmentGrade | None
    due_at: datetime | None

    @property
    def status(self) -> str:
        """on_time, late, missing, excused or not_submitted: what became of the latest attempt."""
        submission = self.submission
        if submission is None or submission.status == SubmissionStatus.draft:
            return "not_submitted"
        if submission.status in (SubmissionStatus.graded, SubmissionStatus.returned):
            return _SHOWN[turned_in_status(submission.submitted_at, self.due_at)]
        return _SHOWN[submission.status]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def may_excuse(self) -> bool:
        return self.submission is None or self.submission.status != SubmissionStatus.excused

    @property
    def may_mark_missing(self) -> bool:
        """Only work never turned in can be missing (the API's rule)."""
        submission = self.submission
        return submission is None or (
            submission.submitted_at is None and submission.status in (SubmissionStatus.draft, SubmissionStatus.excused)
        )

    @property
    def grade_label(self) -> str | None:
        if self.grade is None:
            return None
        if self.grade.posted_at is not None:
            return "Posted"
        return {GradeState.ai_suggested: "AI suggestion", GradeState.draft: "Draft", GradeState.final: "Final"}[
            self.grade.state
        ]


@dataclass
class Submissions:
    work: list[StudentWork]
    unposted: int  # final grades not posted yet

    def count(self, status: str) -> int:
        return sum(1 for w in self.work if w.status == status)


async def submissions(session: AsyncSession, assignment: Assignment) -> Submissions:
    """Every enrolled student, by name, with their latest attempt and its grade."""
    students = await roster(session, assignment.class_id)
    stmt = (
        select(AssignmentSubmission, AssignmentGrade)
        .outerjoin(AssignmentGrade, AssignmentGrade.submission_id == AssignmentSubmission.id)
        .where(AssignmentSubmission.assignment_id == assignment.id)
        .order_by(AssignmentSubmission.attempt)
    )
    latest = {submission.student_id: (submission, grade) for submission, grade in await session.execute(stmt)}
    work = [StudentWork(s, *latest.get(s.id, (None, None)), assignment.due_at) for s in students]
    unposted = sum(
        1 for w in work if w.grade is not None and w.grade.state == GradeState.final and w.grade.posted_at is None
    )
    return Submissions(work, unposted)


async def past_due(session: AsyncSession, assignment: Assignment) -> bool:
    """Due already, by the database's clock (the one mark-missing asks)."""
    if assignment.due_at is None:
        return False
    return bool(await session.scalar(select(func.now() > assignment.due_at)))


def total_weight(rows: list[CategoryRow]) -> Decimal:
    return sum((row.category.weight_percent for row in rows), Decimal(0))
