"""What grading reads back as a whole: a class's gradebook (JSON, and a table for CSV
export) and a student's own assignments (or a parent's child's), each as the caller may
see them: staff see current grades, a student or parent only posted ones."""

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import get_visible
from schoolbase.grading.assignments import assignments_query
from schoolbase.grading.categories import categories_query
from schoolbase.grading.gradebook_schemas import (
    Gradebook,
    GradebookCategory,
    GradebookCell,
    GradebookColumn,
    GradebookRow,
    MyAssignment,
    MyGrade,
    MySubmission,
    PeriodOverride,
)
from schoolbase.grading.submissions import turned_in_status
from schoolbase.models import (
    AcademicSession,
    Assignment,
    AssignmentCategory,
    AssignmentGrade,
    AssignmentState,
    AssignmentSubmission,
    Class,
    Enrollment,
    GradeState,
    MembershipRole,
    PeriodGradeOverride,
    SubmissionStatus,
    User,
)
from schoolbase.pagination import Page, PageParams, paginate_by
from schoolbase.problems import VALIDATION

# Sorts assignments without a due date after every dated one.
NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=UTC)

# The course letter once per student (materialized: inlined, the letter was computed for
# every one of the class's cells, which took longer than the gradebook itself).
_GRADEBOOK = text(
    """
    with g as (select * from public.class_gradebook(:class_id, :period_id)),
    course as materialized (
      select s.student_id, private.letter_grade(:organization_id, s.course_percentage) as letter
      from (select distinct g.student_id, g.course_percentage from g) s
    )
    select g.*, course.letter as course_letter from g join course using (student_id)
    """
)

Key = tuple[uuid.UUID, uuid.UUID]  # (student, assignment)


async def gradebook(session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID | None = None) -> Gradebook:
    """Per student and published assignment: the latest attempt's status and grade, and the
    weighted course percentage with the lowest scores dropped, all computed by
    ``public.class_gradebook`` in one query, as the caller sees them (a teacher: current
    grades; a student or parent: their own posted ones). With ``period_id``: only the
    assignments that fall in that grading period, the course percentage over them, and each
    student's override of the period grade where the caller may see it."""
    cls = await get_visible(session, Class, class_id, "class")
    overrides = {} if period_id is None else await _period_overrides(session, cls, period_id)
    in_period = (
        true()
        if period_id is None
        else func.private.grading_period_of(Assignment.organization_id, Assignment.class_id, Assignment.due_at)
        == period_id
    )
    categories = (
        await session.scalars(categories_query(cls).order_by(AssignmentCategory.name, AssignmentCategory.id))
    ).all()
    columns = (
        await session.scalars(
            assignments_query(cls)
            .where(Assignment.state != AssignmentState.draft, in_period)
            .order_by(Assignment.due_at.asc().nulls_last(), Assignment.created_at, Assignment.id)
        )
    ).all()
    students = (
        await session.execute(
            select(Enrollment.user_id, User.display_name)
            .outerjoin(User, User.id == Enrollment.user_id)
            .where(
                Enrollment.organization_id == cls.organization_id,
                Enrollment.class_id == class_id,
                Enrollment.role == MembershipRole.student,
            )
            .order_by(User.display_name, Enrollment.user_id)
        )
    ).all()
    cells: dict[Key, Any] = {}
    course: dict[uuid.UUID, tuple[Decimal | None, str | None]] = {}
    params = {"class_id": class_id, "period_id": period_id, "organization_id": cls.organization_id}
    for row in await session.execute(_GRADEBOOK, params):
        cells[(row.student_id, row.assignment_id)] = row
        course[row.student_id] = (row.course_percentage, row.course_letter)
    shown = await _turned_in_shown(session, class_id, columns, cells)
    return Gradebook(
        class_id=class_id,
        period_id=period_id,
        categories=[
            GradebookCategory(id=c.id, name=c.name, weight_percent=c.weight_percent, drop_lowest=c.drop_lowest)
            for c in categories
        ],
        assignments=[
            GradebookColumn(
                assignment_id=a.id,
                title=a.title,
                category_id=a.category_id,
                points_possible=a.points_possible,
                due_at=a.due_at,
                state=a.state,
            )
            for a in columns
        ],
        students=[
            GradebookRow(
                student_id=student_id,
                display_name=display_name,
                course_percentage=course.get(student_id, (None, None))[0],
                course_letter=course.get(student_id, (None, None))[1],
                override=overrides.get(student_id),
                cells=[
                    _cell(cell, shown.get((student_id, a.id)))
                    for a in columns
                    if (cell := cells.get((student_id, a.id))) is not None
                ],
            )
            for student_id, display_name in students
        ],
    )


