"""An assignment's rubric: ordered criteria, each with its maximum points and optional
levels. Its criteria are replaced only while no grade scores them."""

import uuid
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, get_visible, remove
from schoolbase.grading.access import require_manager
from schoolbase.grading.schemas import CriterionOut, RubricIn, RubricOut
from schoolbase.models import Assignment, AssignmentRubric, AssignmentRubricCriterion, RubricGrade
from schoolbase.problems import RUBRIC_IN_USE, not_found


async def _rubric_of(session: AsyncSession, assignment_id: uuid.UUID) -> AssignmentRubric:
    rubric = await session.scalar(select(AssignmentRubric).where(AssignmentRubric.assignment_id == assignment_id))
    if rubric is None:
        raise not_found("rubric")
    return rubric


async def get_rubric(session: AsyncSession, assignment_id: uuid.UUID) -> RubricOut:
    """The assignment's rubric with its criteria in order; 404 when it has none."""
    await get_visible(session, Assignment, assignment_id, "assignment")
    return await _rubric_out(session, await _rubric_of(session, assignment_id))


async def _rubric_out(session: AsyncSession, rubric: AssignmentRubric) -> RubricOut:
    criteria = (
        await session.scalars(
            select(AssignmentRubricCriterion)
            .where(AssignmentRubricCriterion.rubric_id == rubric.id)
            .order_by(AssignmentRubricCriterion.position)
        )
    ).all()
    return RubricOut(
        id=rubric.id,
        assignment_id=rubric.assignment_id,
        title=rubric.title,
        total_points=sum((c.max_points for c in criteria), Decimal(0)),
        criteria=[CriterionOut.model_validate(c) for c in criteria],
    )


async def _rubric_scores(session: AsyncSession, rubric_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(RubricGrade)
        .join(AssignmentRubricCriterion, AssignmentRubricCriterion.id == RubricGrade.criterion_id)
        .where(AssignmentRubricCriterion.rubric_id == rubric_id)
    )


async def set_rubric(session: AsyncSession, assignment_id: uuid.UUID, body: RubricIn) -> RubricOut:
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
    rubric = await _rubric_of(session, assignment_id)
    await require_manager(session, assignment.organization_id, assignment.class_id, "delete rubrics")
    if used := await _rubric_scores(session, rubric.id):
        raise RUBRIC_IN_USE(f"{used} rubric score(s) use this rubric: delete those grades first")
    await remove(session, AssignmentRubric, rubric.id, "rubric")
