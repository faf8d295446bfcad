"""Students' work on assignments: drafts, turning in (the database stamps the time and
refuses what the assignment does not allow: before it opens, after it closes, beyond
its attempts, late when late work is not accepted), returning, excusing and marking
missing; and submissions as each reader may see them.

A submission is ``graded`` to a reader only with a grade that reader sees: until a grade
is posted a student or parent sees the work as turned in (submitted, late or missing).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.grading.access import refreshed, require_manager
from schoolbase.grading.grades import grade_of, grade_out, grade_schema, scores_of
from schoolbase.grading.schemas import MarkedMissing, SubmissionCreate, SubmissionOut, SubmissionUpdate
from schoolbase.models import (
    Assignment,
    AssignmentGrade,
    AssignmentState,
    AssignmentSubmission,
    Enrollment,
    MembershipRole,
    SubmissionStatus,
)
from schoolbase.pagination import Page, PageParams, paginate
from schoolbase.problems import (
    ALREADY_SUBMITTED,
    ASSIGNMENT_STATE,
    MARKED_MISSING,
    NOT_DUE_YET,
    RULE_VIOLATION,
    SUBMISSION_STATE,
    forbidden,
    not_found,
)

# Reading


async def get_submission(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    """One submission, if the caller may see it (404 otherwise)."""
    return await get_visible(session, AssignmentSubmission, submission_id, "submission")


def turned_in_status(submitted_at: datetime | None, due_at: datetime | None) -> SubmissionStatus:
    """What a graded submission was before its grade: missing, late or submitted."""
    if submitted_at is None:
        return SubmissionStatus.missing
    if due_at is not None and submitted_at > due_at:
        return SubmissionStatus.late
    return SubmissionStatus.submitted


async def _statuses_shown(
    session: AsyncSession, rows: Sequence[tuple[AssignmentSubmission, bool]]
) -> dict[uuid.UUID, SubmissionStatus]:
    """Each submission's status as the caller may see it, given (submission, grade visible) pairs."""
    hidden = [s for s, grade_seen in rows if s.status == SubmissionStatus.graded and not grade_seen]
    due: dict[uuid.UUID, datetime | None] = {}
    if hidden:
        stmt = select(Assignment.id, Assignment.due_at).where(Assignment.id.in_({s.assignment_id for s in hidden}))
        due = {assignment_id: due_at for assignment_id, due_at in await session.execute(stmt)}
    shown = {s.id: s.status for s, _ in rows}
    shown |= {s.id: turned_in_status(s.submitted_at, due.get(s.assignment_id)) for s in hidden}
    return shown


async def submission_out(session: AsyncSession, submission: AssignmentSubmission) -> SubmissionOut:
    """The API shape of a submission, with its grade where the caller may see it."""
    out = SubmissionOut.model_validate(submission)
    grade = await grade_of(session, submission.id)
    shown = await _statuses_shown(session, [(submission, grade is not None)])
    return out.model_copy(
        update={"grade": await grade_out(session, grade) if grade is not None else None, "status": shown[submission.id]}
    )


def _submissions_query(assignment_id: uuid.UUID | None, student_id: uuid.UUID | None) -> Select:
    """Submissions with their grade where the caller may see it (a student: once posted)."""
    stmt = select(AssignmentSubmission, AssignmentGrade).outerjoin(
        AssignmentGrade, AssignmentGrade.submission_id == AssignmentSubmission.id
    )
    if assignment_id is not None:
        stmt = stmt.where(AssignmentSubmission.assignment_id == assignment_id)
    if student_id is not None:
        stmt = stmt.where(AssignmentSubmission.student_id == student_id)
    return stmt


async def _page(session: AsyncSession, stmt: Select, params: PageParams) -> Page:
    rows, cursor = await paginate(session, stmt, AssignmentSubmission, params)
    grades = [grade for _, grade in rows if grade is not None]
    scores = await scores_of(session, [grade.id for grade in grades])
    shown = await _statuses_shown(session, [(submission, grade is not None) for submission, grade in rows])
    items = [
        SubmissionOut.model_validate(submission).model_copy(
            update={
                "grade": grade_schema(grade, scores.get(grade.id, [])) if grade is not None else None,
                "status": shown[submission.id],
            }
        )
        for submission, grade in rows
    ]
    return Page(items=items, next_cursor=cursor)


async def list_submissions(
    session: AsyncSession,
    assignment_id: uuid.UUID,
    params: PageParams,
    *,
    student_id: uuid.UUID | None = None,
    status: SubmissionStatus | None = None,
) -> Page:
    """An assignment's submissions: staff see every one (and grade); a student their own; a
    parent their child's."""
    await get_visible(session, Assignment, assignment_id, "assignment")
    stmt = _submissions_query(assignment_id, student_id)
    if status is not None:
        stmt = stmt.where(AssignmentSubmission.status == status)
    return await _page(session, stmt, params)


