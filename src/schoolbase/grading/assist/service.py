"""AI-assisted grading on a session: what a suggestion is made from (read as the caller),
storing it (as the server), the teacher's review (accept, edit or reject), and how often
teachers agree with the AI. ``flows.py`` runs a suggestion across its transactions and
the AI call; nothing here commits.
"""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.errors import sqlstate
from schoolbase.grading.assist import schemas
from schoolbase.grading.assist.prompt import Answer, Criterion, Target
from schoolbase.grading.grades import RubricScore, grade_submission
from schoolbase.models.grading import GradeSource, GradeState
from schoolbase.problems import (
    ALREADY_GRADED,
    NOT_AN_AI_SUGGESTION,
    NOT_GRADABLE,
    RUBRIC_REQUIRED,
    VALIDATION,
    Problem,
    forbidden,
    not_found,
)

GRADABLE = ("submitted", "late")

# ---------------------------------------------------------------- reading, as the caller

_SUBMISSION = text(
    """
    select s.id, s.organization_id, s.class_id, s.assignment_id, s.student_id, s.status::text as status,
           s.body, s.links, a.title, a.type::text as type, a.instructions, a.points_possible
    from public.assignment_submissions s join public.assignments a on a.id = s.assignment_id
    where s.id = :id
    """
)
_IS_STAFF = text(
    """
    select cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))
        or cast(:class as uuid) in (select private.taught_class_ids())
    """
)
_GRADE_OF = text(
    "select g.id, g.state::text as state from public.assignment_grades g "
    "where g.organization_id = :org and g.submission_id = :submission"
)
_RUBRIC = text(
    """
    select r.id, r.title from public.assignment_rubrics r
    where r.organization_id = :org and r.assignment_id = :assignment
    """
)
_CRITERIA = text(
    """
    select c.id, c.position, c.title, c.description, c.max_points, c.levels
    from public.assignment_rubric_criteria c
    where c.organization_id = :org and c.rubric_id = :rubric
    order by c.position
    """
)


async def first_or_404(session: AsyncSession, stmt: TextClause, params: dict[str, Any], what: str) -> Row:
    """The first row of ``stmt`` as the caller sees it; 404 naming ``what`` when there is none."""
    row = (await session.execute(stmt, params)).first()
    if row is None:
        raise not_found(what)
    return row


async def require_staff(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID) -> None:
    if not await session.scalar(_IS_STAFF, {"org": organization_id, "class": class_id}):
        raise forbidden("only the class's teachers and the organization's admins use AI grading")


def already_graded(grade_id: uuid.UUID, state: str) -> Problem:
    detail = {
        "final": "this submission already has a final grade",
        "draft": "a teacher is already grading this submission (draft grade)",
        "ai_suggested": "this submission already has an AI suggestion awaiting review: accept, edit or reject it first",
    }.get(state, "this submission already has a grade")
    return ALREADY_GRADED(detail, grade_id=str(grade_id), grade_state=state)


async def load_criteria(session: AsyncSession, organization_id: uuid.UUID, assignment_id: uuid.UUID):
    rubric = (await session.execute(_RUBRIC, {"org": organization_id, "assignment": assignment_id})).first()
    criteria = []
    if rubric is not None:
        rows = (await session.execute(_CRITERIA, {"org": organization_id, "rubric": rubric.id})).all()
        criteria = [Criterion(r.id, r.position, r.title, r.description, r.max_points, r.levels or []) for r in rows]
    if not criteria:
        raise RUBRIC_REQUIRED(
            "AI grading scores a submission against the assignment's rubric; give the assignment a rubric "
            "with at least one criterion first"
        )
    return rubric, criteria


async def _staff_submission(session: AsyncSession, submission_id: uuid.UUID) -> Row:
    row = await first_or_404(session, _SUBMISSION, {"id": submission_id}, "submission")
    await require_staff(session, row.organization_id, row.class_id)
    return row


async def load_target(session: AsyncSession, submission_id: uuid.UUID) -> Target:
    """The submission and its rubric as the caller sees them; refuses what may not be graded."""
    row = await _staff_submission(session, submission_id)
    grade = (await session.execute(_GRADE_OF, {"org": row.organization_id, "submission": row.id})).first()
    if grade is not None:
        raise already_graded(grade.id, grade.state)
    if row.status not in GRADABLE:
        raise NOT_GRADABLE(f"the submission is {row.status}; only submitted or late work is graded")
    rubric, criteria = await load_criteria(session, row.organization_id, row.assignment_id)
    return Target(
        organization_id=row.organization_id,
        class_id=row.class_id,
        assignment_id=row.assignment_id,
        submission_id=row.id,
        student_id=row.student_id,
        assignment_title=row.title,
        assignment_type=row.type,
        instructions=row.instructions,
        points_possible=row.points_possible,
        body=row.body,
        links=list(row.links),
        rubric_title=rubric.title,
        criteria=criteria,
    )


