"""`schoolbase mail outbox`, as ``service_role``."""

from datetime import UTC
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.config import get_settings
from schoolbase.db.runtime import prepare_database
from schoolbase.mail import service

app = typer.Typer(help="Mail: the outbox of invitations and password resets.", no_args_is_help=True)
console = Console()

State = Literal["pending", "sent", "dead", "all"]


@app.command("outbox")
def outbox(
    state: Annotated[State, typer.Option(help="Only messages in this state.")] = "all",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 20,
    links: Annotated[
        bool | None,
        typer.Option("--links/--no-links", help="Show each message's link (default: only when no SMTP server is set)."),
    ] = None,
) -> None:
    """The newest messages: when, state, kind, recipient, subject, attempts and the last error.

    Without SCHOOLBASE_SMTP_URL nothing is really sent: the links are listed to open instead."""
    from schoolbase.cli import as_service  # here: schoolbase.cli imports this module

    settings = get_settings()

    async def work(session: AsyncSession):
        return await service.list_messages(session, state=None if state == "all" else state, limit=limit)

    messages = as_service(prepare_database(settings), work)
    if not messages:
        console.print("The outbox is empty." if state == "all" else f"No {state} messages.")
        return
    console.print(_table(messages))
    offline = settings.smtp_url is None or not settings.smtp_url.get_secret_value()
    if links if links is not None else offline:
        _print_links(messages, settings, offline)


def _table(messages) -> Table:
    table = Table(title="Mail outbox (newest first)")
    for column in ("created (UTC)", "state", "kind", "to", "subject", "attempts", "last error"):
        table.add_column(column, justify="right" if column == "attempts" else "left")
    for m in messages:
        table.add_row(
            f"{m.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            m.state,
            m.kind,
            escape(m.to_address),
            escape(m.subject or ("(never rendered)" if m.state == "dead" else "(not rendered yet)")),
            str(m.attempts),
            escape(m.last_error or ""),
        )
    return table


def _print_links(messages, settings, offline: bool) -> None:
    # Dead messages' links no longer work; unrendered ones have none yet.
    shown = [(m, service.link_in(m.text_body, settings)) for m in messages if m.state != "dead" and m.text_body]
    if not shown:
        return
    if offline:
        console.print("No SMTP server is set (SCHOOLBASE_SMTP_URL), so these were not sent. Their links:")
    for message, link in shown:
        # Plain output: Rich would wrap a long link and break copying it.
        typer.echo(f"{message.to_address}  {message.kind}  {link or '(no link found)'}")
