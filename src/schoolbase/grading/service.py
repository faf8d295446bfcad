"""Grading: the organization's letter scale, weighted categories, assignments, rubrics,
submissions, grades, posting and the gradebook.

Every function works on the session it is given and never commits; every query
runs as that session's identity, so row-level security decides what exists
(ACCESS.md, "Assignments and grading"). The rules live in the database, as
triggers of revision ``20250924_163800``; refusals surface as problem documents:

- category weights of a class add up to at most 100 % (422, constraint
  ``assignment_categories_weights``);
- submitting is stamped with the database's clock, refused before the assignment
  opens, after it closes, beyond its allowed attempts, and after the due time when
  it does not accept late work; after the due time it is marked ``late`` (422);
- a grade snapshots the assignment's points, takes the late penalty (percent per
  started day late, never more than ``100 - floor`` percent of the points) and gets
  its letter from the organization's scale (or A 90 / B 80 / C 70 / D 60 / F 0);
- a final grade moves its submission to ``graded``, a posted one to ``returned``,
  and removing the grade moves it back;
- rubric scores stay within their criterion's maximum (422) and their sum becomes
  the grade's points; every change to a grade is written to ``grade_history``.

Functions other packages may call (each takes the caller's session first):
``get_submission``, ``get_rubric``, ``get_grade``, ``grade_submission``,
``delete_grade``, ``post_grades``, ``grade_out``.
"""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.errors import sqlstate
from schoolbase.grading import schemas
from schoolbase.models import (
    Assignment,
    AssignmentCategory,
    AssignmentGrade,
    AssignmentRubric,
    AssignmentRubricCriterion,
    AssignmentState,
    AssignmentSubmission,
    Class,
    Enrollment,
    GradeHistory,
    GradeSource,
    GradeState,
    GradingScaleLevel,
    MembershipRole,
    Organization,
    RubricGrade,
    SubmissionStatus,
    User,
)
from schoolbase.pagination import PageParams, paginate, paginate_by
from schoolbase.problems import (
    ALREADY_GRADED,
    ALREADY_SUBMITTED,
    ASSIGNMENT_STATE,
    CATEGORY_IN_USE,
    EXCUSED,
    INVALID_REFERENCE,
    MARKED_MISSING,
    NO_RUBRIC,
    NOT_DUE_YET,
    NOT_SUBMITTED,
    POINTS_LOCKED,
    RUBRIC_IN_USE,
    RULE_VIOLATION,
    SUBMISSION_STATE,
    VALIDATION,
    Problem,
    forbidden,
    not_found,
)

DEFAULT_SCALE = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))
# Sorts assignments without a due date after every dated one.
NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=UTC)


def rule_broken(detail: str) -> Problem:
    """The same problem a trigger's refusal (SQLSTATE P0001) becomes."""
    return RULE_VIOLATION(detail)


async def manages_class(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID) -> bool:
    """Is the caller a super admin, an org admin of the organization or a teacher of the class?
    (The staff of ACCESS.md's grading rows: OA and T.)"""
    return bool(
        await session.scalar(
            text(
                "select private.is_super_admin()"
                " or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
                " or cast(:class as uuid) in (select private.taught_class_ids())"
            ),
            {"org": organization_id, "class": class_id},
        )
    )


async def require_manager(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID, doing: str) -> None:
    if not await manages_class(session, organization_id, class_id):
        raise forbidden(f"only the class's teachers and org admins may {doing}")


async def _refreshed(session: AsyncSession, row: Any) -> Any:
    """``row`` as the database has it now (triggers set some of its columns)."""
    await session.refresh(row)
    return row


# Grading scale


async def get_grading_scale(session: AsyncSession, organization_id: uuid.UUID) -> schemas.GradingScaleOut:
    await get_visible(session, Organization, organization_id, "organization")
    levels = (
        await session.scalars(
            select(GradingScaleLevel)
            .where(GradingScaleLevel.organization_id == organization_id)
            .order_by(GradingScaleLevel.min_percent.desc())
        )
    ).all()
    if not levels:
        return schemas.GradingScaleOut(
            organization_id=organization_id,
            is_default=True,
            levels=[schemas.ScaleLevel(letter=letter, min_percent=Decimal(low)) for letter, low in DEFAULT_SCALE],
        )
    return schemas.GradingScaleOut(
        organization_id=organization_id,
        is_default=False,
        levels=[schemas.ScaleLevel.model_validate(level) for level in levels],
    )