async def my_submissions(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams, assignment_id: uuid.UUID | None = None
) -> Page:
    """A student's own submissions (every attempt), with grades once posted."""
    return await _page(session, _submissions_query(assignment_id, user_id), params)


# The student's work


async def _latest_attempt(
    session: AsyncSession, assignment_id: uuid.UUID, student_id: uuid.UUID
) -> AssignmentSubmission | None:
    return await session.scalar(
        select(AssignmentSubmission)
        .where(AssignmentSubmission.assignment_id == assignment_id, AssignmentSubmission.student_id == student_id)
        .order_by(AssignmentSubmission.attempt.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def _is_student_of(session: AsyncSession, class_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Enrollment.class_id == class_id,
                    Enrollment.user_id == user_id,
                    Enrollment.role == MembershipRole.student,
                )
            )
        )
    )


async def _update_submission(session: AsyncSession, submission_id: uuid.UUID, values: dict) -> AssignmentSubmission:
    return await refreshed(session, await change(session, AssignmentSubmission, submission_id, values, "submission"))


def _content(body: SubmissionCreate | SubmissionUpdate) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, include={"body", "links"})
    if values.get("links") is not None:
        values["links"] = [str(link) for link in body.links]
    elif "links" in values:
        values["links"] = []
    return values


async def submit(
    session: AsyncSession, student_id: uuid.UUID, assignment_id: uuid.UUID, body: SubmissionCreate
) -> tuple[SubmissionOut, bool]:
    """The student's work on an assignment: saved as a draft, or turned in with ``submit``.

    An open draft (or work the teacher marked missing) is filled in rather than starting a
    new attempt; after a submitted attempt this starts the next one. Returns the submission
    (its API shape) and whether it is a new row."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    if not await _is_student_of(session, assignment.class_id, student_id):
        raise forbidden("only students of the class hand in work")
    latest = await _latest_attempt(session, assignment_id, student_id)
    values = _content(body)
    if (
        latest is not None
        and latest.submitted_at is None
        and latest.status in (SubmissionStatus.draft, SubmissionStatus.missing)
    ):
        if latest.status == SubmissionStatus.missing and not body.submit:
            raise MARKED_MISSING("this work is marked missing: turn it in with submit=true")
        if body.submit:
            values["status"] = SubmissionStatus.submitted
        return await submission_out(session, await _update_submission(session, latest.id, values)), False
    attempt = latest.attempt + 1 if latest is not None else 1
    if attempt > assignment.allowed_attempts and not body.submit:
        raise RULE_VIOLATION(f'assignment "{assignment.title}" allows {assignment.allowed_attempts} attempt(s)')
    row = AssignmentSubmission(
        organization_id=assignment.organization_id,
        class_id=assignment.class_id,
        assignment_id=assignment_id,
        student_id=student_id,
        attempt=attempt,
        status=SubmissionStatus.submitted if body.submit else SubmissionStatus.draft,
        **values,
    )
    return await submission_out(session, await refreshed(session, await add(session, row))), True


async def update_my_submission(
    session: AsyncSession, student_id: uuid.UUID, submission_id: uuid.UUID, body: SubmissionUpdate
) -> SubmissionOut:
    """The student edits their draft (and may turn it in); turned-in work is resubmitted as a new attempt."""
    submission = await get_submission(session, submission_id)
    if submission.student_id != student_id:
        raise forbidden("only the student changes their own submission")
    if submission.submitted_at is not None or submission.status not in (
        SubmissionStatus.draft,
        SubmissionStatus.missing,
    ):
        raise ALREADY_SUBMITTED(
            f"this submission is {submission.status}: resubmit as a new attempt (POST /assignments/{{id}}/submissions)"
        )
    values = _content(body)
    if body.submit:
        values["status"] = SubmissionStatus.submitted
    elif submission.status == SubmissionStatus.missing:
        raise MARKED_MISSING("this work is marked missing: turn it in with submit=true")
    return await submission_out(session, await _update_submission(session, submission_id, values))


async def delete_submission(session: AsyncSession, submission_id: uuid.UUID) -> None:
    """A student discards their own unsent draft while the assignment is open (row-level
    security keeps turned-in work)."""
    await remove(session, AssignmentSubmission, submission_id, "submission")


# The teacher's moves


async def _managed(session: AsyncSession, submission_id: uuid.UUID, doing: str) -> AssignmentSubmission:
    submission = await get_submission(session, submission_id)
    await require_manager(session, submission.organization_id, submission.class_id, doing)
    return submission


async def _set_status(session: AsyncSession, submission_id: uuid.UUID, status: SubmissionStatus) -> SubmissionOut:
    return await submission_out(session, await _update_submission(session, submission_id, {"status": status}))


async def return_submission(session: AsyncSession, submission_id: uuid.UUID) -> SubmissionOut:
    """Hand turned-in work back to the student (with or without a grade)."""
    submission = await _managed(session, submission_id, "return work")
    if submission.status not in (SubmissionStatus.submitted, SubmissionStatus.late, SubmissionStatus.graded):
        raise SUBMISSION_STATE(f"the submission is {submission.status}")
    return await _set_status(session, submission_id, SubmissionStatus.returned)


async def excuse_submission(session: AsyncSession, submission_id: uuid.UUID) -> SubmissionOut:
    """Excused work does not count toward the course percentage."""
    submission = await _managed(session, submission_id, "excuse work")
    if submission.status == SubmissionStatus.excused:
        raise SUBMISSION_STATE("the submission is already excused")
    return await _set_status(session, submission_id, SubmissionStatus.excused)


async def mark_submission_missing(session: AsyncSession, submission_id: uuid.UUID) -> SubmissionOut:
    """Work never turned in (a draft, or excused work no longer excused) counts as 0."""
    submission = await _managed(session, submission_id, "mark work missing")
    if submission.submitted_at is not None or submission.status not in (
        SubmissionStatus.draft,
        SubmissionStatus.excused,
    ):
        raise SUBMISSION_STATE(f"the submission is {submission.status}: only work never turned in can be missing")
    return await _set_status(session, submission_id, SubmissionStatus.missing)


async def set_student_status(
    session: AsyncSession, assignment_id: uuid.UUID, student_id: uuid.UUID, status: SubmissionStatus
) -> SubmissionOut:
    """Excuse a student, or mark them missing, whether or not they have a submission yet."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, f"mark work {status}")
    latest = await _latest_attempt(session, assignment_id, student_id)
    if latest is not None:
        move = excuse_submission if status == SubmissionStatus.excused else mark_submission_missing
        return await move(session, latest.id)
    if not await _is_student_of(session, assignment.class_id, student_id):
        raise not_found("student of this class")
    row = AssignmentSubmission(
        organization_id=assignment.organization_id,
        class_id=assignment.class_id,
        assignment_id=assignment_id,
        student_id=student_id,
        attempt=1,
        status=status,
    )
    return await submission_out(session, await refreshed(session, await add(session, row)))


