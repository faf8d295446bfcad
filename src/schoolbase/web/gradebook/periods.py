"""The gradebook page's grading periods: which the class's organization has (for the selector)
and a student's period grade overridden or the override removed, through the academics
services the API uses."""

import uuid
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.academics import closing, schemas, service
from schoolbase.models import AcademicSessionType, Class
from schoolbase.problems import Problem
from schoolbase.web.forms import attempt, parsed, text
from schoolbase.web.learning.views import every


async def grading_periods(session: AsyncSession, cls: Class) -> list[schemas.SessionOut]:
    """The organization's grading periods, by start date."""
    periods = await every(
        lambda p: service.list_sessions(session, cls.organization_id, p, type=AcademicSessionType.grading_period)
    )
    return sorted(periods, key=lambda s: (s.start_date, s.title))


def chosen(periods: list[schemas.SessionOut], period_id: uuid.UUID | None) -> schemas.SessionOut | None:
    return next((p for p in periods if p.id == period_id), None)


def _percent(value: str | None) -> Decimal | str | None:
    if value is None:
        return None
    try:
        return Decimal(value.rstrip("%").strip())
    except InvalidOperation:
        return value  # the schema says why


async def set_override(
    session: AsyncSession, cls: Class, period_id: uuid.UUID, student_id: uuid.UUID, form: FormData, actor: uuid.UUID
) -> str | None:
    """None when saved, else why not (for people)."""
    values = {
        "percent": _percent(text(form, "percent")),
        "letter": text(form, "letter"),
        "reason": text(form, "reason"),
    }
    body, errors = parsed(schemas.OverrideSet, {k: v for k, v in values.items() if v is not None})
    if body is None:
        return "; ".join(f"{name}: {why}" if name != "form" else why for name, why in errors.items())
    _, problem = await attempt(
        session, lambda: closing.set_override(session, cls.id, period_id, student_id, body, actor)
    )
    return _why(problem)


async def remove_override(
    session: AsyncSession, cls: Class, period_id: uuid.UUID, student_id: uuid.UUID, form: FormData
) -> str | None:
    reason = text(form, "reason")
    if reason is None:
        return "reason: say why the override is removed"
    _, problem = await attempt(session, lambda: closing.remove_override(session, cls.id, period_id, student_id, reason))
    return _why(problem)


def _why(problem: Problem | None) -> str | None:
    return None if problem is None else (problem.detail or problem.title)
