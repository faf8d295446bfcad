"""The bulk AI grading tasks on the job queue: ``ai_grading.run_job`` works one run (see
``flows.py``), and the sweep resumes unfinished runs at worker start-up and every minute."""

import uuid

from schoolbase.grading.assist.flows import TASK, Runtime, run_job, sweep
from schoolbase.jobs import QUEUE

SWEEP = "ai_grading.sweep"


def register(runtime: Runtime) -> None:
    """The tasks on this process's Procrastinate app, and the sweep at worker start-up."""
    app = runtime.queue.app

    @app.task(name=TASK, queue=QUEUE)
    async def run_job_task(job_id: str) -> None:
        await run_job(runtime, uuid.UUID(job_id))

    # Every minute, at second 37: away from the minute boundary, where per-minute rate
    # windows turn over and bursts of AI calls (and tests) line up.
    @app.periodic(cron="* * * * * 37", periodic_id="ai-grading-sweep")
    @app.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP)
    async def sweep_task(timestamp: int) -> None:
        await sweep(runtime)

    runtime.queue.on_worker_start(lambda: sweep(runtime))