async def set_grading_scale(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.GradingScaleIn
) -> schemas.GradingScaleOut:
    """Replace the organization's scale (org admins) and re-letter its grades that change."""
    await get_visible(session, Organization, organization_id, "organization")
    is_admin = await session.scalar(
        text(
            "select private.is_super_admin() or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
        ),
        {"org": organization_id},
    )
    if not is_admin:
        raise forbidden("only org admins may change the grading scale")
    await session.execute(delete(GradingScaleLevel).where(GradingScaleLevel.organization_id == organization_id))
    if body.levels:
        await session.execute(
            insert(GradingScaleLevel),
            [{"organization_id": organization_id, **level.model_dump()} for level in body.levels],
        )
    # The grade trigger derives the letter on every write; touch only grades whose letter
    # changes, so the history shows exactly those. AI suggestions get theirs when confirmed.
    new_letter = func.private.letter_grade(AssignmentGrade.organization_id, AssignmentGrade.percentage)
    await session.execute(
        update(AssignmentGrade)
        .where(
            AssignmentGrade.organization_id == organization_id,
            AssignmentGrade.state != GradeState.ai_suggested,
            AssignmentGrade.letter_grade.is_distinct_from(new_letter),
        )
        .values(letter_grade=new_letter)
        .execution_options(synchronize_session=False)
    )
    return await get_grading_scale(session, organization_id)


# Categories


def categories_query(class_id: uuid.UUID) -> Select:
    return select(AssignmentCategory).where(AssignmentCategory.class_id == class_id)


async def create_category(
    session: AsyncSession, class_id: uuid.UUID, body: schemas.CategoryCreate
) -> AssignmentCategory:
    cls = await get_visible(session, Class, class_id, "class")
    return await add(
        session, AssignmentCategory(organization_id=cls.organization_id, class_id=class_id, **body.model_dump())
    )


async def get_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> AssignmentCategory:
    category = await get_visible(session, AssignmentCategory, category_id, "assignment category")
    if category.class_id != class_id:
        raise not_found("assignment category")
    return category


async def update_category(
    session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID, body: schemas.CategoryUpdate
) -> AssignmentCategory:
    await get_category(session, class_id, category_id)
    return await change(session, AssignmentCategory, category_id, body.values(), "assignment category")


async def delete_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> None:
    """409 while assignments are in the category."""
    await get_category(session, class_id, category_id)
    try:
        async with session.begin_nested():
            await remove(session, AssignmentCategory, category_id, "assignment category")
    except IntegrityError as exc:
        if sqlstate(exc) != "23503":
            raise
        raise CATEGORY_IN_USE("the category still has assignments: move or delete them first") from exc


# Assignments


def assignments_query(class_id: uuid.UUID, state: AssignmentState | None = None) -> Select:
    stmt = select(Assignment).where(Assignment.class_id == class_id)
    return stmt if state is None else stmt.where(Assignment.state == state)


async def _check_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> None:
    found = await session.scalar(
        select(exists().where(AssignmentCategory.id == category_id, AssignmentCategory.class_id == class_id))
    )
    if not found:
        raise INVALID_REFERENCE("category_id is not one of this class's assignment categories")


async def create_assignment(
    session: AsyncSession, user_id: uuid.UUID, class_id: uuid.UUID, body: schemas.AssignmentCreate
) -> Assignment:
    """A new assignment, as a draft: students see it once published."""
    cls = await get_visible(session, Class, class_id, "class")
    await _check_category(session, class_id, body.category_id)
    row = Assignment(organization_id=cls.organization_id, class_id=class_id, created_by=user_id, **body.model_dump())
    return await _refreshed(session, await add(session, row))


async def update_assignment(
    session: AsyncSession, assignment_id: uuid.UUID, body: schemas.AssignmentUpdate
) -> Assignment:
    values = body.values()
    for column in (
        "title",
        "type",
        "points_possible",
        "accept_late",
        "late_penalty_percent_per_day",
        "late_penalty_floor_percent",
        "allowed_attempts",
        "visible_to_parents",
        "category_id",
    ):
        if column in values and values[column] is None:
            raise VALIDATION(f"{column} cannot be null")
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    if "category_id" in values:
        await _check_category(session, assignment.class_id, values["category_id"])
    if values.get("points_possible", assignment.points_possible) != assignment.points_possible:
        await _check_points_unlocked(session, assignment)
    return await change(session, Assignment, assignment_id, values, "assignment")