# ---------------------------------------------------------------- suggesting


async def store_suggestion(session: AsyncSession, target: Target, answer: Answer, log_id: uuid.UUID) -> uuid.UUID:
    """The ai_suggested grade and its rubric scores, through grading's one write
    path (``grade_submission``), in a service_role session: the policies reserve this state
    to the server. A grade that appeared while the AI was answering is never replaced (409)."""
    try:
        async with session.begin_nested():
            grade = await grade_submission(
                session,
                target.submission_id,
                grader_id=None,
                state=GradeState.ai_suggested,
                source=GradeSource.ai,
                feedback=answer.feedback or None,
                ai_confidence=answer.confidence,
                ai_usage_log_id=log_id,
                rubric=[RubricScore(s.criterion_id, s.points, s.level, s.comment) for s in answer.scores],
            )
            if grade.state != GradeState.ai_suggested or grade.ai_usage_log_id != log_id:
                raise ALREADY_GRADED("this submission was graded while the AI was answering")
    except IntegrityError as exc:
        if sqlstate(exc) == "23505":
            raise ALREADY_GRADED("this submission was graded while the AI was answering") from exc
        raise
    return grade.id


# ---------------------------------------------------------------- grades, as the caller

_GRADE = text(
    """
    select g.id, g.organization_id, g.class_id, g.assignment_id, g.submission_id, g.student_id, g.points,
           g.points_possible, g.late_penalty_points, g.final_points, g.percentage, g.letter_grade, g.feedback,
           g.grader_id, g.source::text as source, g.state::text as state, g.posted_at, g.ai_confidence,
           g.ai_usage_log_id, g.ai_suggested_points, g.points - g.ai_suggested_points as ai_difference,
           g.created_at, g.updated_at
    from public.assignment_grades g where g.id = :id
    """
)
_RUBRIC_SCORES = text(
    """
    select r.criterion_id, c.title, c.position, c.max_points, r.points, r.level_title, r.comment
    from public.rubric_grades r join public.assignment_rubric_criteria c on c.id = r.criterion_id
    where r.organization_id = :org and r.grade_id = :id
    order by c.position
    """
)


async def grade_out(session: AsyncSession, grade_id: uuid.UUID) -> schemas.GradeOut:
    row = (await first_or_404(session, _GRADE, {"id": grade_id}, "grade"))._mapping
    scores = (await session.execute(_RUBRIC_SCORES, {"org": row["organization_id"], "id": grade_id})).mappings()
    return schemas.GradeOut(**row, rubric=[schemas.RubricScoreOut(**s) for s in scores])


async def submission_suggestion(session: AsyncSession, submission_id: uuid.UUID) -> schemas.GradeOut:
    row = await _staff_submission(session, submission_id)
    grade = (await session.execute(_GRADE_OF, {"org": row.organization_id, "submission": row.id})).first()
    if grade is None:
        raise not_found("AI-assisted grade of this submission")
    out = await grade_out(session, grade.id)
    if out.ai_suggested_points is None:
        raise not_found("AI-assisted grade of this submission")
    return out


async def _visible_grade(session: AsyncSession, grade_id: uuid.UUID):
    row = await first_or_404(session, _GRADE, {"id": grade_id}, "grade")
    await require_staff(session, row.organization_id, row.class_id)
    return row


def _not_a_suggestion(state: str) -> Problem:
    return NOT_AN_AI_SUGGESTION(f"this grade is {state}, not an AI suggestion awaiting review", grade_state=state)


async def accept(session: AsyncSession, grade_id: uuid.UUID) -> schemas.GradeOut:
    """The suggestion becomes the final grade with the points the AI gave (source stays ai)."""
    row = await _visible_grade(session, grade_id)
    if row.state != GradeState.ai_suggested:
        raise _not_a_suggestion(row.state)
    done = await session.scalar(
        text(
            "update public.assignment_grades set state = 'final', grader_id = auth.uid() "
            "where id = :id and state = 'ai_suggested' returning id"
        ),
        {"id": grade_id},
    )
    if done is None:
        raise _not_a_suggestion("no longer ai_suggested")
    return await grade_out(session, grade_id)


_UPSERT_SCORE = text(
    """
    insert into public.rubric_grades (organization_id, grade_id, criterion_id, points, level_title, comment)
    values (:org, :grade, :criterion, :points, :level, :comment)
    on conflict (organization_id, grade_id, criterion_id)
    do update set points = excluded.points, level_title = excluded.level_title, comment = excluded.comment
    """
)


