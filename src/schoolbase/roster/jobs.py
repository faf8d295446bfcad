"""An org admin's roster upload as background work around ``flows.import_roster``.

1. ``upload`` (as the admin): the organization is checked before a byte of the file is read,
   the file is streamed to ``files_dir / "roster" / "<import id>.zip"`` (a zip, within
   ``roster_upload_max_bytes``), then the import's row is made (queued) and its validate job
   queued.
2. ``roster.validate`` reads the whole set and writes nothing (``apply=False``); its report is
   stored (validated). A file that cannot be read at all fails the import, with why.
3. The admin accepts the report (``imports.accept``; a report with errors only when that is
   said) and ``roster.apply`` imports it in one transaction (``apply=True``): completed with the
   counts, or failed with nothing applied.
4. The stored file is removed once the import is completed, failed or cancelled.

Progress: ``import_roster`` reports how far it is; ``ProgressWriter`` stores it in a short
autocommit statement of its own (at most twice a second), so the pages and the API see it
while the import's own transaction is still open.

Idempotence and resuming: each job first moves the import into its working state with a
conditional update (``imports.claim``), so a job queued twice, or for an import cancelled
meanwhile, does nothing. One lock per import keeps its jobs one at a time. A crash leaves the
import validating or applying: validating writes nothing and applying is one transaction, so
both are simply run again. The sweep (when a worker starts and every minute) queues again the
job of every import queued, or working and stalled for two minutes; the queueing lock keeps it from doubling one that waits.
"""

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.jobs import QUEUE, JobQueue
from schoolbase.models import RosterImport, RosterImportState
from schoolbase.problems import NOT_A_ZIP, VALIDATION
from schoolbase.resources.storage import LocalStorage
from schoolbase.resources.uploads import UploadForm, too_large
from schoolbase.roster import imports
from schoolbase.roster.flows import import_roster
from schoolbase.roster.report import UNREADABLE_SET, Report
from schoolbase.tenancy.service import check_org_admin

log = logging.getLogger(__name__)

VALIDATE = "roster.validate"
APPLY = "roster.apply"
SWEEP = "roster.sweep"
# A working import whose progress has not moved for this long lost its job (a crash).
STALLED_AFTER = timedelta(minutes=2)
PROGRESS_EVERY_SECONDS = 0.5
# A zip file starts with a local file header, or (holding nothing) its end record.
ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")
SERVER_FAULT = "Something went wrong on the server; try again later, or ask your Schoolbase operator."
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

State = RosterImportState


class RosterFiles(LocalStorage):
    """The uploads waiting for their import, one ``<import id>.zip`` each (written to a
    temporary name and renamed, as the resource files are)."""

    def _path(self, key: str) -> Path:
        if not _UUID.match(key):
            raise ValueError(f"not an import id: {key!r}")
        return self.root / f"{key}.zip"

    def path(self, import_id: uuid.UUID) -> Path:
        return self._path(str(import_id))


@dataclass
class Runtime:
    db: Database
    queue: JobQueue
    settings: Settings

    @property
    def files(self) -> RosterFiles:
        return RosterFiles(self.settings.files_dir / "roster")


def job_lock(import_id: uuid.UUID) -> str:
    return f"roster-import:{import_id}"


async def _queue(runtime: Runtime, task: str, import_id: uuid.UUID) -> None:
    try:
        await runtime.queue.defer(task, lock=job_lock(import_id), import_id=str(import_id))
    except Exception:  # noqa: BLE001 - the import is stored; the sweep queues it within a minute
        log.exception("could not queue %s for roster import %s", task, import_id)


# ---------------------------------------------------------------- as the org admin


def file_name(sent: str) -> str:
    """The name the browser sent, without any folder (some send a whole Windows path) or
    characters that are not printable."""
    name = "".join(ch for ch in PurePosixPath(sent.replace("\\", "/")).name if ch.isprintable()).strip()
    return name[:255] or "roster.zip"


