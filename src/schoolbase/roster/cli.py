"""`schoolbase roster import`, as ``service_role``: read and check a OneRoster set, show the
report, and apply it once the report is accepted."""

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from schoolbase.config import get_settings
from schoolbase.db.engine import Database
from schoolbase.db.runtime import prepare_database
from schoolbase.roster.report import OUTCOMES, Report

app = typer.Typer(help="Rostering: OneRoster CSV import and export.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ISSUES_SHOWN = 30


def files_table(report: Report) -> Table:
    table = Table(title="Files")
    for column in ("file", "mode", "rows", "valid", "errors", "warnings", "note"):
        table.add_column(
            column, justify="right" if column in ("rows", "valid", "errors", "warnings") else "left", overflow="fold"
        )
    for file in report.files.values():
        table.add_row(
            file.file, file.mode, str(file.rows), str(file.valid), str(file.errors), str(file.warnings), file.note or ""
        )
    return table


def issues_table(report: Report) -> Table:
    table = Table(title=f"Issues (first {ISSUES_SHOWN} of {len(report.issues)} kept)")
    for column in ("file", "line", "severity", "code", "message"):
        table.add_column(column, overflow="fold")
    for issue in report.issues[:ISSUES_SHOWN]:
        style = "red" if issue.severity == "error" else "yellow"
        line = "" if issue.line is None else str(issue.line)
        table.add_row(issue.file, line, f"[{style}]{issue.severity}[/{style}]", issue.code, escape(issue.message))
    return table


def summary_table(report: Report) -> Table:
    table = Table(title="Applied")
    table.add_column("entity")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    for entity, counts in report.counts.items():
        table.add_row(entity, *(str(counts.get(outcome, 0)) for outcome in OUTCOMES))
    return table


async def _organization_id(db: Database, slug: str) -> uuid.UUID:
    from schoolbase.models import Organization  # noqa: PLC0415
    from schoolbase.problems import NOT_FOUND  # noqa: PLC0415

    async with db.as_service() as session:
        found = await session.scalar(select(Organization.id).where(Organization.slug == slug))
    if found is None:
        raise NOT_FOUND(f"no organization with slug {slug!r}")
    return found


def _run(path: Path, slug: str, *, apply: bool, accept_errors: bool) -> Report:
    from schoolbase.cli import with_database  # noqa: PLC0415  (schoolbase.cli imports this module)
    from schoolbase.roster.flows import import_roster  # noqa: PLC0415

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        async def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        async def work(db: Database) -> Report:
            org_id = await _organization_id(db, slug)
            return await import_roster(db, org_id, path, apply=apply, accept_errors=accept_errors, progress=progress)

        return with_database(prepare_database(get_settings()), work)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(exists=True, help="A OneRoster zip, or a folder holding manifest.csv.")],
    org: Annotated[str, typer.Option(help="Slug of the organization to import into.")],
    dry_run: Annotated[bool, typer.Option(help="Only read and check; write nothing.")] = False,
    yes: Annotated[
        bool, typer.Option(help="Accept a report with errors without asking (rows with errors are skipped).")
    ] = False,
) -> None:
    """Import a OneRoster 1.1 or 1.2 CSV set: checked whole first, then applied in one transaction."""
    report = _run(path, org, apply=not dry_run, accept_errors=False)
    console.print(files_table(report))
    if report.issues:
        console.print(issues_table(report))
    if dry_run:
        console.print("dry run: nothing was written" + (" (the report has errors)" if report.has_errors else ""))
        raise typer.Exit(1 if report.has_errors else 0)
    if not report.applied:
        if not report.files or not (yes or typer.confirm("Import the rows without errors and skip the others?")):
            console.print("nothing was written")
            raise typer.Exit(1)
        report = _run(path, org, apply=True, accept_errors=True)
    console.print(summary_table(report))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="A folder to write the files into, or a path ending in .zip.")],
    org: Annotated[str, typer.Option(help="Slug of the organization to export.")],
    period: Annotated[
        uuid.UUID | None, typer.Option(help="Id of a grading period: only its line items and results.")
    ] = None,
) -> None:
    """Export the organization's roster and posted grades as a OneRoster 1.1 CSV set."""
    from schoolbase.cli import with_database  # noqa: PLC0415  (schoolbase.cli imports this module)
    from schoolbase.roster.export import export_roster  # noqa: PLC0415

    async def work(db: Database) -> dict[str, int]:
        org_id = await _organization_id(db, org)
        async with db.as_service() as session:
            return await export_roster(session, org_id, out, period_id=period)

    counts = with_database(prepare_database(get_settings()), work)
    table = Table(title=f"Exported to {escape(str(out))}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for stem, rows in counts.items():
        table.add_row(f"{stem}.csv", str(rows))
    console.print(table)
