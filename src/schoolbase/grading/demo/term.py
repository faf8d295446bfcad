"""A term's worth of work for one demo class (``maths.py``, ``sciences.py``), written as ``service_role``
through grading's own services, so every rule and trigger of the database applies: categories
and their weights, assignments published or left as drafts, rubrics, submissions on time, late,
missing and excused, grades by points or rubric with feedback, posted or not.

Dates are relative to the load (the transaction's ``now()``) in the organization's time zone:
work due weeks ago is graded, some is due this week, some later. Scores, feedback and times
come from a random generator seeded by the class, so the content is the same on every load.

The database stamps work with its own clock when a student turns it in, so work turned in
before the load cannot be written the way a student turns it in today. It is written as a
record of the past, as an import would be: the row goes in with its ``submitted_at`` in a
status the submission rules leave alone, then takes the status the database itself gives work
whose grade is removed (``submitted``, or ``late`` after the due time). Grades, late penalties
and letters are then derived by the database as for any grade.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change
from schoolbase.grading import assignments, categories, grades, rubrics, submissions
from schoolbase.grading.access import refreshed
from schoolbase.grading.demo.content import FEEDBACK, LATE_NOTE, LEVELS, Course, Rubric, Task
from schoolbase.grading.schemas import (
    AssignmentCreate,
    CategoryCreate,
    CriterionIn,
    RubricIn,
    RubricLevel,
    RubricOut,
    SubmissionCreate,
)
from schoolbase.models import (
    Assignment,
    AssignmentSubmission,
    AssignmentType,
    GradeState,
    SubmissionStatus,
)

CENT = Decimal("0.01")
OPENS_DAYS_BEFORE_DUE = 7
CLOSED_AFTER_DAYS = 21  # posted work due longer ago than this is closed
IN_CLASS = (AssignmentType.quiz, AssignmentType.test)  # due at the start of the school day


@dataclass(frozen=True)
class DemoClass:
    organization_id: uuid.UUID
    class_id: uuid.UUID
    time_zone: str
    teacher_id: uuid.UUID
    students: list[uuid.UUID]
    seed: str


@dataclass(frozen=True)
class Waiting:
    """Turned-in work the teacher is to get an AI suggestion for, once the load is committed."""

    submission_id: uuid.UUID
    teacher_id: uuid.UUID


async def load_term(session: AsyncSession, course: Course, demo: DemoClass) -> list[Waiting]:
    """The class's categories, assignments and work; returns the submissions waiting for an AI suggestion."""
    now = await session.scalar(select(func.now()))
    term = Term(session, demo, random.Random(f"schoolbase-demo/{demo.seed}"), now)
    for name, weight, drop_lowest in course.categories:
        body = CategoryCreate(name=name, weight_percent=Decimal(weight), drop_lowest=drop_lowest)
        term.categories[name] = (await categories.create_category(session, demo.class_id, body)).id
    term.ability = {student: term.rng.uniform(0.68, 0.97) for student in demo.students}
    waiting = []
    for position, task in enumerate(course.tasks):
        waiting += await term.assignment(position, task)
    return waiting


def due_time(now: datetime, time_zone: str, days: int, kind: AssignmentType) -> datetime:
    """``days`` after the load's local date, at 09:00 for quizzes and tests (in class), else 23:00."""
    zone = ZoneInfo(time_zone)
    day = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(9) if kind in IN_CLASS else time(23), tzinfo=zone)


def rubric_in(rubric: Rubric, points: int) -> RubricIn:
    criteria = []
    for title, description, share in rubric.criteria:
        most = (Decimal(str(share)) * points).quantize(CENT)
        levels = [
            RubricLevel(title=level, points=(Decimal(str(part)) * most).quantize(CENT), description=text)
            for level, part, text in LEVELS
        ]
        criteria.append(CriterionIn(title=title, description=description, max_points=most, levels=levels))
    return RubricIn(title=rubric.title, criteria=criteria)


