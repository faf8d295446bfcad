"""Grades of submissions: one per submission, by points or by rubric scores, as a draft,
final, or an AI suggestion; posting final grades; a grade's history.

The database does the arithmetic and keeps the rules (revision ``20250924_163800``): a
grade snapshots the assignment's points, takes the late penalty (percent per started day
late, never more than ``100 - floor`` percent of the points) and gets its letter from the
organization's scale; a final grade moves its submission to ``graded``, a posted one to
``returned``, and removing the grade moves it back; rubric scores stay within their
criterion's maximum (422) and their sum becomes the grade's points; every change to a
grade is written to ``grade_history``.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.grading.access import require_manager
from schoolbase.grading.schemas import GradeIn, GradeOut, PostedGrades, RubricScoreIn, RubricScoreOut
from schoolbase.models import (
    Assignment,
    AssignmentGrade,
    AssignmentRubric,
    AssignmentRubricCriterion,
    AssignmentSubmission,
    GradeHistory,
    GradeSource,
    GradeState,
    RubricGrade,
    SubmissionStatus,
)
from schoolbase.problems import (
    ALREADY_GRADED,
    EXCUSED,
    INVALID_REFERENCE,
    NO_RUBRIC,
    NOT_SUBMITTED,
    VALIDATION,
    not_found,
)

# Reading


async def grade_of(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentGrade | None:
    """The submission's grade as the database has it now, if the caller may see it."""
    return await session.scalar(
        select(AssignmentGrade)
        .where(AssignmentGrade.submission_id == submission_id)
        .execution_options(populate_existing=True)
    )


async def _visible_submission(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentSubmission:
    return await get_visible(session, AssignmentSubmission, submission_id, "submission")


async def get_grade(session: AsyncSession, submission_id: uuid.UUID) -> AssignmentGrade:
    """The submission's grade, if the caller may see it (students: once posted); else 404."""
    await _visible_submission(session, submission_id)
    grade = await grade_of(session, submission_id)
    if grade is None:
        raise not_found("grade")
    return grade


async def scores_of(session: AsyncSession, grade_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RubricGrade]]:
    """The rubric scores of each grade, in criterion order."""
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


def grade_schema(grade: AssignmentGrade, scores: list[RubricGrade]) -> GradeOut:
    return GradeOut.model_validate(grade).model_copy(
        update={"rubric": [RubricScoreOut.model_validate(score) for score in scores]}
    )


async def grade_out(session: AsyncSession, grade: AssignmentGrade) -> GradeOut:
    """The API shape of a grade, with its rubric scores in criterion order."""
    scores = await scores_of(session, [grade.id])
    return grade_schema(grade, scores.get(grade.id, []))


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


# Writing


@dataclass(frozen=True)
class RubricScore:
    """One criterion's score, for ``grade_submission(rubric=...)``."""

    criterion_id: uuid.UUID
    points: Decimal
    level_title: str | None = None
    comment: str | None = None


Scores = Sequence[RubricScore | RubricScoreIn]


