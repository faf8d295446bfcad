"""The ``roster_imports`` rows of org admins' uploads: their states, and the steps that move
them along. Each step is one conditional ``UPDATE`` on the session it is given, so two
workers, or a worker and an admin, can never both move the same import.

    queued → validating → validated → (accepted) applying → completed
       ↘ cancelled            ↘ cancelled                  ↘ failed
    (validating and applying may also end in failed)

What people do (upload, accept, cancel, read) runs as them under row-level security: only
the organization's admins read and write its imports. What the jobs do runs as
``service_role``."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from schoolbase.models import RosterImport, RosterImportState
from schoolbase.pagination import Page, PageParams, paginate
from schoolbase.problems import IMPORT_STATE, REPORT_HAS_ERRORS, not_found
from schoolbase.roster import schemas
from schoolbase.tenancy.service import check_org_admin

State = RosterImportState
# Waiting for a job, or in one.
UNFINISHED = (State.queued, State.validating, State.applying)
# Nothing more happens: the stored file can go.
FINISHED = (State.completed, State.failed, State.cancelled)
CANCELLABLE = (State.queued, State.validated)


# As the org admin


async def create(
    session: AsyncSession, organization_id: uuid.UUID, import_id: uuid.UUID, file_name: str, user_id: uuid.UUID
) -> RosterImport:
    await check_org_admin(session, organization_id, "import rosters")
    row = RosterImport(id=import_id, organization_id=organization_id, file_name=file_name, requested_by=user_id)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get(session: AsyncSession, organization_id: uuid.UUID, import_id: uuid.UUID) -> RosterImport:
    """One of the organization's imports (404 if it is another's or not visible: only its admins see them)."""
    row = await session.scalar(
        select(RosterImport).where(RosterImport.id == import_id, RosterImport.organization_id == organization_id)
    )
    if row is None:
        await check_org_admin(session, organization_id, "see roster imports")
        raise not_found("roster import")
    return row


async def history(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    """The organization's imports, newest first."""
    await check_org_admin(session, organization_id, "see roster imports")
    stmt = select(RosterImport).where(RosterImport.organization_id == organization_id)
    rows, cursor = await paginate(session, stmt, RosterImport, paging, descending=True)
    return Page(items=[schemas.ImportItem.model_validate(row[0]) for row in rows], next_cursor=cursor)


def _moved(import_id: uuid.UUID, states: tuple[State, ...], values: dict[str, Any]):
    return (
        update(RosterImport)
        .where(RosterImport.id == import_id, RosterImport.state.in_(states))
        .values(**values)
        .returning(RosterImport)
    )


def _refused(row: RosterImport, wanted: str) -> Exception:
    return IMPORT_STATE(f"this import is {row.state.value}; {wanted}", state=row.state.value)


async def accept(
    session: AsyncSession, organization_id: uuid.UUID, import_id: uuid.UUID, user_id: uuid.UUID, accept_errors: bool
) -> RosterImport:
    """Accept a validated import's report: its apply job may run. A report with errors is
    accepted only when that is said (``accept_errors``): the rows with errors are left out."""
    row = await get(session, organization_id, import_id)
    if row.state != State.validated:
        raise _refused(row, "only a validated import can be accepted")
    errors = sum(f.get("errors", 0) for f in row.report.get("files", []))
    if row.report.get("has_errors") and not accept_errors:
        raise REPORT_HAS_ERRORS(
            f"the report has {errors} error{'s' if errors != 1 else ''}; accept it with accept_errors to import "
            "the valid rows and leave out the rows with errors",
            errors=errors,
        )
    values = {
        "state": State.applying,
        "accepted_by": user_id,
        "accepted_at": func.now(),
        "rows_done": 0,
        "rows_total": 0,
    }
    accepted = await session.scalar(_moved(import_id, (State.validated,), values))
    if accepted is None:  # moved on meanwhile
        raise _refused(await get(session, organization_id, import_id), "only a validated import can be accepted")
    return accepted


async def cancel(session: AsyncSession, organization_id: uuid.UUID, import_id: uuid.UUID) -> RosterImport:
    """Cancel an import that is waiting to be validated or for an admin to accept it."""
    row = await get(session, organization_id, import_id)
    values = {"state": State.cancelled, "finished_at": func.now()}
    cancelled = await session.scalar(_moved(import_id, CANCELLABLE, values))
    if cancelled is None:
        raise _refused(row, "only an import waiting for validation or for acceptance can be cancelled")
    return cancelled


# As the jobs (service_role)


async def claim(
    session: AsyncSession, import_id: uuid.UUID, states: tuple[State, ...], to: State
) -> RosterImport | None:
    """Move the import from one of ``states`` to ``to`` for a job to work on; None if it is
    in no such state (finished, cancelled, or another job's)."""
    values = {"state": to, "started_at": func.coalesce(RosterImport.started_at, func.now())}
    return await session.scalar(_moved(import_id, states, values))


async def validated(session: AsyncSession, import_id: uuid.UUID, report: dict[str, Any]) -> RosterImport | None:
    rows = sum(file.get("rows", 0) for file in report.get("files", []))
    return await session.scalar(
        _moved(
            import_id,
            (State.validating,),
            {
                "state": State.validated,
                "report": report,
                "rows_done": rows,
                "rows_total": rows,
                "source_system": report.get("source_system"),
                "oneroster_version": report.get("version"),
            },
        )
    )


async def completed(session: AsyncSession, import_id: uuid.UUID, report: dict[str, Any]) -> RosterImport | None:
    values = {
        "state": State.completed,
        "report": report,
        "summary": report.get("counts", {}),
        "rows_done": RosterImport.rows_total,
        "finished_at": func.now(),
    }
    return await session.scalar(_moved(import_id, (State.applying,), values))


async def failed(session: AsyncSession, import_id: uuid.UUID, from_state: State, error: str) -> RosterImport | None:
    values = {"state": State.failed, "error": error, "finished_at": func.now()}
    return await session.scalar(_moved(import_id, (from_state,), values))


async def record_progress(conn: AsyncConnection, import_id: uuid.UUID, done: int, total: int) -> None:
    await conn.execute(
        update(RosterImport)
        .where(RosterImport.id == import_id, RosterImport.state.in_((State.validating, State.applying)))
        .values(rows_done=done, rows_total=total)
    )


async def unfinished(session: AsyncSession, stalled_since: datetime) -> list[tuple[uuid.UUID, State]]:
    """Every import a job should be working on and is not, oldest first (to resume after a
    crash): queued ones, and imports in a working state that have not moved since
    ``stalled_since`` (a running job stores its progress, which moves them)."""
    rows = await session.execute(
        select(RosterImport.id, RosterImport.state)
        .where(
            (RosterImport.state == State.queued)
            | (RosterImport.state.in_(UNFINISHED) & (RosterImport.updated_at < stalled_since))
        )
        .order_by(RosterImport.created_at)
    )
    return [(row.id, row.state) for row in rows]