class Term:
    """One class's term, assignment by assignment (shared state: categories, abilities, the generator)."""

    def __init__(self, session: AsyncSession, demo: DemoClass, rng: random.Random, now: datetime) -> None:
        self.session, self.demo, self.rng, self.now = session, demo, rng, now
        self.categories: dict[str, uuid.UUID] = {}
        self.ability: dict[uuid.UUID, float] = {}

    async def assignment(self, position: int, task: Task) -> list[Waiting]:
        assignment, rubric = await self._create(task)
        outcomes = {
            student: task.outcomes[(index + position) % len(task.outcomes)]
            for index, student in enumerate(self.demo.students)
        }
        if task.stage == "draft":
            return []
        if task.stage == "open":
            await self._open_work(assignment, task, outcomes)
            return []
        turned_in = await self._past_work(assignment, task, outcomes)
        if task.stage == "awaiting":
            on_time = [s for s in turned_in if s.status == SubmissionStatus.submitted] or turned_in
            return [Waiting(on_time[0].id, self.demo.teacher_id)] if on_time else []
        for submission in turned_in:
            await self._grade(assignment, task, rubric, submission)
        if task.stage == "posted":
            await grades.post_grades(self.session, assignment.id)
            if task.due_in_days <= -CLOSED_AFTER_DAYS:
                await assignments.close_assignment(self.session, assignment.id)
        return []

    async def _create(self, task: Task) -> tuple[Assignment, RubricOut | None]:
        due = due_time(self.now, self.demo.time_zone, task.due_in_days, task.type)
        penalty = Decimal(5) if task.type in IN_CLASS else Decimal(10)
        body = AssignmentCreate(
            category_id=self.categories[task.category],
            title=task.title,
            instructions=task.instructions,
            type=task.type,
            points_possible=Decimal(task.points),
            available_from=due - timedelta(days=OPENS_DAYS_BEFORE_DUE),
            due_at=due,
            accept_late=True,
            late_penalty_percent_per_day=penalty,
            late_penalty_floor_percent=Decimal(50),
            allowed_attempts=2 if task.type == AssignmentType.homework else 1,
            visible_to_parents=task.visible_to_parents,
        )
        assignment = await assignments.create_assignment(self.session, self.demo.teacher_id, self.demo.class_id, body)
        rubric = None
        if task.rubric is not None:
            rubric = await rubrics.set_rubric(self.session, assignment.id, rubric_in(task.rubric, task.points))
        if task.stage != "draft":
            assignment = await assignments.publish_assignment(self.session, assignment.id)
        return assignment, rubric

    async def _open_work(self, assignment: Assignment, task: Task, outcomes: dict[uuid.UUID, str]) -> None:
        """Work not due yet: some students turned it in today (stamped by the database), some saved a draft."""
        for student, outcome in outcomes.items():
            if outcome == "S":
                body = SubmissionCreate(body=task.answer, submit=True)
            elif outcome == "D":
                body = SubmissionCreate(body=task.answer.split(". ")[0] + " ...")
            else:
                continue
            await submissions.submit(self.session, student, assignment.id, body)

    async def _past_work(
        self, assignment: Assignment, task: Task, outcomes: dict[uuid.UUID, str]
    ) -> list[AssignmentSubmission]:
        """Work due before the load: turned in on time or late, excused, the rest marked missing."""
        turned_in = []
        for student, outcome in outcomes.items():
            if outcome in ("O", "L"):
                turned_in.append(await self._turned_in(assignment, student, task.answer, late=outcome == "L"))
            elif outcome == "E":
                await submissions.set_student_status(self.session, assignment.id, student, SubmissionStatus.excused)
        await submissions.mark_missing(self.session, assignment.id)
        return turned_in

    async def _turned_in(self, assignment: Assignment, student: uuid.UUID, body: str, *, late: bool):
        due = assignment.due_at
        if late:
            submitted_at = min(due + timedelta(hours=self.rng.uniform(2, 45)), self.now - timedelta(hours=1))
        else:
            submitted_at = due - timedelta(hours=self.rng.uniform(0.5, 40))
        row = AssignmentSubmission(
            organization_id=assignment.organization_id,
            class_id=assignment.class_id,
            assignment_id=assignment.id,
            student_id=student,
            attempt=1,
            body=body,
            submitted_at=submitted_at,
            status=SubmissionStatus.returned,  # left alone by the submission rules, changed at once
            created_at=submitted_at,
        )
        row = await add(self.session, row)
        status = submissions.turned_in_status(submitted_at, due)
        return await refreshed(
            self.session, await change(self.session, AssignmentSubmission, row.id, {"status": status}, "submission")
        )

    def _share(self, student: uuid.UUID, spread: float = 0.07) -> float:
        return min(1.0, max(0.3, self.ability[student] + self.rng.gauss(0, spread)))

    async def _grade(
        self, assignment: Assignment, task: Task, rubric: RubricOut | None, submission: AssignmentSubmission
    ) -> None:
        share = self._share(submission.student_id)
        points, scores = None, None
        if rubric is None:
            points = (Decimal(round(share * task.points * 2)) / 2).quantize(CENT)
        else:
            scores = [self._score(criterion, submission.student_id) for criterion in rubric.criteria]
            share = float(sum(score.points for score in scores) / assignment.points_possible)
        feedback = self.rng.choice(next(lines for least, lines in FEEDBACK if share >= least))
        if submission.status == SubmissionStatus.late:
            feedback = f"{feedback} {LATE_NOTE}"
        await grades.grade_submission(
            self.session,
            submission.id,
            grader_id=self.demo.teacher_id,
            points=points,
            rubric=scores,
            state=GradeState.final,
            feedback=feedback,
        )

    def _score(self, criterion, student: uuid.UUID) -> grades.RubricScore:
        """The level nearest the student's share of the criterion's points, with some spread."""
        share = self._share(student, spread=0.12)
        level = min(criterion.levels, key=lambda level: abs(float(level.points / criterion.max_points) - share))
        return grades.RubricScore(criterion.id, level.points, level.title)