async def _check_points_unlocked(session: AsyncSession, assignment: Assignment) -> None:
    """Points possible are fixed once the assignment has a grade (the trigger
    ``assignments_points_fixed_once_graded`` refuses it from every writer): each grade was given
    out of them, and rescaling behind the teacher's back would change what students were told."""
    if not await manages_class(session, assignment.organization_id, assignment.class_id):
        return  # the update itself is refused (403)
    graded = await session.scalar(
        select(func.count()).select_from(AssignmentGrade).where(AssignmentGrade.assignment_id == assignment.id)
    )
    if graded:
        raise POINTS_LOCKED(
            f"{graded} grade(s) were given out of {assignment.points_possible} points; remove them (or create a new"
            " assignment) before changing the points possible"
        )


async def _transition(
    session: AsyncSession, assignment_id: uuid.UUID, allowed_from: Sequence[AssignmentState], to: AssignmentState
) -> Assignment:
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, f"make an assignment {to}")
    if assignment.state not in allowed_from:
        raise ASSIGNMENT_STATE(f"the assignment is {assignment.state}")
    return await change(session, Assignment, assignment_id, {"state": to}, "assignment")


async def publish_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment:
    """draft (or closed, to reopen) → published: the class's students (and their parents) see it."""
    return await _transition(
        session, assignment_id, (AssignmentState.draft, AssignmentState.closed), AssignmentState.published
    )


async def close_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment:
    """published → closed: no more submissions; it stays visible."""
    return await _transition(session, assignment_id, (AssignmentState.published,), AssignmentState.closed)


# Rubrics


async def get_rubric(session: AsyncSession, assignment_id: uuid.UUID) -> schemas.RubricOut:
    """The assignment's rubric with its criteria in order; 404 when it has none."""
    await get_visible(session, Assignment, assignment_id, "assignment")
    rubric = await session.scalar(select(AssignmentRubric).where(AssignmentRubric.assignment_id == assignment_id))
    if rubric is None:
        raise not_found("rubric")
    return await _rubric_out(session, rubric)


async def _rubric_out(session: AsyncSession, rubric: AssignmentRubric) -> schemas.RubricOut:
    criteria = (
        await session.scalars(
            select(AssignmentRubricCriterion)
            .where(AssignmentRubricCriterion.rubric_id == rubric.id)
            .order_by(AssignmentRubricCriterion.position)
        )
    ).all()
    return schemas.RubricOut(
        id=rubric.id,
        assignment_id=rubric.assignment_id,
        title=rubric.title,
        total_points=sum((c.max_points for c in criteria), Decimal(0)),
        criteria=[schemas.CriterionOut.model_validate(c) for c in criteria],
    )


async def _rubric_scores(session: AsyncSession, rubric_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(RubricGrade)
        .join(AssignmentRubricCriterion, AssignmentRubricCriterion.id == RubricGrade.criterion_id)
        .where(AssignmentRubricCriterion.rubric_id == rubric_id)
    )


