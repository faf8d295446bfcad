"""Delivering the outbox: a Procrastinate task that drains due messages.

- Whoever queues mail kicks the task after their transaction commits (``kick``; the
  routes do it from a background task). Kicks collapse: at most one drain waits.
- Per message: a transaction claims it (``FOR UPDATE SKIP LOCKED``), renders it at its
  first attempt and leases it, and commits, so its link's token exists before anyone
  can click it. Then the message is sent with no transaction open, and a second
  transaction marks it sent or failed. A crash between the two sends it again once the
  lease runs out: at least once, never lost.
- Drains may run side by side (a kick while one runs, the sweep, several processes):
  they claim different messages. So the jobs take no Procrastinate ``lock``, which would
  hold every kick back behind a running drain, or behind one a crashed worker left
  "doing" until someone noticed.
- A failure is retried with a growing delay; after draining, the task queues itself for
  the earliest retry, under a queueing lock of its own so a retry waiting for later
  never swallows a kick. While one retry waits no other is queued; an earlier retry
  that comes up meanwhile is left to the sweep.
- Every minute, and when a worker starts, a sweep drains whatever a missed kick left.
"""

import contextlib
import logging
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from procrastinate.exceptions import AlreadyEnqueued

from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.jobs import QUEUE, JobQueue
from schoolbase.mail import service
from schoolbase.mail.sender import (
    Outgoing,
    PermanentFailure,
    Sender,
    Unreachable,
    sender_for,
)

log = logging.getLogger(__name__)

TASK = "schoolbase.mail.deliver"
SWEEP = "schoolbase.mail.sweep"
# Queueing locks: at most one job of each waits.
KICK_LOCK = "mail-deliver"
RETRY_LOCK = "mail-deliver-retry"
# A message due now that this drain could not claim (another transaction holds it):
# look again shortly rather than at once, so nothing spins.
MIN_RETRY_DELAY = timedelta(seconds=2)


@dataclass
class Runtime:
    db: Database
    queue: JobQueue
    settings: Settings
    # For a mail server whose certificate the system's CAs do not vouch for (tests).
    tls_context: ssl.SSLContext | None = None


@dataclass
class Drained:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    def count(self, state: str) -> None:
        name = {"pending": "retrying"}.get(state, state)
        setattr(self, name, getattr(self, name) + 1)


async def kick(jobs: JobQueue) -> None:
    """Start delivering soon. Call it after the transaction that queued mail commits;
    if it fails, the sweep delivers within a minute."""
    try:
        await _defer(jobs, KICK_LOCK)
    except Exception:  # the message is safe in the outbox; the sweep sends it
        log.exception("could not queue mail delivery; the sweep will")


async def _defer(jobs: JobQueue, queueing_lock: str, schedule_at: datetime | None = None) -> None:
    # Not JobQueue.defer: it would add a ``lock`` as well (see the module's docstring).
    options = {"queue": QUEUE, "queueing_lock": queueing_lock}
    if schedule_at is not None:
        options["schedule_at"] = schedule_at
    with contextlib.suppress(AlreadyEnqueued):
        await jobs.app.configure_task(TASK, **options).defer_async()


async def drain(runtime: Runtime) -> Drained:
    """Send every due message; then come back when the next retry is due."""
    drained = Drained()
    async with sender_for(runtime.settings, tls_context=runtime.tls_context) as sender:
        while (claimed := await _claim(runtime)) is not None:
            drained.count(claimed if isinstance(claimed, str) else await _deliver(runtime, sender, claimed))
    await _come_back_later(runtime)
    if drained != Drained():
        log.info("mail drained: %s sent, %s to retry, %s dead", drained.sent, drained.retrying, drained.dead)
    return drained


async def _claim(runtime: Runtime) -> Outgoing | str | None:
    """The next due message, rendered and leased; or the state it ended in instead
    (dead, or pending again after a failed rendering); None when nothing is due."""
    message_id = None
    try:
        async with runtime.db.as_service() as session:
            due = await service.pending_due(session, 1)
            if not due:
                return None
            message_id = due[0].id
            ready = await service.prepare(session, runtime.settings, due[0])
            return Outgoing.of(due[0]) if ready else due[0].state
    except Exception as exc:
        if message_id is None:
            raise
        # Counted as an attempt, so a message that never renders ends up dead, not stuck.
        log.exception("could not render mail message %s", message_id)
        return await _failed(runtime, message_id, f"could not render the message: {exc}")


async def _deliver(runtime: Runtime, sender: Sender, outgoing: Outgoing) -> str:
    try:
        await sender.send(outgoing)
    except PermanentFailure as exc:
        return await _failed(runtime, outgoing.id, str(exc), permanent=True)
    except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the others
        log.warning("mail message %s not sent: %s", outgoing.id, _describe(exc))
        return await _failed(runtime, outgoing.id, _describe(exc))
    async with runtime.db.as_service() as session:
        await service.mark_sent(session, outgoing.id)
    return "sent"


def _describe(exc: Exception) -> str:
    if isinstance(exc, Unreachable):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _failed(runtime: Runtime, message_id: uuid.UUID, error: str, *, permanent: bool = False) -> str:
    async with runtime.db.as_service() as session:
        message = await service.mark_failed(
            session, message_id, error, max_attempts=runtime.settings.mail_max_attempts, permanent=permanent
        )
        return message.state if message is not None else "dead"


async def _come_back_later(runtime: Runtime) -> None:
    async with runtime.db.as_service() as session:
        when = await service.next_attempt_at(session)
    if when is None:
        return
    await _defer(runtime.queue, RETRY_LOCK, max(when, datetime.now(UTC) + MIN_RETRY_DELAY))


def register(runtime: Runtime) -> None:
    """The tasks on this process's Procrastinate app, and a kick at worker start-up.
    A malformed ``smtp_url`` stops the server here rather than every delivery later."""
    try:
        sender_for(runtime.settings)
    except ValueError as exc:
        raise ValueError(f"SCHOOLBASE_SMTP_URL: {exc}") from None  # never the URL itself: it holds a password
    app = runtime.queue.app

    @app.task(name=TASK, queue=QUEUE)
    async def deliver_task() -> None:
        await drain(runtime)

    # Every minute at second 13, away from the AI sweep at 37.
    @app.periodic(cron="* * * * * 13", periodic_id="mail-sweep")
    @app.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP)
    async def sweep_task(timestamp: int) -> None:
        await drain(runtime)

    # Not a drain: start-up must not wait for a mail server.
    runtime.queue.on_worker_start(lambda: kick(runtime.queue))