_MARK_MISSING = text(
    """
    with roster as (
      select e.user_id from public.enrollments e
      where e.class_id = :class_id and e.role = 'student'
        and not exists (select from public.assignment_submissions s
                        where s.assignment_id = :assignment_id and s.student_id = e.user_id
                          and (s.submitted_at is not null or s.status in ('missing', 'excused', 'graded', 'returned')))
    ), drafts as (
      update public.assignment_submissions s set status = 'missing'
      where s.assignment_id = :assignment_id and s.status = 'draft' and s.submitted_at is null
        and s.student_id in (select user_id from roster)
      returning s.student_id
    ), fresh as (
      insert into public.assignment_submissions (organization_id, class_id, assignment_id, student_id, attempt, status)
      select :organization_id, :class_id, :assignment_id, r.user_id, 1, 'missing' from roster r
      where not exists (select from public.assignment_submissions s
                        where s.assignment_id = :assignment_id and s.student_id = r.user_id)
      returning student_id
    )
    select student_id from drafts union select student_id from fresh order by 1
    """
)


async def mark_missing(session: AsyncSession, assignment_id: uuid.UUID) -> MarkedMissing:
    """After the due date: every enrolled student who turned nothing in is marked missing
    (a draft becomes missing; they may still turn it in while late work is accepted)."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, "mark work missing")
    if assignment.state == AssignmentState.draft:
        raise ASSIGNMENT_STATE("the assignment is not published yet")
    if assignment.due_at is None:
        raise RULE_VIOLATION("the assignment has no due date, so nothing can be missing")
    if not await session.scalar(select(func.now() > assignment.due_at)):
        raise NOT_DUE_YET(f"the assignment is due at {assignment.due_at.isoformat()}; mark missing after that")
    keys = {
        "organization_id": assignment.organization_id,
        "class_id": assignment.class_id,
        "assignment_id": assignment_id,
    }
    students = (await session.scalars(_MARK_MISSING, keys)).all()
    return MarkedMissing(marked=len(students), student_ids=list(students))
