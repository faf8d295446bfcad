"""What the AI pages show, read in the page's transaction as the person: row-level security
decides whose calls they see, exactly as for ``GET /ai/usage`` (an org admin the
organization's, a teacher their students' and their own); everyone else is shown their own.
The budget, alerts and the grading agreement report are the org admin's, as in the API."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai import service as ai
from schoolbase.ai.schemas import AiSettingsOut, BudgetAlertOut, ServiceOut
from schoolbase.grading.assist import service as assist
from schoolbase.grading.assist.schemas import AgreementOut
from schoolbase.models.ai import AiBudgetAlert, AiCallStatus, AiFeature, AiMonthlyOrgUsage, AiUsageLog
from schoolbase.web.aidash import figures
from schoolbase.web.context import PageContext
from schoolbase.web.marking.views import names_of

FEATURES = {
    AiFeature.homework_help: "Homework help",
    AiFeature.grading_assistance: "Grading assistance",
    AiFeature.resource_generation: "Resource generation",
}
DENIALS = {
    AiCallStatus.rate_limited: "Rate limit or daily quota reached",
    AiCallStatus.over_budget: "Monthly budget spent",
    AiCallStatus.feature_disabled: "Feature not available to them",
    AiCallStatus.failed: "The AI provider failed",
}
SCOPES = {
    "organization": "Everyone in {org}",
    "students": "You and the students you teach",
    "own": "Your own AI use",
}


def scope_of(page: PageContext) -> str:
    if page.has("org_admin"):
        return "organization"
    return "students" if page.has("teacher") else "own"


def _visible(page: PageContext, stmt: Select, start: datetime, end: datetime) -> Select:
    """The calls of this month the page shows: the organization's as the person may see them
    (row-level security), narrowed to their own for anyone but org admins and teachers."""
    stmt = stmt.where(
        AiUsageLog.organization_id == page.organization.id,
        AiUsageLog.created_at >= start,
        AiUsageLog.created_at < end,
    )
    if scope_of(page) == "own":
        stmt = stmt.where(AiUsageLog.user_id == page.user_id)
    return stmt


async def usage_rows(
    session: AsyncSession, page: PageContext, start: datetime, end: datetime
) -> list[figures.UsageRow]:
    day = func.date(func.timezone(page.time_zone, AiUsageLog.created_at)).label("day")
    keys = (day, AiUsageLog.user_id, AiUsageLog.feature, AiUsageLog.service_id, AiUsageLog.status)
    stmt = select(
        *keys,
        func.count().label("requests"),
        func.count().filter(AiUsageLog.status == AiCallStatus.succeeded).label("succeeded"),
        func.coalesce(func.sum(AiUsageLog.input_tokens), 0),
        func.coalesce(func.sum(AiUsageLog.output_tokens), 0),
        func.coalesce(func.sum(AiUsageLog.cache_write_tokens), 0),
        func.coalesce(func.sum(AiUsageLog.cache_read_tokens), 0),
        func.coalesce(func.sum(AiUsageLog.cost_usd), 0),
    ).group_by(*keys)
    stmt = _visible(page, stmt, start, end).order_by(*keys)
    return [
        figures.UsageRow(row[0], row[1], str(row[2]), row[3], str(row[4]), *(int(v) for v in row[5:11]), row[11])
        for row in (await session.execute(stmt)).all()
    ]


@dataclass
class Dashboard:
    scope: str
    scope_label: str
    month_start: datetime
    rows: list[figures.UsageRow]
    names: dict[uuid.UUID, str]
    models: dict[uuid.UUID, str]
    ratings: dict[int, int] = field(default_factory=dict)
    settings: AiSettingsOut | None = None
    spent: Decimal | None = None
    reserved: Decimal | None = None
    alerts: list[BudgetAlertOut] = field(default_factory=list)
    agreement: AgreementOut | None = None

    @property
    def days(self) -> list[figures.Line]:
        return figures.per_day(self.rows, figures.days_of(self.month_start))

    @property
    def totals(self) -> figures.Totals:
        return figures.total(self.rows)

    @property
    def by_feature(self) -> list[figures.Line]:
        return figures.breakdown(self.rows, lambda r: r.feature, lambda k: FEATURES.get(k, k))

    @property
    def by_model(self) -> list[figures.Line]:
        return figures.breakdown(self.rows, lambda r: r.service_id, self.model_name)

    @property
    def by_person(self) -> list[figures.Line]:
        return figures.breakdown(self.rows, lambda r: r.user_id, self.person_name)

    @property
    def denied(self) -> list[figures.Line]:
        refused = [r for r in self.rows if r.status != AiCallStatus.succeeded]
        return figures.breakdown(refused, lambda r: r.status, lambda k: DENIALS.get(k, k))

    def person_name(self, user_id: uuid.UUID) -> str:
        return self.names.get(user_id) or "Unnamed person"

    def model_name(self, service_id: uuid.UUID) -> str:
        return self.models.get(service_id, "Another model")

    @property
    def budget(self) -> Decimal | None:
        return self.settings.monthly_budget_usd if self.settings else None

    @property
    def used_percent(self) -> Decimal | None:
        if not self.budget or self.spent is None:
            return None
        return (self.spent + (self.reserved or 0)) * 100 / self.budget

    def spend_chart(self) -> figures.Chart:
        values = [(d.label, d.totals.cost_usd, figures.money(d.totals.cost_usd)) for d in self.days]
        return figures.column_chart("Spend per day", values)

    def requests_chart(self) -> figures.Chart:
        values = [(d.label, d.totals.requests, str(d.totals.requests)) for d in self.days]
        return figures.column_chart("Requests per day", values)

    def agreement_chart(self) -> figures.Chart:
        a = self.agreement
        values = [
            ("Accepted unchanged", a.accepted_unchanged),
            ("Edited", a.edited),
            ("Rejected", a.rejected),
            ("Awaiting review", a.in_review),
        ]
        return figures.row_chart("AI grading suggestions by outcome", [(k, v, str(v)) for k, v in values])


async def _ratings(session: AsyncSession, page: PageContext, start: datetime, end: datetime) -> dict[int, int]:
    stmt = select(AiUsageLog.feedback_rating, func.count()).where(AiUsageLog.feedback_rating.is_not(None))
    rows = await session.execute(_visible(page, stmt, start, end).group_by(AiUsageLog.feedback_rating))
    found = dict(rows.all())
    return {rating: found.get(rating, 0) for rating in range(5, 0, -1)}


async def models(session: AsyncSession) -> list[ServiceOut]:
    return await ai.services_with_prices(session)


async def dashboard(session: AsyncSession, page: PageContext, tolerance: Decimal, now: datetime | None = None):
    start, end = figures.month_bounds(now or datetime.now(UTC), page.time_zone)
    scope = scope_of(page)
    rows = await usage_rows(session, page, start, end)
    view = Dashboard(
        scope,
        SCOPES[scope].format(org=page.organization.name),
        start,
        rows,
        await names_of(session, {r.user_id for r in rows}),
        {s.id: s.display_name for s in await models(session)},
        await _ratings(session, page, start, end),
    )
    if scope == "organization":
        await _admin_parts(session, page, view, start.date(), tolerance)
    return view


async def _admin_parts(session: AsyncSession, page: PageContext, view: Dashboard, month: date, tolerance) -> None:
    """The budget, its alerts and the agreement report: the org admin's (the API's rules)."""
    org = page.organization.id
    view.settings = AiSettingsOut.model_validate(await ai.get_settings(session, org))
    monthly = await session.scalar(
        select(AiMonthlyOrgUsage).where(AiMonthlyOrgUsage.organization_id == org, AiMonthlyOrgUsage.month == month)
    )
    view.spent = monthly.cost_usd if monthly else Decimal(0)
    view.reserved = monthly.reserved_usd if monthly else Decimal(0)
    alerts = await session.scalars(
        select(AiBudgetAlert)
        .where(AiBudgetAlert.organization_id == org)
        .order_by(AiBudgetAlert.month.desc(), AiBudgetAlert.threshold_percent.desc())
        .limit(24)
    )
    view.alerts = [BudgetAlertOut.model_validate(a) for a in alerts]
    view.agreement = await assist.agreement(session, org, tolerance, None, None, None)


CSV_COLUMNS = [
    "day",
    "user_id",
    "person",
    "feature",
    "model",
    "status",
    "requests",
    "succeeded",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_usd",
]


def csv_rows(view: Dashboard) -> list[list]:
    """The export: every grouped row the dashboard's tables add up, with exact costs."""
    return [
        [
            r.day.isoformat(),
            str(r.user_id),
            view.person_name(r.user_id),
            r.feature,
            view.model_name(r.service_id),
            r.status,
            r.requests,
            r.succeeded,
            r.input_tokens,
            r.output_tokens,
            r.cache_write_tokens,
            r.cache_read_tokens,
            r.cost_usd,
        ]
        for r in view.rows
    ]
