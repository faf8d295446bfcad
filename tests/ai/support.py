"""Helpers shared by the gateway, pricing, report and CLI tests."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from schoolbase.tenancy.people import create_person
from tests.conftest import signed_in

SONNET = {"input": Decimal("3"), "output": Decimal("15"), "cache_write": Decimal("3.75"), "cache_read": Decimal("0.30")}
HAIKU = {"input": Decimal("1"), "output": Decimal("5"), "cache_write": Decimal("1.25"), "cache_read": Decimal("0.10")}
MILLION = Decimal(1_000_000)


def expected_cost(prices: dict[str, Decimal], i: int = 0, o: int = 0, w: int = 0, r: int = 0) -> Decimal:
    return (i * prices["input"] + o * prices["output"] + w * prices["cache_write"] + r * prices["cache_read"]) / MILLION


def unit_prices(row: dict) -> dict[str, Decimal]:
    """A price or usage row's four prices per million tokens, keyed like ``HAIKU``."""
    return {kind: row[f"{kind}_usd_per_mtok"] for kind in HAIKU}


async def fetch(db, sql: str, **params) -> list[dict]:
    async with db.as_service() as session:
        return [dict(row._mapping) for row in (await session.execute(text(sql), params)).all()]


async def logs(db, org_id: uuid.UUID) -> list[dict]:
    return await fetch(
        db, "select * from public.ai_usage_logs where organization_id = :org order by created_at, id", org=org_id
    )


async def month_row(db, org_id: uuid.UUID) -> dict | None:
    rows = await fetch(
        db,
        """select m.* from public.ai_monthly_org_usage m join public.organizations o on o.id = m.organization_id
           where m.organization_id = :org and m.month = date_trunc('month', now() at time zone o.time_zone)::date""",
        org=org_id,
    )
    return rows[0] if rows else None


async def assert_released(db, org_id: uuid.UUID) -> None:
    """No budget is held any more: reserved_usd is 0 and no reservation rows are left."""
    held = await fetch(db, "select * from public.ai_budget_reservations where organization_id = :org", org=org_id)
    assert held == []
    month = await month_row(db, org_id)
    assert month is not None
    assert month["reserved_usd"] == 0


async def service_id(db, alias: str) -> uuid.UUID:
    return (await fetch(db, "select id from public.ai_services where alias = :a", a=alias))[0]["id"]


async def super_admin_headers(db, settings) -> dict[str, str]:
    email = f"sa-{uuid.uuid4().hex[:10]}@example.org"
    async with db.as_service() as session:
        user = await create_person(session, email, "AI super admin", "unused-hash", super_admin=True)
    return await signed_in(db, settings, user.id)


async def away_from_minute_edge(needed_seconds: float = 3.0) -> None:
    """Rate windows are fixed to clock minutes: start a burst of calls where ``needed_seconds``
    fit inside one minute (and so one hour). A wait for the clock, not for other work."""
    now = datetime.now(UTC)
    left = 60 - now.second - now.microsecond / 1e6
    if left < needed_seconds:
        await asyncio.sleep(left + 0.2)


def seconds_to_local_midnight(tz: str) -> float:
    now = datetime.now(ZoneInfo(tz))
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), ZoneInfo(tz))
    return (midnight - now).total_seconds()


def sse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def message(text: str = "Explain photosynthesis briefly.", **extra) -> dict:
    """A valid gateway request body for homework help."""
    return {"feature": "homework_help", "max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}
