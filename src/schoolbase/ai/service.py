"""AI services and prices, organization settings, usage reports and feedback, as the caller (RLS)."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai import schemas
from schoolbase.models.ai import (
    AiBudgetAlert,
    AiCallStatus,
    AiDailyUserUsage,
    AiFeature,
    AiMonthlyOrgUsage,
    AiOrganizationSettings,
    AiService,
    AiServicePrice,
    AiUsageLog,
)
from schoolbase.pagination import Page, PageParams, page_of
from schoolbase.problems import EXPORT_TOO_LARGE, forbidden, not_found

CSV_ROW_LIMIT = 100_000


async def record_quality(
    session: AsyncSession, organization_id: uuid.UUID, log_id: uuid.UUID, quality: dict[str, Any]
) -> None:
    """Merge what a feature learned about an answer (valid or not, confidence, what it
    became) into its usage log row, for the reports. As ``service_role``."""
    merged = AiUsageLog.quality.op("||")(bindparam("quality", quality, type_=JSONB))
    await session.execute(
        update(AiUsageLog)
        .where(AiUsageLog.organization_id == organization_id, AiUsageLog.id == log_id)
        .values(quality=merged)
    )


async def services_with_prices(session: AsyncSession) -> list[schemas.ServiceOut]:
    """Each visible service with the price in force now (the newest row that has started)."""
    services = (await session.scalars(select(AiService).order_by(AiService.alias))).all()
    prices = (
        await session.scalars(
            select(AiServicePrice)
            .where(AiServicePrice.effective_from <= func.now())
            .order_by(AiServicePrice.effective_from.desc())
        )
    ).all()
    current: dict = {}
    for price in prices:
        current.setdefault(price.service_id, price)
    return [
        schemas.ServiceOut.model_validate(service).model_copy(
            update={"price": schemas.PriceOut.model_validate(current[service.id]) if service.id in current else None}
        )
        for service in services
    ]


async def add_price(session: AsyncSession, service_id: uuid.UUID, body: schemas.PriceCreate) -> AiServicePrice:
    if await session.get(AiService, service_id) is None:
        raise not_found("AI service")
    row = AiServicePrice(service_id=service_id, **body.model_dump())
    session.add(row)
    await session.flush()
    return row


async def get_settings(session: AsyncSession, org_id: uuid.UUID) -> AiOrganizationSettings:
    row = await session.scalar(select(AiOrganizationSettings).where(AiOrganizationSettings.organization_id == org_id))
    if row is None:
        raise not_found("organization")
    return row


async def update_settings(
    session: AsyncSession, org_id: uuid.UUID, body: schemas.AiSettingsUpdate
) -> AiOrganizationSettings:
    current = await get_settings(session, org_id)
    values = body.model_dump(exclude_unset=True)  # an explicit null clears a budget, quota or service list
    if not values:
        return current
    row = await session.scalar(
        update(AiOrganizationSettings)
        .where(AiOrganizationSettings.organization_id == org_id)
        .values(**values)
        .returning(AiOrganizationSettings)
    )
    if row is None:
        raise forbidden("only an org admin may change the organization's AI settings")
    return row


def usage_query(
    *,
    organization_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    feature: AiFeature | None,
    status: AiCallStatus | None,
    since: datetime | None,
    until: datetime | None,
) -> Select:
    stmt = select(AiUsageLog)
    for column, value in (
        (AiUsageLog.organization_id, organization_id),
        (AiUsageLog.user_id, user_id),
        (AiUsageLog.feature, feature),
        (AiUsageLog.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AiUsageLog.created_at >= since)
    if until is not None:
        stmt = stmt.where(AiUsageLog.created_at < until)
    return stmt


USAGE_CSV_COLUMNS = list(schemas.UsageLogOut.model_fields)


async def check_usage_export(session: AsyncSession, stmt: Select) -> None:
    """422 when more rows match than one export may carry (counted up to the limit only)."""
    matching = await session.scalar(select(func.count()).select_from(stmt.limit(CSV_ROW_LIMIT + 1).subquery()))
    if matching > CSV_ROW_LIMIT:
        raise EXPORT_TOO_LARGE(f"more than {CSV_ROW_LIMIT} rows match; narrow the time range with since/until")


async def usage_csv_rows(session: AsyncSession, stmt: Select) -> AsyncIterator[list[Any]]:
    """The rows of the usage export (``USAGE_CSV_COLUMNS``), oldest first, read from the
    database as they are written out (a server-side cursor)."""
    ordered = stmt.order_by(AiUsageLog.created_at, AiUsageLog.id).limit(CSV_ROW_LIMIT)
    result = await session.stream_scalars(ordered.execution_options(yield_per=500))
    async for row in result:
        data = schemas.UsageLogOut.model_validate(row).model_dump(mode="json")
        yield [data[column] for column in USAGE_CSV_COLUMNS]


async def give_feedback(session: AsyncSession, log_id: uuid.UUID, body: schemas.Feedback) -> AiUsageLog:
    """Only the caller's own rows: the update policy and column grants allow nothing else."""
    row = await session.scalar(
        update(AiUsageLog)
        .where(AiUsageLog.id == log_id)
        .values(feedback_rating=body.rating, feedback_comment=body.comment, feedback_at=func.now())
        .returning(AiUsageLog)
    )
    if row is None:
        if await session.scalar(select(func.count()).where(AiUsageLog.id == log_id)):
            raise forbidden("only the person who made an AI call may rate it")
        raise not_found("AI usage record")
    return row


async def list_usage(session: AsyncSession, stmt: Select, paging: PageParams) -> Page:
    """One page of ``usage_query``'s rows."""
    return await page_of(session, stmt, AiUsageLog, paging, schemas.UsageLogOut)


async def list_daily(
    session: AsyncSession,
    paging: PageParams,
    organization_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    since: date | None,
    until: date | None,
) -> Page:
    stmt = select(AiDailyUserUsage)
    if organization_id:
        stmt = stmt.where(AiDailyUserUsage.organization_id == organization_id)
    if user_id:
        stmt = stmt.where(AiDailyUserUsage.user_id == user_id)
    if since:
        stmt = stmt.where(AiDailyUserUsage.day >= since)
    if until:
        stmt = stmt.where(AiDailyUserUsage.day <= until)
    return await page_of(session, stmt, AiDailyUserUsage, paging, schemas.DailyUsageOut)


async def list_monthly(session: AsyncSession, paging: PageParams, organization_id: uuid.UUID | None) -> Page:
    stmt = select(AiMonthlyOrgUsage)
    if organization_id:
        stmt = stmt.where(AiMonthlyOrgUsage.organization_id == organization_id)
    return await page_of(session, stmt, AiMonthlyOrgUsage, paging, schemas.MonthlyUsageOut)


async def list_alerts(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = select(AiBudgetAlert).where(AiBudgetAlert.organization_id == organization_id)
    return await page_of(session, stmt, AiBudgetAlert, paging, schemas.BudgetAlertOut)
