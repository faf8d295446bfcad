"""Background jobs on Procrastinate, a PostgreSQL-backed queue, in the server's own database.

Procrastinate's tables and functions live in the schema ``procrastinate`` (revision
``20250925_120000``), usable only by ``service_role``; its connections come from
``schoolbase.db.queue``.

A worker runs inside the API process (``serve``, and the tests' app) when
``jobs_worker`` is on; any number of processes may run one. A job is a row, so
what is queued survives a restart. Domain code keeps its own progress in its own
tables (readable through RLS) and makes its tasks idempotent; see
``grading/assist/jobs.py``.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.worker import Worker

from schoolbase.config import Settings
from schoolbase.db.queue import queue_connector

log = logging.getLogger(__name__)

QUEUE = "schoolbase"


class JobQueue:
    """One Procrastinate app (connection pool, tasks) and, optionally, its in-process worker."""

    def __init__(self, service_url: str, settings: Settings) -> None:
        self.settings = settings
        self.app = procrastinate.App(connector=queue_connector(service_url, max_size=settings.jobs_pool_size))
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task | None = None
        self._on_start: list[Callable[[], Awaitable[None]]] = []

    def on_worker_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` each time the in-process worker starts (e.g. resume unfinished work)."""
        self._on_start.append(hook)

    async def open(self) -> None:
        await self.app.open_async()

    async def start_worker(self) -> None:
        self.worker = Worker(
            self.app,
            queues=[QUEUE],
            name="schoolbase",
            concurrency=self.settings.jobs_concurrency,
            install_signal_handlers=False,
            delete_jobs="successful",
            shutdown_graceful_timeout=5,
        )
        self._worker_task = asyncio.create_task(self.worker.run(), name="jobs-worker")
        for hook in self._on_start:
            try:
                await hook()
            except Exception:  # noqa: BLE001 - the periodic sweep retries; the server must still start
                log.exception("job start-up hook failed")

    async def defer(
        self, task_name: str, *, lock: str | None = None, schedule_at: datetime | None = None, **kwargs: Any
    ) -> int | None:
        """Queue ``task_name``; with ``lock``, at most one such job waits and one runs at a time
        (a second one while one waits is not queued: ``None``)."""
        options: dict[str, Any] = {"queue": QUEUE}
        if lock is not None:
            options.update(lock=lock, queueing_lock=lock)
        if schedule_at is not None:
            options["schedule_at"] = schedule_at
        try:
            return await self.app.configure_task(task_name, **options).defer_async(**kwargs)
        except procrastinate_errors.AlreadyEnqueued:
            return None

    async def retry_stalled(self) -> int:
        """Jobs left ``doing`` by a worker that stopped sending heartbeats (a crash) are
        marked failed, which frees their lock; the domain's sweep queues them again."""
        manager = self.app.job_manager
        stalled = list(await manager.get_stalled_jobs(queue=QUEUE))
        for job in stalled:
            await manager.finish_job(job, status=procrastinate.jobs.Status.FAILED, delete_job=False)
        return len(stalled)

    async def close(self) -> None:
        if self.worker is not None and self._worker_task is not None:
            self.worker.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._worker_task, timeout=15)
            if not self._worker_task.done():
                self._worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._worker_task
        await self.app.close_async()
