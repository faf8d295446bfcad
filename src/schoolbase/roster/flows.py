"""Importing a OneRoster set into one organization: everything is read and checked first;
then, when asked and when the report is accepted, the good rows are applied, all in one
``service_role`` transaction, so an import either completes or leaves no trace."""

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.engine import Database
from schoolbase.roster import apply, checks, gradebook, people
from schoolbase.roster.formats import FILES, SKIPPED
from schoolbase.roster.load import stage_file
from schoolbase.roster.report import UNREADABLE_SET, Report
from schoolbase.roster.source import RosterSource, SourceError
from schoolbase.roster.stages import STAGES

Progress = Callable[[str, int, int], Awaitable[None]]


class _Discard(Exception):
    """Ends the transaction without writing: a dry run, or a report not accepted."""


async def import_roster(
    db: Database,
    organization_id: uuid.UUID,
    path: Path,
    *,
    apply: bool,
    accept_errors: bool = False,
    actor_id: uuid.UUID | None = None,
    import_id: uuid.UUID | None = None,
    progress: Progress | None = None,
) -> Report:
    report = Report()
    try:
        with RosterSource(path) as source:
            report.version, report.source_system = source.version, source.source_system
            _manifest(source, report)
            try:
                async with db.as_service() as session:
                    connection = await _driver(session)
                    params = {
                        "org": organization_id,
                        "source": source.source_system,
                        "import": import_id,
                        "actor": actor_id,
                    }
                    await connection.execute(
                        "select pg_advisory_xact_lock(hashtext('roster:' || %(org)s::text))", params
                    )
                    # The import fills tables in its own transaction, whose statistics still say
                    # they are empty: nested loops planned on that scan a stage once per row.
                    # Whole-set joins are what every statement here is.
                    await connection.execute("set local enable_nestloop = off")
                    params["root"] = await _check(connection, source, params, report, progress)
                    if not apply or (report.has_errors and not accept_errors):
                        raise _Discard
                    await _apply(connection, source, params, report, progress)
                    report.applied = True
            except _Discard:
                pass
    except SourceError as exc:
        report.add("manifest", None, "error", UNREADABLE_SET, str(exc))
    return report


async def _driver(session: AsyncSession) -> AsyncConnection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _manifest(source: RosterSource, report: Report) -> None:
    for stem in source.listed():
        mode = source.mode(stem)
        if mode == "invalid":
            report.add("manifest", None, "error", "unknown-enum", f"file.{stem} must be bulk, delta or absent")
        elif mode == "absent":
            continue
        elif not source.has(stem):
            report.add(
                "manifest",
                None,
                "error",
                "missing-file",
                f"the manifest lists {stem}.csv as {mode}, but it is not in the set",
            )
        elif stem in SKIPPED:
            report.file(stem, mode).note = SKIPPED[stem]
        elif stem not in FILES:
            report.add(
                "manifest",
                None,
                "warning",
                "unknown-file",
                f"{stem}.csv is not a OneRoster file this importer knows; skipped",
            )


async def _check(
    connection: AsyncConnection, source: RosterSource, params: dict[str, Any], report: Report, progress: Progress | None
) -> str | None:
    for stem, stage in STAGES.items():
        if source.mode(stem) in ("bulk", "delta") and source.has(stem):
            await stage_file(connection, source, stage, report, progress)
        else:
            await connection.execute(stage.create())
            for index in stage.indexes():
                await connection.execute(index)
        # A bulk file is the whole set: rows it no longer holds are removed (and checked as such).
        if source.mode(stem) == "bulk" and stem != "roles":
            await apply.absent_from_bulk(connection, stem, params)
    if progress:
        await progress("checking references", 0, 0)
    await checks.duplicates(connection, report)
    await gradebook.check_rows(connection, params, report)
    root = await checks.org_tree(connection, params, report)
    await checks.people(connection, params, report)
    await checks.references(connection, params, report)
    await gradebook.check_students(connection, params, report)
    for stem, file in report.files.items():
        if stem in STAGES:
            cursor = await connection.execute(
                f"select count(*) from {STAGES[stem].table} where bad and line is not null"
            )
            file.rows_with_errors = (await cursor.fetchone())[0]
    return root


async def _apply(
    connection: AsyncConnection, source: RosterSource, params: dict[str, Any], report: Report, progress: Progress | None
) -> None:
    steps = len(apply.TARGETS) + 3
    for stem in STAGES:
        # Enrollments find their links with everything else they need (people.ENROLLMENT_TARGETS).
        if stem not in ("roles", "enrollments"):
            await apply.linked_targets(connection, stem, params)
    await apply.root_link(connection, params)
    for done, target in enumerate(apply.TARGETS):
        if progress:
            await progress(f"applying {target.stem}.csv", done, steps)
        await apply.upsert(connection, target, params, report)
        if target.stem != "classes":
            await apply.count_removed(connection, target.stem, params, report)
        await apply.keep_links(connection, target.stem, params)
    await apply.class_terms(connection, params)
    await apply.end_classes(connection, params, report)
    if progress:
        await progress("applying users.csv", steps - 3, steps)
    await people.apply_users(connection, params, report)
    await apply.keep_links(connection, "users", params, people.USER_DETAIL)
    await people.apply_guardianships(connection, params, report)
    if progress:
        await progress("applying enrollments.csv", steps - 1, steps)
    await people.apply_enrollments(connection, params, report)
    await apply.keep_links(connection, "enrollments", params, people.ENROLLMENT_DETAIL)
    if progress:
        await progress("applying the gradebook", steps - 1, steps)
    await gradebook.apply_gradebook(connection, params, report)
    if progress:
        await progress("done", steps, steps)