async def _period_overrides(session: AsyncSession, cls: Class, period_id: uuid.UUID) -> dict[uuid.UUID, PeriodOverride]:
    period = await session.get(AcademicSession, period_id)
    if period is None or period.organization_id != cls.organization_id or period.type != "grading_period":
        raise VALIDATION("period_id: no such grading period in the class's organization")
    rows = await session.scalars(
        select(PeriodGradeOverride).where(
            PeriodGradeOverride.organization_id == cls.organization_id,
            PeriodGradeOverride.class_id == cls.id,
            PeriodGradeOverride.session_id == period_id,
        )
    )
    return {row.student_id: PeriodOverride.model_validate(row, from_attributes=True) for row in rows}


async def _turned_in_shown(
    session: AsyncSession, class_id: uuid.UUID, columns: Sequence[Assignment], cells: dict[Key, Any]
) -> dict[Key, SubmissionStatus]:
    """The status to show instead of ``graded`` where the caller does not see the grade: until
    it is posted, a student or parent sees the work as turned in."""
    if not any(c.status == SubmissionStatus.graded and c.grade_id is None for c in cells.values()):
        return {}
    due = {a.id: a.due_at for a in columns}
    shown: dict[Key, SubmissionStatus] = {}
    for student_id, assignment_id, submitted_at in await session.execute(
        select(AssignmentSubmission.student_id, AssignmentSubmission.assignment_id, AssignmentSubmission.submitted_at)
        .where(AssignmentSubmission.class_id == class_id, AssignmentSubmission.status == SubmissionStatus.graded)
        .order_by(AssignmentSubmission.attempt)
    ):
        shown[(student_id, assignment_id)] = turned_in_status(submitted_at, due.get(assignment_id))
    return shown


def _cell(cell: Any, turned_in: SubmissionStatus | None) -> GradebookCell:
    hidden_grade = cell.status == SubmissionStatus.graded and cell.grade_id is None
    return GradebookCell(
        assignment_id=cell.assignment_id,
        status=(turned_in or cell.status) if hidden_grade else cell.status,
        grade_id=cell.grade_id,
        points=cell.points,
        final_points=cell.final_points,
        points_possible=cell.points_possible,
        percentage=cell.percentage,
        letter_grade=cell.letter_grade,
        grade_state=cell.grade_state,
        posted_at=cell.posted_at,
        counted=cell.counted,
    )


def _csv_cell(cell: GradebookCell | None) -> Any:
    if cell is None:
        return None
    if cell.status == SubmissionStatus.excused:
        return "EX"
    if cell.grade_id is not None and cell.grade_state != GradeState.ai_suggested and cell.final_points is not None:
        return cell.final_points
    if cell.status == SubmissionStatus.missing:
        return 0
    return None


def _csv_override(override: PeriodOverride | None) -> list[Any]:
    return [override.percent, override.letter, override.reason] if override else [None, None, None]


