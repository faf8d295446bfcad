"""What the marking pages show, read in the page's transaction as the person (row-level
security decides what they see, as for the API): one submission to grade with its grade,
AI suggestion and history; a bulk AI grading run and what it would grade."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.grading import assignments, grades, rubrics, submissions
from schoolbase.grading.access import require_manager
from schoolbase.grading.assist import runs
from schoolbase.grading.assist.schemas import JobOut
from schoolbase.grading.schemas import CriterionOut, GradeOut, RubricOut, SubmissionOut
from schoolbase.models import Assignment, AssignmentSubmission, GradeState, SubmissionStatus, User
from schoolbase.problems import RUBRIC_REQUIRED, Problem
from schoolbase.tenancy import service as tenancy
from schoolbase.web.formatting import points

GRADABLE = (SubmissionStatus.submitted, SubmissionStatus.late)


async def names_of(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """People's display names, as the caller may see them."""
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows.all()}


# ---------------------------------------------------------------- one submission


@dataclass(frozen=True)
class Neighbour:
    submission_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Change:
    """One line of a grade's history."""

    at: datetime
    by: str
    what: str


@dataclass
class Marking:
    submission: SubmissionOut
    assignment: Assignment
    class_name: str
    rubric: RubricOut | None
    student: str
    grade: GradeOut | None
    history: list[Change] = field(default_factory=list)
    previous: Neighbour | None = None
    next: Neighbour | None = None
    position: int = 0
    count: int = 0

    @property
    def late(self) -> bool:
        submitted, due = self.submission.submitted_at, self.assignment.due_at
        return self.submission.status == SubmissionStatus.late or bool(submitted and due and submitted > due)

    @property
    def suggestion(self) -> GradeOut | None:
        """The AI suggestion awaiting the teacher's review, if there is one."""
        return self.grade if self.grade is not None and self.grade.state == GradeState.ai_suggested else None

    @property
    def gradable(self) -> bool:
        return self.submission.status not in (SubmissionStatus.draft, SubmissionStatus.excused)

    @property
    def can_ask_ai(self) -> bool:
        return self.grade is None and self.submission.status in GRADABLE and self.rubric is not None

    @property
    def confidence(self) -> str | None:
        """How sure the AI was, in words: high from 80%, medium from 50%, else low."""
        confidence = self.grade.ai_confidence if self.grade is not None else None
        if confidence is None:
            return None
        return "high" if confidence >= Decimal("0.8") else "medium" if confidence >= Decimal("0.5") else "low"

    @property
    def criteria(self) -> dict[uuid.UUID, CriterionOut]:
        return {c.id: c for c in self.rubric.criteria} if self.rubric else {}


async def marking(session: AsyncSession, submission_id: uuid.UUID) -> Marking:
    """One submission for its class's teachers (and the organization's admins): 404 when the
    person may not see it, 403 when they see it but do not grade it (a student, a parent)."""
    row = await submissions.get_submission(session, submission_id)
    await require_manager(session, row.organization_id, row.class_id, "grade this work")
    submission = await submissions.submission_out(session, row)
    assignment = await assignments.get_assignment(session, row.assignment_id)
    klass = await tenancy.get_class(session, row.class_id)
    view = Marking(
        submission=submission,
        assignment=assignment,
        class_name=klass.name,
        rubric=await rubric_of(session, assignment.id),
        student=(await names_of(session, {row.student_id})).get(row.student_id, "A student"),
        grade=submission.grade,
    )
    if view.grade is not None:
        view.history = await _history(session, view.grade.id)
    await _place(session, view)
    return view


async def rubric_of(session: AsyncSession, assignment_id: uuid.UUID) -> RubricOut | None:
    try:
        rubric = await rubrics.get_rubric(session, assignment_id)
    except Problem as problem:
        if problem.status != 404:
            raise
        return None
    return rubric if rubric.criteria else None


_STATES = {"ai_suggested": "AI suggestion", "draft": "Draft", "final": "Final"}


def _change_text(operation: str, old: dict | None, new: dict | None) -> str:
    if operation == "DELETE":
        return f"Removed ({_STATES.get((old or {}).get('state'), 'grade')})"
    row = new or {}
    verb = "Created" if operation == "INSERT" else "Changed"
    posted = ", posted" if row.get("posted_at") else ""
    return f"{verb}: {_STATES.get(row.get('state'), row.get('state'))}, {points(Decimal(str(row['points'])))} points{posted}"


async def _history(session: AsyncSession, grade_id: uuid.UUID) -> list[Change]:
    try:
        rows = await grades.grade_history(session, grade_id)
    except Problem as problem:
        if problem.status != 404:
            raise
        return []
    names = await names_of(session, {r.changed_by for r in rows if r.changed_by})
    return [
        Change(
            r.changed_at,
            names.get(r.changed_by, "Someone") if r.changed_by else "Schoolbase (AI)",
            _change_text(r.operation, r.old_row, r.new_row),
        )
        for r in rows
    ]