async def grade_submission(
    session: AsyncSession,
    submission_id: uuid.UUID,
    *,
    grader_id: uuid.UUID | None,
    points: Decimal | None = None,
    rubric: Scores | None = None,
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
    submission = await _visible_submission(session, submission_id)
    if submission.status == SubmissionStatus.draft:
        raise NOT_SUBMITTED("the student has not turned this in; mark it missing to grade it")
    if submission.status == SubmissionStatus.excused:
        raise EXCUSED("excused work is not graded; mark it missing first to grade it")
    if rubric is not None:
        await _check_scores(session, submission.assignment_id, rubric, state)

    values: dict[str, Any] = {"state": state, "feedback": feedback, "grader_id": grader_id}
    if state != GradeState.final:
        values["posted_at"] = None
    if state == GradeState.ai_suggested:
        values |= {"ai_confidence": ai_confidence, "ai_usage_log_id": ai_usage_log_id}
    grade = await grade_of(session, submission_id)
    if grade is None:
        grade = await _new_grade(session, submission, values, points, source)
    else:
        grade = await _replace_grade(session, grade, values, points, by_rubric=rubric is not None)
    if rubric is not None:
        await _write_scores(session, submission.organization_id, grade.id, rubric)
    grade = await grade_of(session, submission_id)
    if state == GradeState.ai_suggested and grade.ai_suggested_points != grade.points:
        await session.execute(
            update(AssignmentGrade)
            .where(AssignmentGrade.id == grade.id)
            .values(ai_suggested_points=AssignmentGrade.points)
            .execution_options(synchronize_session=False)
        )
        grade = await grade_of(session, submission_id)
    return grade


async def teacher_grades(
    session: AsyncSession, submission_id: uuid.UUID, grader_id: uuid.UUID, body: GradeIn
) -> AssignmentGrade:
    """A grade a teacher gives (``PUT /submissions/{id}/grade``, the grading page, the gradebook)."""
    return await grade_submission(
        session,
        submission_id,
        grader_id=grader_id,
        points=body.points,
        rubric=body.rubric,
        state=GradeState(body.state),
        feedback=body.feedback,
    )


async def _check_scores(session: AsyncSession, assignment_id: uuid.UUID, rubric: Scores, state: GradeState) -> None:
    """Scores only of this assignment's criteria, each once; a final grade scores them all."""
    criteria = {
        c.id: c
        for c in (
            await session.scalars(
                select(AssignmentRubricCriterion)
                .join(AssignmentRubric, AssignmentRubric.id == AssignmentRubricCriterion.rubric_id)
                .where(AssignmentRubric.assignment_id == assignment_id)
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


async def _new_grade(
    session: AsyncSession,
    submission: AssignmentSubmission,
    values: dict[str, Any],
    points: Decimal | None,
    source: GradeSource,
) -> AssignmentGrade:
    assignment = await get_visible(session, Assignment, submission.assignment_id, "assignment")
    return await add(
        session,
        AssignmentGrade(
            organization_id=submission.organization_id,
            class_id=submission.class_id,
            assignment_id=submission.assignment_id,
            submission_id=submission.id,
            student_id=submission.student_id,
            points=points if points is not None else Decimal(0),
            points_possible=assignment.points_possible,
            source=source,
            **values,
        ),
    )


async def _replace_grade(
    session: AsyncSession, grade: AssignmentGrade, values: dict[str, Any], points: Decimal | None, *, by_rubric: bool
) -> AssignmentGrade:
    if values["state"] == GradeState.ai_suggested and grade.state != GradeState.ai_suggested:
        raise ALREADY_GRADED("a teacher's grade is never replaced by an AI suggestion")
    scored = await session.scalar(select(exists().where(RubricGrade.grade_id == grade.id)))
    if not by_rubric and not scored:
        values = values | {"points": points}
    grade = await change(session, AssignmentGrade, grade.id, values, "grade")
    if not by_rubric and scored:
        # Only once the grade is no AI suggestion may its scores go; their removal re-sums
        # the points, so the points are set after.
        await session.execute(delete(RubricGrade).where(RubricGrade.grade_id == grade.id))
        grade = await change(session, AssignmentGrade, grade.id, {"points": points}, "grade")
    return grade


async def _write_scores(session: AsyncSession, organization_id: uuid.UUID, grade_id: uuid.UUID, rubric: Scores) -> None:
    """Upsert the listed scores and remove the others (the database re-sums the points)."""
    listed = [score.criterion_id for score in rubric]
    await session.execute(
        delete(RubricGrade).where(RubricGrade.grade_id == grade_id, RubricGrade.criterion_id.not_in(listed))
    )
    stmt = insert(RubricGrade).values(
        [
            {
                "organization_id": organization_id,
                "grade_id": grade_id,
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


async def delete_grade(session: AsyncSession, submission_id: uuid.UUID) -> None:
    """Remove the grade (its rubric scores go with it; the submission goes back to turned in)."""
    grade = await get_grade(session, submission_id)
    await remove(session, AssignmentGrade, grade.id, "grade")


async def post_grades(session: AsyncSession, assignment_id: uuid.UUID) -> PostedGrades:
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
    return PostedGrades(posted=len(posted))