def gradebook_table(book: Gradebook) -> tuple[list[Any], Iterator[list[Any]]]:
    """The gradebook as a table for ``schoolbase.csvexport`` (which makes text formula-safe):
    one row per student, a column per assignment (final points; ``EX`` excused, ``0`` missing,
    empty when ungraded), then the course percentage and letter, and in a grading period's
    gradebook the override's percentage, letter and reason."""
    period = book.period_id is not None
    header = (
        ["student_id", "student"]
        + [f"{a.title} ({a.points_possible})" for a in book.assignments]
        + ["course_percentage", "course_letter"]
        + (["override_percent", "override_letter", "override_reason"] if period else [])
    )

    def rows() -> Iterator[list[Any]]:
        for student in book.students:
            by_assignment = {cell.assignment_id: cell for cell in student.cells}
            yield (
                [student.student_id, student.display_name]
                + [_csv_cell(by_assignment.get(a.assignment_id)) for a in book.assignments]
                + [student.course_percentage, student.course_letter]
                + (_csv_override(student.override) if period else [])
            )

    return header, rows()


# A student's own assignments


async def my_assignments(
    session: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    *,
    student_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> Page:
    """The published assignments of a student's classes, soonest due first, with the
    student's latest attempt and its posted grade: a student's own, or (``student_id``)
    a parent's child's. Row-level security decides what shows: a parent sees the child's
    work and grades only where the assignment is visible to parents."""
    target = student_id or user_id
    latest = (
        select(
            AssignmentSubmission.id.label("submission_id"),
            AssignmentSubmission.attempt.label("attempt"),
            AssignmentSubmission.status.label("submission_status"),
            AssignmentSubmission.submitted_at.label("submitted_at"),
        )
        .where(
            # Every index of a tenant's rows leads with its organization: without it a lookup
            # scans the whole district's index.
            AssignmentSubmission.organization_id == Assignment.organization_id,
            AssignmentSubmission.assignment_id == Assignment.id,
            AssignmentSubmission.student_id == target,
        )
        .order_by(AssignmentSubmission.status == SubmissionStatus.draft, AssignmentSubmission.attempt.desc())
        .limit(1)
        .lateral("latest")
    )
    due_key = func.coalesce(Assignment.due_at, literal(NO_DUE_DATE))
    stmt = (
        select(Assignment, latest, AssignmentGrade, due_key.label("due_key"))
        .join(
            Enrollment,
            and_(
                Enrollment.organization_id == Assignment.organization_id,
                Enrollment.class_id == Assignment.class_id,
                Enrollment.user_id == target,
                Enrollment.role == MembershipRole.student,
            ),
        )
        .outerjoin(latest, true())
        .outerjoin(
            AssignmentGrade,
            and_(
                AssignmentGrade.organization_id == Assignment.organization_id,
                AssignmentGrade.submission_id == latest.c.submission_id,
                AssignmentGrade.state == GradeState.final,
                AssignmentGrade.posted_at.is_not(None),
            ),
        )
        .where(Assignment.state != AssignmentState.draft)
    )
    if class_id is not None:
        stmt = stmt.where(Assignment.class_id == class_id)
    rows, cursor = await paginate_by(
        session, stmt, params, (due_key, Assignment.id), lambda row: (row.due_key, row[0].id)
    )
    return Page(items=[_my_assignment(row) for row in rows], next_cursor=cursor)


def _my_assignment(row: Any) -> MyAssignment:
    assignment, grade = row[0], row.AssignmentGrade
    status = row.submission_status
    if status == SubmissionStatus.graded and grade is None:
        status = turned_in_status(row.submitted_at, assignment.due_at)  # "graded" only once posted
    submission = (
        MySubmission(id=row.submission_id, attempt=row.attempt, status=status, submitted_at=row.submitted_at)
        if row.submission_id is not None
        else None
    )
    return MyAssignment(
        id=assignment.id,
        class_id=assignment.class_id,
        category_id=assignment.category_id,
        title=assignment.title,
        type=assignment.type,
        state=assignment.state,
        points_possible=assignment.points_possible,
        available_from=assignment.available_from,
        due_at=assignment.due_at,
        close_at=assignment.close_at,
        accept_late=assignment.accept_late,
        allowed_attempts=assignment.allowed_attempts,
        status=submission.status if submission else "not_submitted",
        submission=submission,
        grade=MyGrade.model_validate(grade, from_attributes=True) if grade is not None else None,
    )
