"""The student's assignment page: what is asked (instructions, dates, points, late policy in
words, rubric), my attempts with their posted grades, whether I can turn work in now and why
not, and reading the turn-in form into the API's ``SubmissionCreate``."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.grading import assignments, categories, rubrics, submissions
from schoolbase.grading.schemas import AssignmentOut, CriterionOut, RubricOut, SubmissionCreate, SubmissionOut
from schoolbase.models import AssignmentState, SubmissionStatus
from schoolbase.problems import Problem
from schoolbase.web.formatting import percent
from schoolbase.web.forms import Errors, parsed
from schoolbase.web.learning.views import ClassRef, every, student_classes

OPEN_WORK = {SubmissionStatus.draft, SubmissionStatus.missing}


@dataclass
class AssignmentView:
    assignment: AssignmentOut
    cls: ClassRef
    category: str
    rubric: RubricOut | None
    attempts: list[SubmissionOut]  # newest first
    now: datetime

    @property
    def open_work(self) -> SubmissionOut | None:
        """A draft, or work marked missing, that turning in fills rather than starting an attempt."""
        latest = self.attempts[0] if self.attempts else None
        if latest is not None and latest.submitted_at is None and latest.status in OPEN_WORK:
            return latest
        return None

    @property
    def used(self) -> int:
        return sum(1 for a in self.attempts if a.submitted_at is not None)

    @property
    def attempts_left(self) -> int:
        return max(self.assignment.allowed_attempts - self.used, 0)

    @property
    def refusal(self) -> str | None:
        """Why work cannot be turned in now (as the database would refuse it), or None."""
        a, now = self.assignment, self.now
        if a.state != AssignmentState.published:
            return "closed"
        if a.close_at is not None and now >= a.close_at:
            return "closed_at"
        if a.available_from is not None and now < a.available_from:
            return "not_open"
        if a.due_at is not None and now > a.due_at and not a.accept_late:
            return "no_late"
        if self.open_work is None and self.attempts_left == 0:
            return "no_attempts"
        return None

    @property
    def graded(self) -> SubmissionOut | None:
        """The latest attempt with a grade I may see (posted)."""
        return next((a for a in self.attempts if a.grade is not None), None)

    @property
    def criteria(self) -> dict[uuid.UUID, CriterionOut]:
        return {c.id: c for c in self.rubric.criteria} if self.rubric else {}

    def late_policy(self) -> str:
        return late_policy(self.assignment)

    def form_values(self) -> dict[str, str]:
        """The form as the open draft has it (empty without one)."""
        draft = self.open_work
        return {"body": (draft.body or "") if draft else "", "links": "\n".join(draft.links) if draft else ""}


def late_policy(a: AssignmentOut) -> str:
    """The late policy in words."""
    if not a.accept_late:
        return "Late work is not accepted."
    if not a.late_penalty_percent_per_day:
        return "Late work is accepted without a penalty."
    words = (
        f"Late work is accepted, with {percent(a.late_penalty_percent_per_day)} of the points taken off per day late"
    )
    if a.late_penalty_floor_percent:
        words += f", but a late grade never drops below {percent(a.late_penalty_floor_percent)} of the points"
    return words + "."


async def _rubric(session: AsyncSession, assignment_id: uuid.UUID) -> RubricOut | None:
    try:
        return await rubrics.get_rubric(session, assignment_id)
    except Problem as problem:
        if problem.status == 404:
            return None
        raise


async def assignment_view(
    session: AsyncSession, user_id: uuid.UUID, assignment_id: uuid.UUID, now: datetime
) -> AssignmentView | None:
    """The page of an assignment I can see (404 otherwise); None when I am not one of its
    class's students (a teacher, say)."""
    assignment = await assignments.get_assignment(session, assignment_id)
    classes = await student_classes(session, user_id, class_id=assignment.class_id)
    if not classes:
        return None
    category = await categories.get_category(session, assignment.class_id, assignment.category_id)
    attempts = await every(lambda params: submissions.my_submissions(session, user_id, params, assignment_id))
    return AssignmentView(
        assignment=AssignmentOut.model_validate(assignment),
        cls=classes[0],
        category=category.name,
        rubric=await _rubric(session, assignment_id),
        attempts=sorted(attempts, key=lambda a: a.attempt, reverse=True),
        now=now,
    )


# The turn-in form


def work_form(form: FormData) -> tuple[SubmissionCreate | None, Errors, dict[str, str]]:
    """The posted work as the API's ``SubmissionCreate`` (links one per line; the ``action``
    button says turn in or save a draft), the errors per field, and the values to show again."""
    body = form.get("body")
    body = body if isinstance(body, str) else ""
    links_text = form.get("links")
    links_text = links_text if isinstance(links_text, str) else ""
    links = [line.strip() for line in links_text.splitlines() if line.strip()]
    work, errors = parsed(
        SubmissionCreate,
        {"body": body if body.strip() else None, "links": links, "submit": form.get("action") == "submit"},
    )
    return work, _per_field(errors), {"body": body, "links": links_text}


def _per_field(errors: Errors) -> Errors:
    """``links.2`` → ``links`` with the line it is about."""
    found: Errors = {}
    for name, message in errors.items():
        field, _, index = name.partition(".")
        if field == "links" and index.isdigit():
            message = f"Link {int(index) + 1}: {message}"
        found.setdefault(field, message)
    return found
