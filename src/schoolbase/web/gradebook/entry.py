"""Grades typed into the gradebook, saved the way ``PUT /submissions/{id}/grade`` saves them:
the points parsed by the API's ``GradeIn``, then ``grading.grades.grade_submission`` on the
student's latest attempt, in a savepoint of the page's transaction so a refused cell leaves
the others saved.

A cell keeps what the grade already has: its state (a draft stays a draft, a final grade
stays final, posted or not) and its feedback. A new grade, or a confirmed AI suggestion,
takes the state the teacher chose above the grid. Work that was not turned in is refused
as the API refuses it (mark it missing first); assignments with a rubric are graded on the
submission's page, since points typed here would remove the rubric's scores."""

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.grading import grades
from schoolbase.grading.schemas import GradeIn
from schoolbase.models import AssignmentSubmission, Class, GradeState, SubmissionStatus
from schoolbase.problems import NOT_SUBMITTED, RUBRIC_REQUIRED, VALIDATION, Problem
from schoolbase.web.forms import attempt, parsed
from schoolbase.web.gradebook.views import Entry, Key, StaffGradebook, rubric_assignments, shown_points

POINTS_HELP = "Enter points from 0 to 999999.99, with at most 2 decimals."
CELL = re.compile(r"c(\d+)_(\d+)")
NEW_GRADE_STATES = {"final": GradeState.final, "draft": GradeState.draft}


def new_grade_state(form: FormData) -> GradeState:
    """The state the teacher chose for new grades (final unless they chose draft)."""
    return NEW_GRADE_STATES.get(str(form.get("state", "")), GradeState.final)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def posted_cells(form: FormData) -> dict[Key, tuple[str, str | None]]:
    """The grid's inputs (``c{row}_{column}``) by (student, assignment): what the teacher
    sent, and the points the page showed in that cell (``w{row}``, the row's points joined
    by ``|``), read through the ids the same form carried (``s{row}``, ``a{column}``), so a
    roster that changed since the page was opened never moves a grade to another student."""
    cells: dict[Key, tuple[str, str | None]] = {}
    for name, value in form.multi_items():
        found = CELL.fullmatch(name)
        if found is None or not isinstance(value, str):
            continue
        row, column = found[1], int(found[2])
        student, assignment = _uuid(form.get(f"s{row}")), _uuid(form.get(f"a{column}"))
        if student is None or assignment is None:
            continue
        shown = str(form.get(f"w{row}", "")).split("|")
        cells[(student, assignment)] = (value.strip(), shown[column] if column < len(shown) else None)
    return cells


def posted_key(form: FormData) -> Key | None:
    """The one cell the page's script posts: (student, assignment)."""
    student, assignment = _uuid(form.get("student_id")), _uuid(form.get("assignment_id"))
    return None if student is None or assignment is None else (student, assignment)


def changed(text: str, current: str) -> bool:
    """Is ``text`` a change from the points ``current``? A blank cell never is: grades are
    removed on the submission's page, not by clearing a cell."""
    if not text or text == current:
        return False
    try:
        return not current or Decimal(text) != Decimal(current)
    except InvalidOperation:
        return True


def points_of(text: str) -> Decimal | Problem:
    """The points typed, validated as the API validates a grade's points."""
    body, errors = parsed(GradeIn, {"points": text})
    if body is None or body.points is None:
        return VALIDATION(POINTS_HELP, errors=[{"loc": ["points"], "msg": message} for message in errors.values()])
    return body.points


async def latest_submission(
    session: AsyncSession, cls: Class, student_id: uuid.UUID, assignment_id: uuid.UUID
) -> uuid.UUID | None:
    """The attempt the gradebook shows: the latest turned-in one (a draft only when there is nothing else)."""
    return await session.scalar(
        select(AssignmentSubmission.id)
        .where(
            AssignmentSubmission.organization_id == cls.organization_id,
            AssignmentSubmission.class_id == cls.id,
            AssignmentSubmission.assignment_id == assignment_id,
            AssignmentSubmission.student_id == student_id,
        )
        .order_by(AssignmentSubmission.status == SubmissionStatus.draft, AssignmentSubmission.attempt.desc())
        .limit(1)
    )


async def save_points(
    session: AsyncSession,
    cls: Class,
    key: Key,
    text: str,
    *,
    grader_id: uuid.UUID | None,
    new_state: GradeState,
) -> Problem | None:
    """Grade one cell of the class's gradebook with the points ``text``; the refusal, if any
    (nothing is changed then)."""
    points = points_of(text)
    if isinstance(points, Problem):
        return points
    student_id, assignment_id = key
    if await rubric_assignments(session, cls, [assignment_id]):
        return RUBRIC_REQUIRED("this assignment is graded by its rubric: grade it on the submission's page")
    submission_id = await latest_submission(session, cls, student_id, assignment_id)
    if submission_id is None:
        return NOT_SUBMITTED("nothing was turned in: mark it missing on the assignment's page to grade it")
    existing = await grades.grade_of(session, submission_id)
    keep = existing is not None and existing.state != GradeState.ai_suggested
    _, problem = await attempt(
        session,
        lambda: grades.grade_submission(
            session,
            submission_id,
            grader_id=grader_id,
            points=points,
            state=existing.state if keep else new_state,
            feedback=existing.feedback if existing is not None else None,
        ),
    )
    return problem


def message(problem: Problem) -> str:
    """A refusal as a sentence for the teacher."""
    text = problem.detail or problem.title
    return text[:1].upper() + text[1:] if text else "This grade could not be saved."


async def save_changed(
    session: AsyncSession,
    staff: StaffGradebook,
    posted: Mapping[Key, tuple[str, str | None]],
    *,
    grader_id: uuid.UUID | None,
    new_state: GradeState,
) -> tuple[int, dict[Key, Entry], int]:
    """Save every posted cell the teacher changed from what the page showed (so a grade
    someone else gave since is not put back); without what it showed, from what the grid
    holds now. Returns how many were saved, the refused ones with what was typed and why,
    and the status to answer with when any was refused."""
    saved, refused, status = 0, {}, 200
    for key, (text, shown) in posted.items():
        if shown is None:
            cell = staff.cells.get(key)
            shown = shown_points(cell) if cell is not None else ""
        if not changed(text, shown):
            continue
        problem = await save_points(session, staff.cls, key, text, grader_id=grader_id, new_state=new_state)
        if problem is None:
            saved += 1
            continue
        refused[key] = Entry(text, message(problem))
        status = max(status, problem.status)
    return saved, refused, status
