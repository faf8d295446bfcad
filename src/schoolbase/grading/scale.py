"""The organization's letter scale: the letter of each grade comes from it (the grade
trigger derives it), or from A 90 / B 80 / C 70 / D 60 / F 0 while it has none."""

import uuid
from decimal import Decimal

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import get_visible
from schoolbase.grading.schemas import GradingScaleIn, GradingScaleOut, ScaleLevel
from schoolbase.models import AssignmentGrade, GradeState, GradingScaleLevel, Organization
from schoolbase.problems import forbidden

DEFAULT_SCALE = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))

_IS_ORG_ADMIN = text(
    "select private.is_super_admin() or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
)


async def get_grading_scale(session: AsyncSession, organization_id: uuid.UUID) -> GradingScaleOut:
    await get_visible(session, Organization, organization_id, "organization")
    levels = (
        await session.scalars(
            select(GradingScaleLevel)
            .where(GradingScaleLevel.organization_id == organization_id)
            .order_by(GradingScaleLevel.min_percent.desc())
        )
    ).all()
    if not levels:
        return GradingScaleOut(
            organization_id=organization_id,
            is_default=True,
            levels=[ScaleLevel(letter=letter, min_percent=Decimal(low)) for letter, low in DEFAULT_SCALE],
        )
    return GradingScaleOut(
        organization_id=organization_id,
        is_default=False,
        levels=[ScaleLevel.model_validate(level) for level in levels],
    )


async def set_grading_scale(session: AsyncSession, organization_id: uuid.UUID, body: GradingScaleIn) -> GradingScaleOut:
    """Replace the organization's scale (org admins) and re-letter its grades that change."""
    await get_visible(session, Organization, organization_id, "organization")
    if not await session.scalar(_IS_ORG_ADMIN, {"org": organization_id}):
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