async def _place(session: AsyncSession, view: Marking) -> None:
    """Where this student is among the assignment's turned-in work (latest attempts, by
    name), for the previous and next links."""
    latest_attempts = (
        select(AssignmentSubmission.student_id, AssignmentSubmission.id)
        .where(
            AssignmentSubmission.assignment_id == view.assignment.id,
            AssignmentSubmission.status != SubmissionStatus.draft,
        )
        .ext(distinct_on(AssignmentSubmission.student_id))
        .order_by(AssignmentSubmission.student_id, AssignmentSubmission.attempt.desc())
    )
    latest = (await session.execute(latest_attempts)).all()
    names = await names_of(session, {student for student, _ in latest})
    ordered = sorted(latest, key=lambda r: (names.get(r[0], "").casefold(), str(r[0])))
    students = [student for student, _ in ordered]
    if view.submission.student_id not in students:
        return
    index = students.index(view.submission.student_id)
    view.position, view.count = index + 1, len(ordered)
    if index > 0:
        view.previous = Neighbour(ordered[index - 1][1], names.get(ordered[index - 1][0], "Previous student"))
    if index + 1 < len(ordered):
        view.next = Neighbour(ordered[index + 1][1], names.get(ordered[index + 1][0], "Next student"))


# ---------------------------------------------------------------- bulk AI grading

_LATEST_RUN = text(
    """
    select j.id, j.state, j.created_at from public.bulk_grading_jobs j
    where j.organization_id = :org and j.assignment_id = :assignment
    order by j.created_at desc limit 1
    """
)


@dataclass
class BulkStart:
    assignment: Assignment
    waiting: int
    refusal: str | None
    latest_run: Any


async def bulk_start(session: AsyncSession, assignment_id: uuid.UUID) -> BulkStart:
    """The assignment, how many submissions a run would grade now (or why it cannot run),
    and its latest run. 404 / 403 as for the API's ``ai-grade-all``."""
    assignment = await assignments.get_assignment(session, assignment_id)
    waiting, refusal = 0, None
    try:
        waiting = len((await runs.plan(session, assignment_id)).submission_ids)
    except Problem as problem:
        if problem.kind != RUBRIC_REQUIRED.slug:
            raise
        refusal = "AI grading scores work against the assignment's rubric: give the assignment a rubric first."
    latest = (
        await session.execute(_LATEST_RUN, {"org": assignment.organization_id, "assignment": assignment.id})
    ).first()
    return BulkStart(assignment, waiting, refusal, latest)


FINISHED = ("completed", "failed")
OUTCOMES = {
    "pending": "Waiting",
    "running": "Being graded",
    "done": "Suggested",
    "failed": "Failed",
    "skipped": "Skipped",
}


def summary(job: JobOut) -> str:
    """The run's progress in one sentence (the page and its live updates say the same)."""
    handled = job.done + job.failed + job.skipped
    if job.total == 0:
        return "Finished: there was no work waiting for a grade."
    if job.state == "completed":
        return f"Finished: {job.done} of {job.total} suggested, {job.failed} failed, {job.skipped} skipped."
    if job.state == "failed":
        return f"Finished early: {job.done} of {job.total} suggested. Stopped because: {job.error or 'an error'}"
    if job.state == "queued":
        return f"Waiting to start: 0 of {job.total} done."
    return f"Grading: {handled} of {job.total} done."


def progress(job: JobOut) -> dict[str, Any]:
    """The run's progress for the page's script."""
    return {
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "skipped": job.skipped,
        "pending": job.pending,
        "handled": job.done + job.failed + job.skipped,
        "finished": job.state in FINISHED,
        "summary": summary(job),
        "items": {
            str(item.submission_id): {
                "state": item.state,
                "outcome": OUTCOMES.get(item.state, item.state),
                "note": item.error or "—",
            }
            for item in job.items
        },
    }


@dataclass
class JobView:
    job: JobOut
    assignment: Assignment
    students: dict[uuid.UUID, str]  # submission id → student's name

    @property
    def finished(self) -> bool:
        return self.job.state in FINISHED

    @property
    def summary(self) -> str:
        return summary(self.job)


async def job_view(session: AsyncSession, job_id: uuid.UUID) -> JobView:
    job = await runs.job_out(session, job_id)
    assignment = await assignments.get_assignment(session, job.assignment_id)
    ids = [item.submission_id for item in job.items]
    students = select(AssignmentSubmission.id, AssignmentSubmission.student_id).where(AssignmentSubmission.id.in_(ids))
    rows = (await session.execute(students)).all() if ids else []
    names = await names_of(session, {student for _, student in rows})
    return JobView(job, assignment, {submission: names.get(student, "A student") for submission, student in rows})
