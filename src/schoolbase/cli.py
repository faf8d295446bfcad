"""`schoolbase serve | db … | demo | users … | ai … | mail … | roster …`. The CLI acts as ``service_role``."""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai.cli import app as ai_app
from schoolbase.config import DEV_JWT_SECRET, Settings, get_settings
from schoolbase.db import migrate
from schoolbase.db.engine import Database
from schoolbase.db.runtime import owner_url, prepare_database
from schoolbase.db.urls import DatabaseUrls
from schoolbase.errors import problem_from_db_error
from schoolbase.mail.cli import app as mail_app
from schoolbase.problems import NOT_FOUND, Problem
from schoolbase.roster.cli import app as roster_app

if TYPE_CHECKING:
    from schoolbase.tenancy.demo import DemoSummary

app = typer.Typer(help="Schoolbase: a multi-tenant school platform backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
users_app = typer.Typer(help="People and their accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(ai_app, name="ai")
app.add_typer(mail_app, name="mail")
app.add_typer(roster_app, name="roster")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def with_database(urls: DatabaseUrls, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` with a small ``Database``; a Problem or a rule the database enforces becomes a clean exit 1."""

    async def run() -> T:
        db = Database(urls, pool_size=1, max_overflow=0)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DBAPIError as exc:
        # A rule the database enforces (a blank name, a duplicate created concurrently)
        # is the user's mistake, not a crash.
        problem = problem_from_db_error(exc)
        if problem is None:
            raise
        err.print(f"[red]error:[/red] {escape(problem.detail or problem.title)}")
        raise typer.Exit(1) from exc
    except Problem as problem:
        err.print(f"[red]error:[/red] {escape(problem.detail or problem.title)}")
        raise typer.Exit(1) from problem


def as_service(urls: DatabaseUrls, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one ``service_role`` transaction; a Problem becomes a clean exit 1."""

    async def in_transaction(db: Database) -> T:
        async with db.as_service() as session:
            return await work(session)

    return with_database(urls, in_transaction)


def load_demo(urls: DatabaseUrls, settings: Settings) -> "DemoSummary":
    """The demo organizations, their term of work and the AI suggestions waiting for teachers."""
    from schoolbase.tenancy.flows import load_demo as load  # noqa: PLC0415

    return with_database(urls, lambda db: load(db, settings))


def logins_table(summary: "DemoSummary") -> Table:
    """One line per demo person: organization, email, roles."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    for row in summary.logins:
        table.add_row(*row)
    return table


def print_demo(summary: "DemoSummary") -> None:
    from schoolbase.tenancy.demo import DEMO_PASSWORD  # noqa: PLC0415

    console.print(f"Demo logins (password: {DEMO_PASSWORD})")
    console.print(logins_table(summary))
    if not summary.created:
        console.print("The demo organizations were already loaded.")


def mail_line(smtp_url: str | None) -> str:
    """Where mail goes: the SMTP server (never its credentials), or the log and the outbox."""
    from schoolbase.mail.sender import parse_smtp_url  # noqa: PLC0415

    if not smtp_url:
        return (
            "Mail: not sent (no SCHOOLBASE_SMTP_URL): each message is printed to the log below with its link, "
            "and `schoolbase mail outbox` lists them"
        )
    try:
        target = parse_smtp_url(smtp_url)
    except ValueError:
        return "Mail: SCHOOLBASE_SMTP_URL is not a valid smtp:// or smtps:// URL"
    scheme = "smtps" if target.use_tls else "smtp"
    return f"Mail: sent through {scheme}://{target.host}:{target.port}"


def print_serve_screen(
    out: Console, *, url: str, summary: "DemoSummary | None", mail: str | None, postgres_log: Path | str | None
) -> None:
    """What `serve` shows before the server's own lines: where to go, who to sign in as, where
    mail goes, the API docs, and where PostgreSQL logs to (the embedded server's)."""
    from schoolbase.tenancy.demo import DEMO_PASSWORD  # noqa: PLC0415

    base = url.rstrip("/")
    out.print(f"[bold]Schoolbase[/bold]: open {base}/", highlight=False)
    if summary is not None:
        out.print(f"Demo logins, all with the password [bold]{DEMO_PASSWORD}[/bold]:", highlight=False)
        out.print(logins_table(summary), highlight=False)
    out.print(escape(mail_line(mail)), highlight=False, soft_wrap=True)
    out.print(f"API docs: {base}/docs", highlight=False)
    if postgres_log is not None:
        out.print(f"PostgreSQL log: {postgres_log}", highlight=False, soft_wrap=True)


def shared_pool_sizes(settings: Settings, workers: int) -> dict[str, str]:
    """Pool sizes for each of ``workers`` processes: unless set, the workers share one
    process's connection budget, so PostgreSQL's connection limit fits any worker count."""
    return {
        f"SCHOOLBASE_{name.upper()}": str(max(1, getattr(settings, name) // workers))
        for name in ("pool_size", "pool_max_overflow")
        if name not in settings.model_fields_set
    }


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Load the demo organizations first.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (one per core is a good start).")] = 1,
) -> None:
    """Migrate the database and serve the API (embedded PostgreSQL unless a URL is set)."""
    import uvicorn  # noqa: PLC0415

    from schoolbase.app import create_app  # noqa: PLC0415
    from schoolbase.db.embedded import server_log  # noqa: PLC0415
    from schoolbase.observability import configure_serving_logs  # noqa: PLC0415

    settings = get_settings()
    if "public_url" not in settings.model_fields_set:
        # Links in messages should reach this server when nothing else was said.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    configure_serving_logs(settings.log_level)
    if settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
        err.print("[yellow]warning:[/yellow] SCHOOLBASE_JWT_SECRET is not set; using the development secret")
    if not settings.database_url:
        also = " and loading the demo" if demo else ""
        err.print(f"Starting PostgreSQL in {settings.data_dir / 'pgdata'}{also} …", highlight=False)
    elif demo:
        err.print("Loading the demo …")
    urls = prepare_database(settings)
    summary = load_demo(urls, settings) if demo else None
    print_serve_screen(
        console,
        url=settings.public_url,
        summary=summary,
        mail=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        postgres_log=None if settings.database_url else server_log(settings.data_dir / "pgdata"),
    )
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then restores the handlers it found and
    # raises the signal again. SIGINT's handler makes that a KeyboardInterrupt, which uvicorn.run
    # absorbs; SIGTERM's would end the process before the atexit hooks stop the embedded PostgreSQL.
    # So SIGTERM gets SIGINT's handler while serving: both end `serve` normally, with exit code 0.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if workers == 1:
            uvicorn.run(create_app(settings, urls), host=host, port=port, log_config=None, access_log=False)
        else:
            # Each worker process builds its own app from the environment, on the database this
            # process prepared (the embedded server stays this process's child).
            os.environ.update(
                SCHOOLBASE_DATABASE_URL=urls.owner,
                SCHOOLBASE_PUBLIC_URL=settings.public_url,
                **shared_pool_sizes(settings, workers),
            )
            uvicorn.run(
                "schoolbase.app:create_served_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def demo() -> None:
    """Load the demo: two organizations with their people and classes, a term's worth of
    assignments, submissions and grades, and an AI suggestion waiting for each teacher."""
    settings = get_settings()
    print_demo(load_demo(prepare_database(settings), settings))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head). Running it again changes nothing."""
    migrate.upgrade(owner_url(get_settings()), revision)
    console.print(f"at {', '.join(migrate.current_revisions(owner_url(get_settings()))) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. -1 or base")]) -> None:
    """Undo migrations down to REVISION."""
    migrate.downgrade(owner_url(get_settings()), revision)
    console.print(f"at {', '.join(migrate.current_revisions(owner_url(get_settings()))) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """The revision the database is at."""
    console.print(", ".join(migrate.current_revisions(owner_url(get_settings()))) or "base")


@db_app.command("history")
def db_history() -> None:
    """Every revision, newest first."""
    for revision in migrate.known_revisions():
        # One line per revision whatever the terminal's width, so scripts can read it.
        line = f"{revision.id}  <- {revision.down or 'base'}  {revision.path.rsplit('/', 1)[-1]}"
        console.print(line, soft_wrap=True, highlight=False)


@db_app.command("check")
def db_check() -> None:
    """Fail on more than one head, a bad revision id, or drift between the migrations and the database."""
    problems = migrate.check(owner_url(get_settings()))
    for problem in problems:
        err.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print("[green]✓[/green] one linear history, database at head, no drift")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    super_admin: Annotated[bool, typer.Option(help="Give this person every organization.")] = False,
    org: Annotated[str | None, typer.Option(help="Slug of an organization to join.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Role in --org (repeatable).")] = None,
) -> None:
    """Create a person with a password, optionally a super admin or a member of an organization."""
    from pydantic import TypeAdapter, ValidationError  # noqa: PLC0415

    from schoolbase.auth.passwords import MIN_PASSWORD_LENGTH, hash_password  # noqa: PLC0415
    from schoolbase.models import Membership, MembershipRole, Organization  # noqa: PLC0415
    from schoolbase.tenancy.people import create_person  # noqa: PLC0415
    from schoolbase.tenancy.schemas import MemberCreate  # noqa: PLC0415

    try:
        TypeAdapter(MemberCreate.model_fields["email"].annotation).validate_python(email)
        roles = [MembershipRole(r) for r in role or []]
    except (ValidationError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        err.print(f"[red]error:[/red] the password needs at least {MIN_PASSWORD_LENGTH} characters")
        raise typer.Exit(2)
    if bool(org) != bool(roles):
        err.print("[red]error:[/red] --org and --role go together")
        raise typer.Exit(2)

    async def work(session: AsyncSession) -> str:
        user = await create_person(session, email, name, await hash_password(password), super_admin=super_admin)
        if org:
            org_id = await session.scalar(select(Organization.id).where(Organization.slug == org))
            if org_id is None:
                raise NOT_FOUND(f"no organization with slug {org!r}")
            session.add_all(Membership(organization_id=org_id, user_id=user.id, role=r) for r in roles)
        return str(user.id)

    user_id = as_service(prepare_database(get_settings()), work)
    console.print(f"created {email} ({user_id}){' as super admin' if super_admin else ''}")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument()]) -> None:
    """Disable a person: their tokens stop working at once."""
    from schoolbase.models import User  # noqa: PLC0415

    async def work(session: AsyncSession) -> int:
        result = await session.execute(
            update(User).where(func.lower(User.email) == email.lower()).values(disabled_at=func.now())
        )
        return result.rowcount

    if not as_service(prepare_database(get_settings()), work):
        err.print(f"[red]error:[/red] no person with email {email}")
        raise typer.Exit(1)
    console.print(f"disabled {email}")