async def edit(session: AsyncSession, grade_id: uuid.UUID, body: schemas.GradeEdit) -> schemas.GradeOut:
    """The teacher's own grade from here on (source teacher); ai_suggested_points stays (a trigger keeps it)."""
    row = await _visible_grade(session, grade_id)
    if body.rubric is not None:
        _, criteria = await load_criteria(session, row.organization_id, row.assignment_id)
        known = {c.id: c for c in criteria}
        for score in body.rubric:
            criterion = known.get(score.criterion_id)
            if criterion is None:
                raise VALIDATION(f"criterion {score.criterion_id} is not part of this assignment's rubric")
            if score.points > criterion.max_points:
                raise VALIDATION(f"criterion {criterion.title!r} allows at most {criterion.max_points} points")
    sets = ["state = cast(:state as public.grade_state)", "source = 'teacher'", "grader_id = auth.uid()"]
    params: dict[str, Any] = {"id": grade_id, "state": body.state}
    if "feedback" in body.model_fields_set:
        sets.append("feedback = :feedback")
        params["feedback"] = body.feedback
    if body.state == "draft":
        sets.append("posted_at = null")
    updated = await session.scalar(
        text(f"update public.assignment_grades set {', '.join(sets)} where id = :id returning id"), params
    )
    if updated is None:
        raise forbidden("you may not change this grade")
    if body.points is not None:
        # Points given directly replace the rubric breakdown; its removal re-sums the points,
        # so they are set after (and only now that the grade is no AI suggestion any more).
        await session.execute(
            text("delete from public.rubric_grades where organization_id = :org and grade_id = :id"),
            {"org": row.organization_id, "id": grade_id},
        )
        await session.execute(
            text("update public.assignment_grades set points = :points where id = :id"),
            {"points": body.points, "id": grade_id},
        )
    for score in body.rubric or []:
        await session.execute(
            _UPSERT_SCORE,
            {
                "org": row.organization_id,
                "grade": grade_id,
                "criterion": score.criterion_id,
                "points": score.points,
                "level": score.level_title,
                "comment": score.comment,
            },
        )
    return await grade_out(session, grade_id)


async def reject(session: AsyncSession, grade_id: uuid.UUID) -> None:
    """Delete an AI suggestion awaiting review (the grade history keeps it)."""
    row = await _visible_grade(session, grade_id)
    if row.state != GradeState.ai_suggested:
        raise _not_a_suggestion(row.state)
    deleted = await session.scalar(
        text("delete from public.assignment_grades where id = :id and state = 'ai_suggested' returning id"),
        {"id": grade_id},
    )
    if deleted is None:
        raise forbidden("you may not delete this grade")


# ---------------------------------------------------------------- agreement report

_AGREEMENT = text(
    """
    with suggested as (
      select g.state, g.points - g.ai_suggested_points as diff
      from public.assignment_grades g
      where g.organization_id = :org and g.ai_suggested_points is not null
        and (cast(:class as uuid) is null or g.class_id = cast(:class as uuid))
        and (cast(:since as timestamptz) is null or g.created_at >= cast(:since as timestamptz))
        and (cast(:until as timestamptz) is null or g.created_at < cast(:until as timestamptz))
    )
    select count(*) filter (where state = 'final') as finalized,
           count(*) filter (where state = 'final' and abs(diff) <= :tolerance) as agreed,
           round(avg(abs(diff)) filter (where state = 'final'), 4) as mean_absolute_difference,
           round(avg(diff) filter (where state = 'final'), 4) as mean_difference,
           count(*) filter (where state = 'final' and diff = 0) as accepted_unchanged,
           count(*) filter (where state = 'final' and diff <> 0) as edited,
           count(*) filter (where state <> 'final') as in_review,
           (select count(*) from public.grade_history h
            where h.organization_id = :org and h.operation = 'DELETE'
              and h.old_row ->> 'state' = 'ai_suggested'
              and (cast(:class as uuid) is null or h.class_id = cast(:class as uuid))
              and (cast(:since as timestamptz) is null
                   or cast(h.old_row ->> 'created_at' as timestamptz) >= cast(:since as timestamptz))
              and (cast(:until as timestamptz) is null
                   or cast(h.old_row ->> 'created_at' as timestamptz) < cast(:until as timestamptz))) as rejected
    from suggested
    """
)


async def agreement(
    session: AsyncSession,
    organization_id: uuid.UUID,
    tolerance: Decimal,
    class_id: uuid.UUID | None,
    since,
    until,
) -> schemas.AgreementOut:
    allowed = await session.scalar(
        text(
            "select (select private.is_super_admin()) "
            "or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
        ),
        {"org": organization_id},
    )
    if not allowed:
        raise forbidden("the AI grading agreement report is for the organization's admins")
    row = (
        (
            await session.execute(
                _AGREEMENT,
                {
                    "org": organization_id,
                    "tolerance": tolerance,
                    "class": class_id,
                    "since": since,
                    "until": until,
                },
            )
        )
        .mappings()
        .one()
    )
    rate = (Decimal(row["agreed"]) / row["finalized"]).quantize(Decimal("0.0001")) if row["finalized"] else None
    return schemas.AgreementOut(organization_id=organization_id, tolerance=tolerance, agreement_rate=rate, **row)
