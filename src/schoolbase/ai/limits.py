"""Admission: rate-limit slots and budget reservations, taken atomically in PostgreSQL.

Each counter is one row updated with a conditional upsert, so concurrent calls
(from any number of server processes) serialise on that row and none can pass
a limit another call has already reached.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Limited:
    """A denial with the limit that caused it and when it frees."""

    limit: str
    retry_after: int
    detail: str


# Windows start at fixed boundaries; the day follows the organization's time zone.
_TAKE_SLOT = text(
    """
    with w as (
      select case :kind
        when 'minute' then date_trunc('minute', now())
        when 'hour' then date_trunc('hour', now())
        else date_trunc('day', now() at time zone :tz) at time zone :tz
      end as start
    )
    insert into public.ai_rate_limits as r (organization_id, user_id, window_kind, window_start, used)
    select :org, :user, :kind, w.start, 1 from w
    on conflict (organization_id, user_id, window_kind) do update
      set used = case when r.window_start = excluded.window_start then r.used + 1 else 1 end,
          window_start = excluded.window_start
      where r.window_start <> excluded.window_start or r.used < :limit
    returning r.used
    """
)

_WINDOW_END = text(
    """
    select extract(epoch from (
      case :kind
        when 'minute' then date_trunc('minute', now()) + interval '1 minute'
        when 'hour' then date_trunc('hour', now()) + interval '1 hour'
        when 'day' then (date_trunc('day', now() at time zone :tz) + interval '1 day') at time zone :tz
        else (date_trunc('month', now() at time zone :tz) + interval '1 month') at time zone :tz
      end - now()))
    """
)


async def take_rate_slots(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, tz: str, limits: dict[str, int]
) -> Limited | None:
    """Take one slot in each window, in a fixed order (so concurrent calls never deadlock)."""
    for kind in ("minute", "hour", "day"):
        params = {"org": org_id, "user": user_id, "kind": kind, "tz": tz, "limit": limits[kind]}
        if (await session.execute(_TAKE_SLOT, params)).first() is None:
            return Limited(
                f"per_{kind}", await seconds_until(session, kind, tz), f"rate limit of {limits[kind]} calls per {kind} reached"
            )
    return None


async def seconds_until(session: AsyncSession, kind: str, tz: str) -> int:
    """Seconds until the current minute, hour, day or month (in ``tz``) ends."""
    return max(1, math.ceil(await session.scalar(_WINDOW_END, {"kind": kind, "tz": tz})))


_ENSURE_MONTH = text(
    """
    insert into public.ai_monthly_org_usage (organization_id, month, budget_usd)
    values (:org, :month, :budget)
    on conflict (organization_id, month) do nothing
    """
)

_EXPIRE = text(
    """
    with gone as (
      delete from public.ai_budget_reservations
      where organization_id = :org and month = :month and expires_at < now()
      returning amount_usd
    )
    update public.ai_monthly_org_usage set reserved_usd = reserved_usd - (select coalesce(sum(amount_usd), 0) from gone)
    where organization_id = :org and month = :month and exists (select from gone)
    """
)

_RESERVE = text(
    """
    update public.ai_monthly_org_usage
    set reserved_usd = reserved_usd + :amount, budget_usd = cast(:budget as numeric)
    where organization_id = :org and month = :month
      and (cast(:budget as numeric) is null or cost_usd + reserved_usd + :amount <= :budget)
    returning cost_usd, reserved_usd
    """
)

_HOLD = text(
    """
    insert into public.ai_budget_reservations (organization_id, month, amount_usd, expires_at)
    values (:org, :month, :amount, now() + make_interval(secs => :ttl))
    returning id
    """
)


@dataclass(frozen=True)
class Reservation:
    id: uuid.UUID
    month: date
    amount: Decimal


async def reserve_budget(
    session: AsyncSession,
    org_id: uuid.UUID,
    tz: str,
    month: date,
    budget: Decimal | None,
    amount: Decimal,
    ttl_seconds: int,
) -> Reservation | Limited:
    """Hold ``amount`` against the month's budget, or refuse if spent + reserved would pass it."""
    params = {"org": org_id, "month": month, "budget": budget, "amount": amount, "ttl": ttl_seconds}
    await session.execute(_ENSURE_MONTH, params)
    await session.execute(_EXPIRE, params)
    if (await session.execute(_RESERVE, params)).first() is None:
        return Limited(
            "monthly_budget",
            await seconds_until(session, "month", tz),
            f"the organization's monthly AI budget of ${budget} cannot cover this call's worst case of ${amount:.6f}",
        )
    return Reservation(await session.scalar(_HOLD, params), month, amount)


async def expire_reservations(session: AsyncSession) -> int:
    """Release every reservation past its expiry (a crash between reserve and settle)."""
    rows = (
        await session.execute(
            text(
                """
                with gone as (
                  delete from public.ai_budget_reservations where expires_at < now()
                  returning organization_id, month, amount_usd
                ), per_month as (
                  select organization_id, month, sum(amount_usd) as amount, count(*) as n from gone
                  group by organization_id, month
                )
                update public.ai_monthly_org_usage m set reserved_usd = m.reserved_usd - p.amount
                from per_month p where m.organization_id = p.organization_id and m.month = p.month
                returning p.n
                """
            )
        )
    ).scalars()
    return sum(rows)