async def set_rubric(session: AsyncSession, assignment_id: uuid.UUID, body: schemas.RubricIn) -> schemas.RubricOut:
    """Create or replace the rubric. Its criteria are replaced only while no grade uses them (409)."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, "change rubrics")
    rubric = await session.scalar(
        select(AssignmentRubric).where(AssignmentRubric.assignment_id == assignment_id).with_for_update()
    )
    if rubric is None:
        rubric = await add(
            session,
            AssignmentRubric(organization_id=assignment.organization_id, assignment_id=assignment_id, title=body.title),
        )
    else:
        if used := await _rubric_scores(session, rubric.id):
            raise RUBRIC_IN_USE(
                f"{used} rubric score(s) use these criteria: delete those grades before replacing the rubric"
            )
        rubric.title = body.title
        await session.execute(delete(AssignmentRubricCriterion).where(AssignmentRubricCriterion.rubric_id == rubric.id))
    await session.execute(
        insert(AssignmentRubricCriterion),
        [
            {
                "organization_id": assignment.organization_id,
                "rubric_id": rubric.id,
                "position": position,
                "title": criterion.title,
                "description": criterion.description,
                "max_points": criterion.max_points,
                "levels": [level.stored() for level in criterion.levels],
            }
            for position, criterion in enumerate(body.criteria)
        ],
    )
    await session.flush()
    return await _rubric_out(session, rubric)


async def delete_rubric(session: AsyncSession, assignment_id: uuid.UUID) -> None:
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    rubric = await session.scalar(select(AssignmentRubric).where(AssignmentRubric.assignment_id == assignment_id))
    if rubric is None:
        raise not_found("rubric")
    await require_manager(session, assignment.organization_id, assignment.class_id, "delete rubrics")
    if used := await _rubric_scores(session, rubric.id):
        raise RUBRIC_IN_USE(f"{used} rubric score(s) use this rubric: delete those grades first")
    await remove(session, AssignmentRubric, rubric.id, "rubric")


# Submissions


async def get_submission(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    """One submission, if the caller may see it (404 otherwise)."""
    return await get_visible(session, AssignmentSubmission, submission_id, "submission")


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
    return await _refreshed(session, await change(session, AssignmentSubmission, submission_id, values, "submission"))


def _content(body: schemas.SubmissionCreate | schemas.SubmissionUpdate) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, include={"body", "links"})
    if values.get("links") is not None:
        values["links"] = [str(link) for link in body.links]
    elif "links" in values:
        values["links"] = []
    return values


async def submit(
    session: AsyncSession, student_id: uuid.UUID, assignment_id: uuid.UUID, body: schemas.SubmissionCreate
) -> tuple[AssignmentSubmission, bool]:
    """The student's work on an assignment: saved as a draft, or turned in with ``submit``.

    An open draft (or work the teacher marked missing) is filled in rather than starting a
    new attempt; after a submitted attempt this starts the next one. Returns the submission
    and whether it is a new row."""
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
        return await _update_submission(session, latest.id, values), False
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
    return await _refreshed(session, await add(session, row)), True


async def update_my_submission(
    session: AsyncSession, student_id: uuid.UUID, submission_id: uuid.UUID, body: schemas.SubmissionUpdate
) -> AssignmentSubmission:
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
    return await _update_submission(session, submission_id, values)


def submissions_query(assignment_id: uuid.UUID | None = None, student_id: uuid.UUID | None = None) -> Select:
    """Submissions with their grade where the caller may see it (a student: once posted)."""
    stmt = select(AssignmentSubmission, AssignmentGrade).outerjoin(
        AssignmentGrade, AssignmentGrade.submission_id == AssignmentSubmission.id
    )
    if assignment_id is not None:
        stmt = stmt.where(AssignmentSubmission.assignment_id == assignment_id)
    if student_id is not None:
        stmt = stmt.where(AssignmentSubmission.student_id == student_id)
    return stmt


def _turned_in_status(submitted_at: datetime | None, due_at: datetime | None) -> SubmissionStatus:
    """What a graded submission was before its grade: missing, late or submitted."""
    if submitted_at is None:
        return SubmissionStatus.missing
    if due_at is not None and submitted_at > due_at:
        return SubmissionStatus.late
    return SubmissionStatus.submitted


async def _statuses_shown(
    session: AsyncSession, rows: Sequence[tuple[AssignmentSubmission, bool]]
) -> dict[uuid.UUID, SubmissionStatus]:
    """Each submission's status as the caller may see it: ``graded`` only with a grade the caller
    can see, so a student or parent (who see a grade once it is posted) sees the work as turned
    in (submitted, late or missing) until then. Given (submission, grade visible) pairs."""
    hidden = [s for s, grade_seen in rows if s.status == SubmissionStatus.graded and not grade_seen]
    due: dict[uuid.UUID, datetime | None] = {}
    if hidden:
        stmt = select(Assignment.id, Assignment.due_at).where(Assignment.id.in_({s.assignment_id for s in hidden}))
        due = {assignment_id: due_at for assignment_id, due_at in await session.execute(stmt)}
    shown = {s.id: s.status for s, _ in rows}
    shown |= {s.id: _turned_in_status(s.submitted_at, due.get(s.assignment_id)) for s in hidden}
    return shown


async def list_submissions(
    session: AsyncSession, stmt: Select, params: PageParams
) -> tuple[list[schemas.SubmissionOut], str | None]:
    rows, cursor = await paginate(session, stmt, AssignmentSubmission, params)
    grades = [grade for _, grade in rows if grade is not None]
    scores = await _scores_of(session, [grade.id for grade in grades])
    shown = await _statuses_shown(session, [(submission, grade is not None) for submission, grade in rows])
    return [
        schemas.SubmissionOut.model_validate(submission).model_copy(
            update={
                "grade": _grade_schema(grade, scores.get(grade.id, [])) if grade is not None else None,
                "status": shown[submission.id],
            }
        )
        for submission, grade in rows
    ], cursor


async def submission_out(session: AsyncSession, submission: AssignmentSubmission) -> schemas.SubmissionOut:
    out = schemas.SubmissionOut.model_validate(submission)
    grade = await _grade_of(session, submission.id)
    shown = await _statuses_shown(session, [(submission, grade is not None)])
    return out.model_copy(
        update={"grade": await grade_out(session, grade) if grade is not None else None, "status": shown[submission.id]}
    )


async def _set_status(
    session: AsyncSession, submission: AssignmentSubmission, status: SubmissionStatus, doing: str
) -> AssignmentSubmission:
    await require_manager(session, submission.organization_id, submission.class_id, doing)
    return await _update_submission(session, submission.id, {"status": status})


async def return_submission(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    """Hand turned-in work back to the student (with or without a grade)."""
    submission = await get_submission(session, submission_id)
    await require_manager(session, submission.organization_id, submission.class_id, "return work")
    if submission.status not in (SubmissionStatus.submitted, SubmissionStatus.late, SubmissionStatus.graded):
        raise SUBMISSION_STATE(f"the submission is {submission.status}")
    return await _set_status(session, submission, SubmissionStatus.returned, "return work")


async def excuse_submission(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    """Excused work does not count toward the course percentage."""
    submission = await get_submission(session, submission_id)
    await require_manager(session, submission.organization_id, submission.class_id, "excuse work")
    if submission.status == SubmissionStatus.excused:
        raise SUBMISSION_STATE("the submission is already excused")
    return await _set_status(session, submission, SubmissionStatus.excused, "excuse work")


async def mark_submission_missing(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    """Work never turned in (a draft, or excused work no longer excused) counts as 0."""
    submission = await get_submission(session, submission_id)
    await require_manager(session, submission.organization_id, submission.class_id, "mark work missing")
    if submission.submitted_at is not None or submission.status not in (
        SubmissionStatus.draft,
        SubmissionStatus.excused,
    ):
        raise SUBMISSION_STATE(f"the submission is {submission.status}: only work never turned in can be missing")
    return await _set_status(session, submission, SubmissionStatus.missing, "mark work missing")


async def set_student_status(
    session: AsyncSession, assignment_id: uuid.UUID, student_id: uuid.UUID, status: SubmissionStatus
) -> AssignmentSubmission:
    """Excuse a student, or mark them missing, whether or not they have a submission yet."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, f"mark work {status}")
    latest = await _latest_attempt(session, assignment_id, student_id)
    if latest is not None:
        return await (excuse_submission if status == SubmissionStatus.excused else mark_submission_missing)(
            session, latest.id
        )
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
    return await _refreshed(session, await add(session, row))


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


