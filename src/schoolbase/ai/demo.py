"""The demo's AI usage history (Maple Grove) over the current month, so the usage dashboard has
figures: calls recorded through the gateway's own settlement (``private.ai_record``, one call
through ``private.ai_settle``, which also keeps the monthly totals and the budget alerts), each then dated back to its day of the month;
the daily per-person totals are summed again from the dated calls. A fixed set of calls (the
same spend whatever the day of the load), a few denied, some rated by their callers."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai.pricing import Price, Usage
from schoolbase.models import AiOrganizationSettings, AiService, AiServicePrice, AiUsageLog
from schoolbase.tenancy.demo_school import DemoSchool

REQUEST_ID = "demo-history"
_RECORD = text(
    "select private.ai_record(:org, :user, :service, cast(:feature as public.ai_feature), :request_id, "
    "cast(:status as public.ai_call_status), cast(:tokens as integer[]), cast(:prices as numeric[]), :cost, "
    ":latency, :error, null, null, null, null)"
)
MONTHLY_BUDGET = Decimal("4.00")  # the history spends about $2.12: past the 50% alert
CALLS = 72
# (person, feature, model, input tokens, output tokens)
PATTERNS = [
    ("grace", "homework_help", "claude-haiku", 1800, 600),
    ("linus", "homework_help", "claude-haiku", 2400, 900),
    ("ada", "grading_assistance", "claude-sonnet", 5200, 1400),
    ("margaret", "homework_help", "claude-haiku", 1500, 500),
    ("alan", "resource_generation", "claude-sonnet", 1200, 3800),
    ("tim", "homework_help", "claude-haiku", 2000, 700),
    ("alan", "grading_assistance", "claude-sonnet", 4800, 1200),
    ("ada", "resource_generation", "claude-haiku", 1000, 3000),
]
# call number -> (status, why): refused before any tokens, as ai_admit records a denial
DENIED = {
    9: ("rate_limited", "rate limit of 60 calls per minute reached"),
    23: ("feature_disabled", "homework_help is not enabled for your role in this organization"),
    41: ("rate_limited", "rate limit of 1000 calls per hour reached"),
    58: ("failed", "AI provider timed out"),
}
FEEDBACK = {0: (5, "Explained it step by step."), 3: (4, None), 5: (2, "Too long."), 12: (5, None), 17: (3, None)}

_DAILY = text(
    """
    insert into public.ai_daily_user_usage (organization_id, user_id, day, requests, succeeded, input_tokens,
      output_tokens, cache_write_tokens, cache_read_tokens, cost_usd)
    select organization_id, user_id, (created_at at time zone :zone)::date, count(*),
      count(*) filter (where status = 'succeeded'), sum(input_tokens), sum(output_tokens),
      sum(cache_write_tokens), sum(cache_read_tokens), sum(cost_usd)
    from public.ai_usage_logs where organization_id = :org
    group by organization_id, user_id, (created_at at time zone :zone)::date
    """
)


async def _prices(session: AsyncSession) -> dict[str, tuple[uuid.UUID, Price]]:
    found = {}
    for alias in {model for *_, model, _, _ in PATTERNS}:
        service = await session.scalar(select(AiService).where(AiService.alias == alias))
        price = await session.scalar(
            select(AiServicePrice)
            .where(AiServicePrice.service_id == service.id)
            .order_by(AiServicePrice.effective_from.desc())
            .limit(1)
        )
        found[alias] = (
            service.id,
            Price(
                price.input_usd_per_mtok,
                price.output_usd_per_mtok,
                price.cache_write_usd_per_mtok,
                price.cache_read_usd_per_mtok,
            ),
        )
    return found


def _when(number: int, now: datetime, zone: ZoneInfo) -> datetime:
    """Call ``number`` of CALLS, spread from the 1st of this month (local) up to now, in order."""
    local = now.astimezone(zone)
    days_so_far = local.day - 1
    back = days_so_far - (number * (days_so_far + 1)) // CALLS
    at = now - timedelta(days=back, minutes=7 * (CALLS - number))
    return at if at.astimezone(zone).month == local.month else now - timedelta(seconds=CALLS - number)


async def load_usage(session: AsyncSession, school: DemoSchool) -> None:
    """Load once: an organization with the demo's history is left alone."""
    org_id, people, now, time_zone = school.organization_id, school.people, school.now, school.time_zone
    logged = exists().where(AiUsageLog.organization_id == org_id, AiUsageLog.request_id == REQUEST_ID)
    if await session.scalar(select(logged)):
        return
    await session.execute(
        update(AiOrganizationSettings)
        .where(AiOrganizationSettings.organization_id == org_id)
        .values(monthly_budget_usd=MONTHLY_BUDGET)
    )
    prices, zone = await _prices(session), ZoneInfo(time_zone)
    for number in range(CALLS):
        who, feature, model, tokens_in, tokens_out = PATTERNS[number % len(PATTERNS)]
        service_id, price = prices[model]
        status, error = DENIED.get(number, ("succeeded", None))
        scale = 1 + (number * 37 % 11) / 10
        usage = Usage(int(tokens_in * scale), int(tokens_out * scale)) if status == "succeeded" else Usage()
        charged = status == "succeeded"
        log_id = await session.scalar(
            _RECORD,
            {
                "org": org_id,
                "user": people[who],
                "service": service_id,
                "feature": feature,
                "request_id": REQUEST_ID,
                "status": status,
                "tokens": [usage.input_tokens, usage.output_tokens, 0, 0],
                "prices": [price.input, price.output, price.cache_write, price.cache_read] if charged else [None] * 4,
                "cost": price.cost(usage),
                "latency": 900 + number * 53 % 2400 if charged else None,
                "error": error,
            },
        )
        at = _when(number, now, zone)
        rating, comment = FEEDBACK.get(number, (None, None))
        await session.execute(
            update(AiUsageLog)
            .where(AiUsageLog.organization_id == org_id, AiUsageLog.id == log_id)
            .values(
                created_at=at,
                updated_at=at,
                feedback_rating=rating,
                feedback_comment=comment,
                feedback_at=at + timedelta(minutes=3) if rating else None,
            )
        )
    await session.execute(text("delete from public.ai_daily_user_usage where organization_id = :org"), {"org": org_id})
    await session.execute(_DAILY, {"org": org_id, "zone": time_zone})