async def zip_chunks(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """``chunks`` passed through while counting (413 past ``limit``) and checking that they
    start as a zip file does (415 otherwise); an empty file is a 422."""
    total = 0
    head = b""
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        if len(head) < 4:
            head += chunk[: 4 - len(head)]
            if len(head) == 4 and head not in ZIP_STARTS:
                raise NOT_A_ZIP("send the OneRoster CSV files as one .zip file; this file is not a zip")
        yield chunk
    if total == 0:
        raise VALIDATION("file: the file is empty")
    if len(head) < 4:
        raise NOT_A_ZIP("send the OneRoster CSV files as one .zip file; this file is not a zip")


async def upload(runtime: Runtime, identity: DbIdentity, organization_id: uuid.UUID, form: UploadForm) -> RosterImport:
    """Someone who is not the organization's admin is refused (403, 404 for an organization they
    cannot see) before the body is read; a file not named .zip is a 415 before its bytes are
    read. The file is streamed to storage with no connection held, then the import is stored
    and its validation queued. If storing it fails, the file is removed again."""
    async with runtime.db.as_user(identity) as session:
        await check_org_admin(session, organization_id, "import rosters")
    part = await form.read_fields()
    name = file_name(part.filename)
    if not name.lower().endswith(".zip"):
        raise NOT_A_ZIP(f"send the OneRoster CSV files as one .zip file; {name!r} is not named .zip")
    import_id = uuid.uuid4()
    files = runtime.files
    await files.save(str(import_id), zip_chunks(form.file_chunks(), runtime.settings.roster_upload_max_bytes))
    try:
        async with runtime.db.as_user(identity) as session:
            row = await imports.create(session, organization_id, import_id, name, identity.user_id)
    except BaseException:
        await files.delete(str(import_id))
        raise
    await _queue(runtime, VALIDATE, import_id)
    return row


async def accept(
    runtime: Runtime, identity: DbIdentity, organization_id: uuid.UUID, import_id: uuid.UUID, accept_errors: bool
) -> RosterImport:
    async with runtime.db.as_user(identity) as session:
        row = await imports.accept(session, organization_id, import_id, identity.user_id, accept_errors)
    await _queue(runtime, APPLY, import_id)
    return row


async def cancel(
    runtime: Runtime, identity: DbIdentity, organization_id: uuid.UUID, import_id: uuid.UUID
) -> RosterImport:
    async with runtime.db.as_user(identity) as session:
        row = await imports.cancel(session, organization_id, import_id)
    await runtime.files.delete(str(import_id))
    return row


# ---------------------------------------------------------------- the jobs


class ProgressWriter:
    """``import_roster``'s progress callback, stored at most every ``PROGRESS_EVERY_SECONDS``
    (and always at the end of a step) in an autocommit statement of its own.

    The importer reports reading without a total (``total`` 0, rows read of the file so far,
    every few thousand rows), then applying as steps done of all steps. Stored: rows read of
    every file so far with ``rows_total`` 0 while reading, then the steps."""

    def __init__(self, db: Database, import_id: uuid.UUID) -> None:
        self.db, self.import_id = db, import_id
        self._last = 0.0
        self._stage: str | None = None
        self._read_before = 0  # rows of the files read before this one
        self._done = self._total = 0

    async def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            if self._total == 0:
                self._read_before += self._done
            self._stage = stage
        self._done, self._total = done, total
        moment = time.monotonic()
        if moment - self._last < PROGRESS_EVERY_SECONDS and (total == 0 or done < total):
            return
        self._last = moment
        shown = self._read_before + done if total == 0 else done
        async with self.db.service_statement() as conn:
            await imports.record_progress(conn, self.import_id, shown, total)


def _unreadable(report: Report) -> str | None:
    """Why the set could not be read at all (no manifest, not a zip, an unknown version), for people."""
    found = next((issue for issue in report.issues if issue.code == UNREADABLE_SET), None)
    return None if found is None else f"The file could not be read as a OneRoster set: {found.message}."


async def _fail(runtime: Runtime, import_id: uuid.UUID, from_state: State, error: str) -> None:
    async with runtime.db.as_service() as session:
        await imports.failed(session, import_id, from_state, error)
    await runtime.files.delete(str(import_id))


async def validate(runtime: Runtime, import_id: uuid.UUID) -> None:
    """Read the whole set and store its report; nothing else is written."""
    async with runtime.db.as_service() as session:
        row = await imports.claim(session, import_id, (State.queued, State.validating), State.validating)
    if row is None:
        return
    try:
        report = await import_roster(
            runtime.db,
            row.organization_id,
            runtime.files.path(import_id),
            apply=False,
            progress=ProgressWriter(runtime.db, import_id),
        )
    except Exception:  # noqa: BLE001 - the import fails with a reason for people; the cause goes to the log
        log.exception("roster import %s could not be validated", import_id)
        await _fail(runtime, import_id, State.validating, f"The file could not be checked. {SERVER_FAULT}")
        return
    if (unreadable := _unreadable(report)) is not None:
        await _fail(runtime, import_id, State.validating, unreadable)
        return
    async with runtime.db.as_service() as session:
        await imports.validated(session, import_id, report.to_json())


async def apply(runtime: Runtime, import_id: uuid.UUID) -> None:
    """Import the accepted set in one transaction: completed with its counts, or failed with
    nothing applied."""
    async with runtime.db.as_service() as session:
        row = await imports.claim(session, import_id, (State.applying,), State.applying)
    if row is None:
        return
    try:
        report = await import_roster(
            runtime.db,
            row.organization_id,
            runtime.files.path(import_id),
            apply=True,
            accept_errors=True,
            actor_id=row.accepted_by,
            import_id=import_id,
            progress=ProgressWriter(runtime.db, import_id),
        )
    except Exception:  # noqa: BLE001 - the import's one transaction rolled back: nothing is applied
        log.exception("roster import %s could not be applied", import_id)
        await _fail(runtime, import_id, State.applying, f"Nothing was imported. {SERVER_FAULT}")
        return
    if not report.applied:  # the file went away, or now reads differently: nothing was written
        reason = _unreadable(report) or "The files no longer read as they did when they were checked."
        await _fail(runtime, import_id, State.applying, f"Nothing was imported. {reason}")
        return
    async with runtime.db.as_service() as session:
        await imports.completed(session, import_id, report.to_json())
    await runtime.files.delete(str(import_id))


async def sweep(runtime: Runtime) -> int:
    """Queue again the job of every unfinished import (a crash, a lost queue entry)."""
    await runtime.queue.retry_stalled()
    async with runtime.db.as_service() as session:
        unfinished = await imports.unfinished(session, datetime.now(UTC) - STALLED_AFTER)
    for import_id, state in unfinished:
        await _queue(runtime, APPLY if state == State.applying else VALIDATE, import_id)
    return len(unfinished)


def register(runtime: Runtime) -> None:
    """The tasks on this process's Procrastinate app, and the sweep at worker start-up."""
    app = runtime.queue.app

    @app.task(name=VALIDATE, queue=QUEUE)
    async def validate_task(import_id: str) -> None:
        await validate(runtime, uuid.UUID(import_id))

    @app.task(name=APPLY, queue=QUEUE)
    async def apply_task(import_id: str) -> None:
        await apply(runtime, uuid.UUID(import_id))

    @app.periodic(cron="* * * * * 23", periodic_id="roster-import-sweep")
    @app.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP)
    async def sweep_task(timestamp: int) -> None:
        await sweep(runtime)

    runtime.queue.on_worker_start(lambda: sweep(runtime))
