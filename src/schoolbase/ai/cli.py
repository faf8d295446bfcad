"""`schoolbase ai usage | prices | maintain`, as ``service_role``."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.problems import NOT_FOUND, validation_problem

app = typer.Typer(help="Metered AI: usage, prices, log maintenance.", no_args_is_help=True)
console = Console()


def _run(work):
    from schoolbase.cli import as_service  # noqa: PLC0415 - the CLI module owns the database setup
    from schoolbase.config import get_settings  # noqa: PLC0415
    from schoolbase.db.runtime import prepare_database  # noqa: PLC0415

    return as_service(prepare_database(get_settings()), work)


def parse_month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM, e.g. 2026-11") from exc


@app.command("usage")
def usage(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    month: Annotated[str, typer.Option(help="YYYY-MM in the organization's time zone.")] = datetime.now(UTC).strftime(
        "%Y-%m"
    ),
) -> None:
    """Requests, tokens and cost per person for one organization and month."""
    from schoolbase.models import Organization, User  # noqa: PLC0415
    from schoolbase.models.ai import AiDailyUserUsage as D  # noqa: PLC0415
    from schoolbase.models.ai import AiMonthlyOrgUsage  # noqa: PLC0415

    first = parse_month(month)

    async def work(session: AsyncSession):
        org_id = await session.scalar(select(Organization.id).where(Organization.slug == org))
        if org_id is None:
            raise NOT_FOUND(f"no organization with slug {org!r}")
        next_month = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        per_user = (
            await session.execute(
                select(
                    User.email,
                    func.sum(D.requests),
                    func.sum(D.succeeded),
                    func.sum(D.input_tokens + D.cache_write_tokens + D.cache_read_tokens),
                    func.sum(D.output_tokens),
                    func.sum(D.cost_usd),
                )
                .join(User, User.id == D.user_id)
                .where(D.organization_id == org_id, D.day >= first, D.day < next_month)
                .group_by(User.email)
                .order_by(func.sum(D.cost_usd).desc())
            )
        ).all()
        total = await session.scalar(
            select(AiMonthlyOrgUsage).where(
                AiMonthlyOrgUsage.organization_id == org_id, AiMonthlyOrgUsage.month == first
            )
        )
        return per_user, total

    per_user, total = _run(work)
    table = Table(title=f"AI usage of {org} in {month}")
    for column in ("person", "requests", "succeeded", "input tokens", "output tokens", "cost (USD)"):
        table.add_column(column, justify="left" if column == "person" else "right")
    for email, requests, succeeded, tokens_in, tokens_out, cost in per_user:
        table.add_row(email, str(requests), str(succeeded), str(tokens_in), str(tokens_out), f"{cost:.6f}")
    if total is not None:
        table.add_section()
        table.add_row(
            "total",
            str(total.requests),
            str(total.succeeded),
            str(total.input_tokens + total.cache_write_tokens + total.cache_read_tokens),
            str(total.output_tokens),
            f"{total.cost_usd:.6f}",
        )
    console.print(table)
    if total is not None:
        budget = "none" if total.budget_usd is None else f"${total.budget_usd}"
        console.print(f"budget {budget}, reserved by calls in flight ${total.reserved_usd:.6f}")


@app.command("prices")
def prices(
    set_alias: Annotated[str | None, typer.Option("--set", help="Alias of the service to price.")] = None,
    input_price: Annotated[Decimal | None, typer.Option("--input", help="USD per million input tokens.")] = None,
    output_price: Annotated[Decimal | None, typer.Option("--output", help="USD per million output tokens.")] = None,
    cache_write: Annotated[Decimal | None, typer.Option(help="USD per million cache-write tokens.")] = None,
    cache_read: Annotated[Decimal | None, typer.Option(help="USD per million cache-read tokens.")] = None,
    effective_from: Annotated[datetime | None, typer.Option(help="When the price starts (default: now).")] = None,
) -> None:
    """List every service's prices, or add a new price with --set ALIAS and all four rates."""
    from schoolbase.ai.schemas import PriceCreate  # noqa: PLC0415
    from schoolbase.ai.service import add_price  # noqa: PLC0415
    from schoolbase.models.ai import AiService, AiServicePrice  # noqa: PLC0415

    rates = (input_price, output_price, cache_write, cache_read)
    if set_alias is not None and None in rates:
        raise typer.BadParameter("--set needs --input, --output, --cache-write and --cache-read")
    new_price = None
    if set_alias is not None:
        start = effective_from or datetime.now(UTC)
        try:
            new_price = PriceCreate(
                effective_from=start if start.tzinfo else start.replace(tzinfo=UTC),
                input_usd_per_mtok=input_price,
                output_usd_per_mtok=output_price,
                cache_write_usd_per_mtok=cache_write,
                cache_read_usd_per_mtok=cache_read,
            )
        except ValidationError as exc:  # a negative or too precise rate is a usage error, not a crash
            raise typer.BadParameter(validation_problem(exc.errors()).detail) from exc

    async def work(session: AsyncSession):
        if new_price is not None:
            service_id = await session.scalar(select(AiService.id).where(AiService.alias == set_alias))
            if service_id is None:
                raise NOT_FOUND(f"no AI service {set_alias!r}")
            await add_price(session, service_id, new_price)
        return (
            await session.execute(
                select(AiService.alias, AiService.enabled, AiServicePrice)
                .join(AiServicePrice, AiServicePrice.service_id == AiService.id)
                .order_by(AiService.alias, AiServicePrice.effective_from)
            )
        ).all()

    table = Table(title="AI prices (USD per million tokens)")
    for column in ("service", "enabled", "effective from", "input", "output", "cache write", "cache read"):
        table.add_column(column)
    for alias, enabled, price in _run(work):
        rates = (getattr(price, f"{k}_usd_per_mtok") for k in ("input", "output", "cache_write", "cache_read"))
        table.add_row(
            alias,
            "yes" if enabled else "no",
            price.effective_from.strftime("%Y-%m-%d %H:%M %Z"),
            *(format(rate.normalize(), "f") for rate in rates),
        )
    console.print(table)


@app.command("maintain")
def maintain(months_ahead: Annotated[int, typer.Option(min=0, max=24)] = 3) -> None:
    """Create future log partitions, apply retention, release stale budget reservations."""
    from schoolbase.ai.maintenance import maintain as run_maintenance  # noqa: PLC0415

    report = _run(lambda session: run_maintenance(session, months_ahead))
    console.print(
        f"partitions created {report.partitions_created}, rows past retention deleted {report.rows_past_retention}, "
        f"partitions dropped {report.partitions_dropped}, reservations expired {report.reservations_expired}"
    )
