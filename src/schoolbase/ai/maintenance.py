"""Keeping the usage logs in shape: future partitions, retention, stale reservations."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class MaintenanceReport:
    partitions_created: int
    rows_past_retention: int
    partitions_dropped: int
    reservations_expired: int


async def maintain(session: AsyncSession, months_ahead: int = 3) -> MaintenanceReport:
    """Create this month's and ``months_ahead`` future partitions, delete each organization's
    rows past its retention, drop partitions older than every organization's retention,
    and release reservations a crashed call left behind.

    The daily and monthly roll-ups are kept: they are the history once the rows are gone.
    """
    created = await session.scalar(
        text("select private.ensure_ai_usage_partitions((now() at time zone 'UTC')::date, :n)"),
        {"n": months_ahead + 1},
    )
    deleted = (
        await session.execute(
            text(
                """
                delete from public.ai_usage_logs l using public.ai_organization_settings s
                where l.organization_id = s.organization_id
                  and l.created_at < now() - make_interval(days => s.retention_days)
                """
            )
        )
    ).rowcount
    dropped = await session.scalar(
        text(
            """
            select private.drop_ai_usage_partitions_before(
              now() - make_interval(days => (select coalesce(max(retention_days), 3650)
                                             from public.ai_organization_settings)))
            """
        )
    )
    return MaintenanceReport(created, deleted, dropped, await expire_reservations(session))


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
