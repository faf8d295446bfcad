"""Closing and reopening grading periods, overriding a student's period grade, and the
period's history.

Org admins close and reopen (row-level security on academic_sessions); while a period is
closed the database refuses every change to the grades of its assignments (55000, answered
409 period-closed). Overrides are the class's teachers' and org admins' to set, even in a
closed period; the student and their parents read one once the period is closed. Triggers
write the history: whoever reads it sees what row-level security lets them."""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.academics import schemas
from schoolbase.db.crud import get_visible, remove
from schoolbase.grading.access import require_manager
from schoolbase.models import (
    AcademicSession,
    AcademicSessionType,
    Class,
    Enrollment,
    GradingPeriodHistory,
    MembershipRole,
    PeriodGradeOverride,
)
from schoolbase.pagination import Page, PageParams, page_of, paginate
from schoolbase.problems import INVALID_STATE, NOT_A_MEMBER, VALIDATION, forbidden, not_found


async def grading_period(session: AsyncSession, period_id: uuid.UUID) -> AcademicSession:
    period = await get_visible(session, AcademicSession, period_id, "grading period")
    if period.type != AcademicSessionType.grading_period:
        raise VALIDATION("only a grading period closes and has period grades; this is a " + period.type.value)
    return period


async def _set_state(session: AsyncSession, period: AcademicSession, values: dict) -> AcademicSession:
    row = await session.scalar(
        update(AcademicSession).where(AcademicSession.id == period.id).values(**values).returning(AcademicSession)
    )
    if row is None:
        raise forbidden("only org admins close and reopen grading periods")
    return row


async def close_period(
    session: AsyncSession, period_id: uuid.UUID, actor_id: uuid.UUID, note: str | None
) -> AcademicSession:
    period = await grading_period(session, period_id)
    if period.closed_at is not None:
        raise INVALID_STATE("this grading period is already closed")
    return await _set_state(session, period, {"closed_at": func.now(), "closed_by": actor_id, "state_note": note})


async def reopen_period(session: AsyncSession, period_id: uuid.UUID, reason: str) -> AcademicSession:
    """The reason stays on the period (``state_note``) and in its history."""
    period = await grading_period(session, period_id)
    if period.closed_at is None:
        raise INVALID_STATE("this grading period is open")
    return await _set_state(session, period, {"closed_at": None, "closed_by": None, "state_note": reason})


async def history(session: AsyncSession, session_id: uuid.UUID, paging: PageParams) -> Page:
    """Newest first."""
    await get_visible(session, AcademicSession, session_id, "academic session")
    stmt = select(GradingPeriodHistory).where(GradingPeriodHistory.session_id == session_id)
    rows, cursor = await paginate(session, stmt, GradingPeriodHistory, paging, descending=True)
    return Page(items=[schemas.HistoryOut.model_validate(row[0]) for row in rows], next_cursor=cursor)


# Overrides


async def list_overrides(session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID, paging: PageParams) -> Page:
    await get_visible(session, Class, class_id, "class")
    await grading_period(session, period_id)
    stmt = select(PeriodGradeOverride).where(
        PeriodGradeOverride.class_id == class_id, PeriodGradeOverride.session_id == period_id
    )
    return await page_of(session, stmt, PeriodGradeOverride, paging, schemas.OverrideOut)


async def period_overrides(
    session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID
) -> dict[uuid.UUID, PeriodGradeOverride]:
    """Every override of the class's period the caller sees, by student (one per student)."""
    rows = await session.scalars(
        select(PeriodGradeOverride).where(
            PeriodGradeOverride.class_id == class_id, PeriodGradeOverride.session_id == period_id
        )
    )
    return {row.student_id: row for row in rows}


async def _override_target(
    session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID, student_id: uuid.UUID
) -> Class:
    cls = await get_visible(session, Class, class_id, "class")
    period = await grading_period(session, period_id)
    if period.organization_id != cls.organization_id:
        raise not_found("grading period")
    await require_manager(session, cls.organization_id, class_id, "override period grades")
    enrolled = await session.scalar(
        select(func.count()).where(
            Enrollment.class_id == class_id,
            Enrollment.user_id == student_id,
            Enrollment.role == MembershipRole.student,
        )
    )
    if not enrolled:
        raise NOT_A_MEMBER("this person is not a student of the class")
    return cls


async def set_override(
    session: AsyncSession,
    class_id: uuid.UUID,
    period_id: uuid.UUID,
    student_id: uuid.UUID,
    body: schemas.OverrideSet,
    actor_id: uuid.UUID,
) -> PeriodGradeOverride:
    """Sets or changes the student's period grade; allowed in a closed period too."""
    cls = await _override_target(session, class_id, period_id, student_id)
    values = {"percent": body.percent, "letter": body.letter, "reason": body.reason, "set_by": actor_id}
    return await session.scalar(
        insert(PeriodGradeOverride)
        .values(organization_id=cls.organization_id, class_id=class_id, session_id=period_id, student_id=student_id)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["organization_id", "class_id", "session_id", "student_id"],
            set_={**values, "updated_at": func.now()},
        )
        .returning(PeriodGradeOverride)
    )


async def remove_override(
    session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID, student_id: uuid.UUID, reason: str
) -> None:
    """The computed grade counts again. The reason is the override's last, so the history's
    removal row carries it."""
    if not reason.strip():
        raise VALIDATION("reason: say why the override is removed")
    await _override_target(session, class_id, period_id, student_id)
    override_id = await session.scalar(
        update(PeriodGradeOverride)
        .where(
            PeriodGradeOverride.class_id == class_id,
            PeriodGradeOverride.session_id == period_id,
            PeriodGradeOverride.student_id == student_id,
        )
        .values(reason=reason.strip())
        .returning(PeriodGradeOverride.id)
    )
    if override_id is None:
        raise not_found("override")
    await remove(session, PeriodGradeOverride, override_id, "override")