async def mark_missing(session: AsyncSession, assignment_id: uuid.UUID) -> schemas.MarkedMissing:
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
    students = (
        await session.scalars(
            _MARK_MISSING,
            {
                "organization_id": assignment.organization_id,
                "class_id": assignment.class_id,
                "assignment_id": assignment_id,
            },
        )
    ).all()
    return schemas.MarkedMissing(marked=len(students), student_ids=list(students))


# Grades


async def _grade_of(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentGrade | None:
    return await session.scalar(
        select(AssignmentGrade)
        .where(AssignmentGrade.submission_id == submission_id)
        .execution_options(populate_existing=True)
    )


async def get_grade(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentGrade:
    """The submission's grade, if the caller may see it (students: once posted); else 404."""
    await get_submission(session, submission_id)
    grade = await _grade_of(session, submission_id)
    if grade is None:
        raise not_found("grade")
    return grade


async def _scores_of(session: AsyncSession, grade_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RubricGrade]]:
    if not grade_ids:
        return {}
    rows = (
        await session.scalars(
            select(RubricGrade)
            .join(AssignmentRubricCriterion, AssignmentRubricCriterion.id == RubricGrade.criterion_id)
            .where(RubricGrade.grade_id.in_(grade_ids))
            .order_by(RubricGrade.grade_id, AssignmentRubricCriterion.position)
            .execution_options(populate_existing=True)
        )
    ).all()
    scores: dict[uuid.UUID, list[RubricGrade]] = {}
    for row in rows:
        scores.setdefault(row.grade_id, []).append(row)
    return scores


def _grade_schema(grade: AssignmentGrade, scores: list[RubricGrade]) -> schemas.GradeOut:
    return schemas.GradeOut.model_validate(grade).model_copy(
        update={"rubric": [schemas.RubricScoreOut.model_validate(score) for score in scores]}
    )


async def grade_out(session: AsyncSession, grade: AssignmentGrade) -> schemas.GradeOut:
    """The API shape of a grade, with its rubric scores in criterion order."""
    scores = await _scores_of(session, [grade.id])
    return _grade_schema(grade, scores.get(grade.id, []))


@dataclass(frozen=True)
class RubricScore:
    """One criterion's score, for ``grade_submission(rubric=...)``."""

    criterion_id: uuid.UUID
    points: Decimal
    level_title: str | None = None
    comment: str | None = None


async def grade_submission(
    session: AsyncSession,
    submission_id: uuid.UUID,
    *,
    grader_id: uuid.UUID | None,
    points: Decimal | None = None,
    rubric: Sequence[RubricScore | schemas.RubricScoreIn] | None = None,
    state: GradeState = GradeState.draft,
    feedback: str | None = None,
    source: GradeSource = GradeSource.teacher,
    ai_confidence: Decimal | None = None,
    ai_usage_log_id: uuid.UUID | None = None,
) -> AssignmentGrade:
    """Create or replace the grade of a submission, by ``points`` or by ``rubric`` (exactly one).

    - ``rubric``: one score per criterion of the assignment's rubric (422 for a criterion of
      another rubric, or points above a criterion's maximum); scores not listed are removed.
      The database sums them into the grade's points. A ``final`` grade must score every
      criterion. Grading by ``points`` removes earlier rubric scores.
    - ``state``: ``draft`` (only staff see it), ``final`` (counted, and shown to the student
      once posted) or ``ai_suggested`` (with ``source=GradeSource.ai``; only a ``service_role``
      session may write one: row-level security refuses it to users with 403). For an AI
      suggestion ``ai_suggested_points`` is set to the suggested points (after the rubric sum),
      and ``ai_confidence`` / ``ai_usage_log_id`` are stored.
    - Confirming an AI suggestion is calling this again with ``state`` draft or final: the row
      keeps ``source='ai'``, ``ai_suggested_points`` and ``ai_confidence``, and ``grader_id``
      becomes the confirming teacher. An AI suggestion never replaces a teacher's grade (409).
    - Leaving ``final`` un-posts the grade. ``feedback`` replaces the previous feedback.
    - The database derives ``points_possible``, ``late_penalty_points``, ``final_points``,
      ``percentage`` and ``letter_grade``, moves the submission to graded/returned and writes
      ``grade_history`` (``changed_by`` is the session's user).

    Refusals: 404 submission not visible; 409 work not turned in (a draft), excused, no rubric;
    422 invalid rubric scores; 403 not staff of the class (raised by the database on write).
    Returns the grade as stored; ``grade_out`` gives the API shape.
    """
    if (points is None) == (rubric is None):
        raise VALIDATION("grade by either points or rubric")
    if state == GradeState.ai_suggested and source != GradeSource.ai:
        raise VALIDATION("an ai_suggested grade has source 'ai'")
    submission = await get_submission(session, submission_id)
    if submission.status == SubmissionStatus.draft:
        raise NOT_SUBMITTED("the student has not turned this in; mark it missing to grade it")
    if submission.status == SubmissionStatus.excused:
        raise EXCUSED("excused work is not graded; mark it missing first to grade it")

    criteria: dict[uuid.UUID, AssignmentRubricCriterion] = {}
    if rubric is not None:
        criteria = {
            c.id: c
            for c in (
                await session.scalars(
                    select(AssignmentRubricCriterion)
                    .join(AssignmentRubric, AssignmentRubric.id == AssignmentRubricCriterion.rubric_id)
                    .where(AssignmentRubric.assignment_id == submission.assignment_id)
                )
            ).all()
        }
        if not criteria:
            raise NO_RUBRIC("this assignment has no rubric: grade it by points")
        if unknown := [str(score.criterion_id) for score in rubric if score.criterion_id not in criteria]:
            raise INVALID_REFERENCE(f"not criteria of this assignment's rubric: {', '.join(unknown)}")
        if len({score.criterion_id for score in rubric}) != len(rubric):
            raise VALIDATION("each criterion may be scored only once")
        if state == GradeState.final and (unscored := set(criteria) - {score.criterion_id for score in rubric}):
            titles = ", ".join(sorted(criteria[c].title for c in unscored))
            raise VALIDATION(f"a final grade scores every criterion; missing: {titles}")

    grade = await _grade_of(session, submission_id)
    values: dict[str, Any] = {"state": state, "feedback": feedback, "grader_id": grader_id}
    if state != GradeState.final:
        values["posted_at"] = None
    if state == GradeState.ai_suggested:
        values |= {"ai_confidence": ai_confidence, "ai_usage_log_id": ai_usage_log_id}
    if grade is None:
        assignment = await get_visible(session, Assignment, submission.assignment_id, "assignment")
        grade = await add(
            session,
            AssignmentGrade(
                organization_id=submission.organization_id,
                class_id=submission.class_id,
                assignment_id=submission.assignment_id,
                submission_id=submission_id,
                student_id=submission.student_id,
                points=points if points is not None else Decimal(0),
                points_possible=assignment.points_possible,
                source=source,
                **values,
            ),
        )
    else:
        if state == GradeState.ai_suggested and grade.state != GradeState.ai_suggested:
            raise ALREADY_GRADED("a teacher's grade is never replaced by an AI suggestion")
        scored = await session.scalar(select(exists().where(RubricGrade.grade_id == grade.id)))
        if rubric is None and not scored:
            values["points"] = points
        grade = await change(session, AssignmentGrade, grade.id, values, "grade")
        if rubric is None and scored:
            # Only once the grade is no AI suggestion may its scores go; their removal re-sums
            # the points, so the points are set after.
            await session.execute(delete(RubricGrade).where(RubricGrade.grade_id == grade.id))
            grade = await change(session, AssignmentGrade, grade.id, {"points": points}, "grade")

    if rubric is not None:
        listed = [score.criterion_id for score in rubric]
        await session.execute(
            delete(RubricGrade).where(RubricGrade.grade_id == grade.id, RubricGrade.criterion_id.not_in(listed))
        )
        stmt = insert(RubricGrade).values(
            [
                {
                    "organization_id": submission.organization_id,
                    "grade_id": grade.id,
                    "criterion_id": score.criterion_id,
                    "points": score.points,
                    "level_title": score.level_title,
                    "comment": score.comment,
                }
                for score in rubric
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["organization_id", "grade_id", "criterion_id"],
                set_={
                    "points": stmt.excluded.points,
                    "level_title": stmt.excluded.level_title,
                    "comment": stmt.excluded.comment,
                },
            )
        )
    grade = await _grade_of(session, submission_id)
    if state == GradeState.ai_suggested and grade.ai_suggested_points != grade.points:
        await session.execute(
            update(AssignmentGrade)
            .where(AssignmentGrade.id == grade.id)
            .values(ai_suggested_points=AssignmentGrade.points)
            .execution_options(synchronize_session=False)
        )
        grade = await _grade_of(session, submission_id)
    return grade


async def delete_grade(session: AsyncSession, submission_id: uuid.UUID) -> None:
    """Remove the grade (its rubric scores go with it; the submission goes back to turned in)."""
    grade = await get_grade(session, submission_id)
    await remove(session, AssignmentGrade, grade.id, "grade")


async def post_grades(session: AsyncSession, assignment_id: uuid.UUID) -> schemas.PostedGrades:
    """Post every final, not yet posted grade of the assignment: students (and, when the
    assignment is visible to parents, their parents) see them from now on."""
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, "post grades")
    posted = (
        await session.scalars(
            update(AssignmentGrade)
            .where(
                AssignmentGrade.assignment_id == assignment_id,
                AssignmentGrade.state == GradeState.final,
                AssignmentGrade.posted_at.is_(None),
            )
            .values(posted_at=func.now())
            .returning(AssignmentGrade.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return schemas.PostedGrades(posted=len(posted))


async def grade_history(session: AsyncSession, grade_id: uuid.UUID) -> list[GradeHistory]:
    """Every recorded change of a grade, oldest first (staff only; 404 for anyone else)."""
    rows = (
        await session.scalars(
            select(GradeHistory)
            .where(GradeHistory.grade_id == grade_id)
            .order_by(GradeHistory.changed_at, GradeHistory.id)
        )
    ).all()
    if not rows:
        raise not_found("grade history")
    return list(rows)


# Gradebook


_GRADEBOOK = text(
    """
    with g as (select * from public.class_gradebook(:class_id)),
    course as (
      select distinct on (g.student_id) g.student_id,
             private.letter_grade(:organization_id, g.course_percentage) as letter
      from g order by g.student_id
    )
    select g.*, course.letter as course_letter from g join course using (student_id)
    """
)


async def gradebook(session: AsyncSession, class_id: uuid.UUID) -> schemas.Gradebook:
    """Per student and published assignment: the latest attempt's status and grade, and the
    weighted course percentage with the lowest scores dropped, all computed by
    ``public.class_gradebook`` in one query, as the caller sees them (a teacher: current
    grades; a student or parent: their own posted ones)."""
    cls = await get_visible(session, Class, class_id, "class")
    categories = (
        await session.scalars(categories_query(class_id).order_by(AssignmentCategory.name, AssignmentCategory.id))
    ).all()
    columns = (
        await session.scalars(
            assignments_query(class_id)
            .where(Assignment.state != AssignmentState.draft)
            .order_by(Assignment.due_at.asc().nulls_last(), Assignment.created_at, Assignment.id)
        )
    ).all()
    students = (
        await session.execute(
            select(Enrollment.user_id, User.display_name)
            .outerjoin(User, User.id == Enrollment.user_id)
            .where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)
            .order_by(User.display_name, Enrollment.user_id)
        )
    ).all()
    cells: dict[uuid.UUID, dict[uuid.UUID, Any]] = {}
    course: dict[uuid.UUID, tuple[Decimal | None, str | None]] = {}
    for row in await session.execute(_GRADEBOOK, {"class_id": class_id, "organization_id": cls.organization_id}):
        cells.setdefault(row.student_id, {})[row.assignment_id] = row
        course[row.student_id] = (row.course_percentage, row.course_letter)
    order = [column.id for column in columns]
    # "graded" only with a grade the caller sees: until it is posted, a student or parent sees the work as turned in.
    shown: dict[tuple[uuid.UUID, uuid.UUID], SubmissionStatus] = {}
    if any(c.status == SubmissionStatus.graded and c.grade_id is None for row in cells.values() for c in row.values()):
        due = {a.id: a.due_at for a in columns}
        for student_id, assignment_id, submitted_at in await session.execute(
            select(
                AssignmentSubmission.student_id, AssignmentSubmission.assignment_id, AssignmentSubmission.submitted_at
            )
            .where(AssignmentSubmission.class_id == class_id, AssignmentSubmission.status == SubmissionStatus.graded)
            .order_by(AssignmentSubmission.attempt)
        ):
            shown[(student_id, assignment_id)] = _turned_in_status(submitted_at, due.get(assignment_id))
    return schemas.Gradebook(
        class_id=class_id,
        categories=[
            schemas.GradebookCategory(id=c.id, name=c.name, weight_percent=c.weight_percent, drop_lowest=c.drop_lowest)
            for c in categories
        ],
        assignments=[
            schemas.GradebookColumn(
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
            schemas.GradebookRow(
                student_id=student_id,
                display_name=display_name,
                course_percentage=course.get(student_id, (None, None))[0],
                course_letter=course.get(student_id, (None, None))[1],
                cells=[
                    schemas.GradebookCell(
                        assignment_id=cell.assignment_id,
                        status=shown.get((student_id, assignment_id), cell.status)
                        if cell.status == SubmissionStatus.graded and cell.grade_id is None
                        else cell.status,
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
                    for assignment_id in order
                    if (cell := cells.get(student_id, {}).get(assignment_id)) is not None
                ],
            )
            for student_id, display_name in students
        ],
    )


def _csv_cell(cell: schemas.GradebookCell | None) -> Any:
    if cell is None:
        return None
    if cell.status == SubmissionStatus.excused:
        return "EX"
    if cell.grade_id is not None and cell.grade_state != GradeState.ai_suggested and cell.final_points is not None:
        return cell.final_points
    if cell.status == SubmissionStatus.missing:
        return 0
    return None


def gradebook_table(book: schemas.Gradebook) -> tuple[list[Any], Iterator[list[Any]]]:
    """The gradebook as a table for ``schoolbase.csvexport`` (which makes text formula-safe):
    one row per student, a column per assignment (final points; ``EX`` excused, ``0`` missing,
    empty when ungraded), then the course percentage and letter."""
    header = (
        ["student_id", "student"]
        + [f"{a.title} ({a.points_possible})" for a in book.assignments]
        + ["course_percentage", "course_letter"]
    )

    def rows() -> Iterator[list[Any]]:
        for student in book.students:
            by_assignment = {cell.assignment_id: cell for cell in student.cells}
            yield (
                [student.student_id, student.display_name]
                + [_csv_cell(by_assignment.get(a.assignment_id)) for a in book.assignments]
                + [student.course_percentage, student.course_letter]
            )

    return header, rows()


# Student and parent views


async def my_assignments(
    session: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    *,
    student_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> tuple[list[schemas.MyAssignment], str | None]:
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
        .where(AssignmentSubmission.assignment_id == Assignment.id, AssignmentSubmission.student_id == target)
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
                Enrollment.class_id == Assignment.class_id,
                Enrollment.user_id == target,
                Enrollment.role == MembershipRole.student,
            ),
        )
        .outerjoin(latest, true())
        .outerjoin(
            AssignmentGrade,
            and_(
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
    items = []
    for row in rows:
        assignment, grade = row[0], row.AssignmentGrade
        status = row.submission_status
        if status == SubmissionStatus.graded and grade is None:
            status = _turned_in_status(row.submitted_at, assignment.due_at)  # "graded" only once posted
        submission = (
            schemas.MySubmission(
                id=row.submission_id, attempt=row.attempt, status=status, submitted_at=row.submitted_at
            )
            if row.submission_id is not None
            else None
        )
        items.append(
            schemas.MyAssignment(
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
                grade=schemas.MyGrade.model_validate(grade, from_attributes=True) if grade is not None else None,
            )
        )
    return items, cursor
