"""Bulk AI grading: one run per assignment, one item per submission, processed by a
Procrastinate task.

- Starting a run (as the caller, through RLS) stores the run and its items as the
  server and queues the task ``ai_grading.run_job`` with a lock per run: at most one
  copy of a run's task waits and one runs.
- The task claims items one by one (``FOR UPDATE SKIP LOCKED`` in a one-statement
  transaction that sets a lease), calls the AI with no connection held, and stores
  the suggestion and marks the item done in one transaction. ``ai_grading_concurrency``
  items of a run are graded at once.
- A crash leaves items ``running`` with a lease that runs out, and perhaps the task
  ``doing``. The sweep (at worker start-up and every minute) fails the stalled task
  and queues every unfinished run again; its items are claimed again when their
  lease has run out. Work already done is never repeated: a grade exists once per
  submission, and an item is done in the same transaction as its grade.
- A rate limit or a busy provider puts the item back with a delay; a budget or
  feature denial stops the run (the rest is failed with that reason).
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai.gateway import Gateway
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity, user_identity
from schoolbase.grading.assist import schemas
from schoolbase.grading.assist.service import (
    Suggestion,
    load_criteria,
    require_staff,
    suggest,
)
from schoolbase.jobs import QUEUE, JobQueue
from schoolbase.problems import AI_GRADING_RUNNING, Problem, not_found

log = logging.getLogger(__name__)

TASK = "ai_grading.run_job"
SWEEP = "ai_grading.sweep"
MAX_ATTEMPTS = 3
STOPPING = ("ai-budget-exhausted", "ai-feature-disabled")
RETRYABLE = {429, 503, 504}


def job_lock(job_id: uuid.UUID) -> str:
    return f"ai-grading-job:{job_id}"


@dataclass
class Runtime:
    db: Database
    gateway: Gateway
    queue: JobQueue
    settings: Settings


# ---------------------------------------------------------------- starting and reading runs

_ASSIGNMENT = text("select a.id, a.organization_id, a.class_id from public.assignments a where a.id = :id")
# The latest attempt of each student, when it is submitted or late and has no grade yet.
_TO_GRADE = text(
    """
    select l.id from (
      select distinct on (s.student_id) s.id, s.status
      from public.assignment_submissions s
      where s.organization_id = :org and s.class_id = :class and s.assignment_id = :assignment
        and s.status <> 'draft'
      order by s.student_id, s.attempt desc
    ) l
    where l.status in ('submitted', 'late')
      and not exists (select from public.assignment_grades g where g.organization_id = :org and g.submission_id = l.id)
    order by l.id
    """
)
_INSERT_JOB = text(
    """
    insert into public.bulk_grading_jobs (organization_id, class_id, assignment_id, requested_by, model, total, state,
                                        finished_at)
    values (:org, :class, :assignment, :user, :model, :total,
            case when :total = 0 then 'completed' else 'queued' end, case when :total = 0 then now() end)
    returning id
    """
)
_INSERT_ITEMS = text(
    """
    insert into public.bulk_grading_job_items (organization_id, job_id, submission_id)
    select :org, :job, unnest(cast(:submissions as uuid[]))
    """
)
_UNFINISHED_OF = text(
    "select id from public.bulk_grading_jobs where organization_id = :org and assignment_id = :assignment "
    "and state in ('queued', 'running')"
)


async def start(db: Database, queue: JobQueue, identity: DbIdentity, assignment_id: uuid.UUID, model: str) -> uuid.UUID:
    async with db.as_user(identity) as session:
        row = (await session.execute(_ASSIGNMENT, {"id": assignment_id})).first()
        if row is None:
            raise not_found("assignment")
        await require_staff(session, row.organization_id, row.class_id)
        await load_criteria(session, row.organization_id, row.id)
        keys = {"org": row.organization_id, "class": row.class_id, "assignment": row.id}
        submissions = list((await session.execute(_TO_GRADE, keys)).scalars())
    async with db.as_service() as session:
        try:
            async with session.begin_nested():
                job_id = await session.scalar(
                    _INSERT_JOB, {**keys, "user": identity.user_id, "model": model, "total": len(submissions)}
                )
        except IntegrityError as exc:
            running = await session.scalar(_UNFINISHED_OF, keys)
            raise AI_GRADING_RUNNING(
                "this assignment already has an AI grading run in progress", job_id=str(running)
            ) from exc
        if submissions:
            await session.execute(
                _INSERT_ITEMS, {"org": row.organization_id, "job": job_id, "submissions": submissions}
            )
    if submissions:
        try:
            await queue.defer(TASK, lock=job_lock(job_id), job_id=str(job_id))
        except Exception:  # noqa: BLE001 - the run is stored; the sweep queues it within a minute
            log.exception("could not queue AI grading run %s", job_id)
    return job_id


_JOB = text(
    """
    select j.id, j.organization_id, j.class_id, j.assignment_id, j.requested_by, j.model, j.state, j.total,
           j.error, j.created_at, j.started_at, j.finished_at
    from public.bulk_grading_jobs j where j.id = :id
    """
)
_ITEMS = text(
    """
    select i.submission_id, i.state, i.attempts, i.grade_id, i.usage_log_id, i.error
    from public.bulk_grading_job_items i
    where i.organization_id = :org and i.job_id = :id
    order by i.submission_id
    """
)


async def job_out(session: AsyncSession, job_id: uuid.UUID) -> schemas.JobOut:
    job = (await session.execute(_JOB, {"id": job_id})).mappings().first()
    if job is None:
        raise not_found("AI grading job")
    items = [
        schemas.JobItemOut(**i)
        for i in (await session.execute(_ITEMS, {"org": job["organization_id"], "id": job_id})).mappings()
    ]
    count = {state: sum(1 for i in items if i.state == state) for state in ("done", "failed", "skipped")}
    pending = sum(1 for i in items if i.state in ("pending", "running"))
    return schemas.JobOut(**job, **count, pending=pending, items=items)


# ---------------------------------------------------------------- running (as the server)

_BEGIN = text(
    """
    update public.bulk_grading_jobs set state = 'running', started_at = coalesce(started_at, now())
    where id = :id and state in ('queued', 'running')
    returning id, organization_id, requested_by, model
    """
)
_CLAIM = text(
    """
    update public.bulk_grading_job_items i
    set state = 'running', attempts = i.attempts + 1, lease_until = now() + make_interval(secs => :lease)
    where i.id = (
      select c.id from public.bulk_grading_job_items c
      where c.organization_id = :org and c.job_id = :job
        and ((c.state = 'pending' and c.available_at <= now()) or (c.state = 'running' and c.lease_until < now()))
      order by c.available_at, c.id
      for update skip locked
      limit 1)
    returning i.id, i.submission_id, i.attempts
    """
)
_FINISH_ITEM = text(
    """
    update public.bulk_grading_job_items
    set state = :state, error = :error, lease_until = null, grade_id = coalesce(:grade, grade_id),
        usage_log_id = coalesce(:log, usage_log_id)
    where id = :id and state = 'running'
    """
)
_RELEASE_ITEM = text(
    """
    update public.bulk_grading_job_items
    set state = 'pending', lease_until = null, error = :error, available_at = now() + make_interval(secs => :delay)
    where id = :id and state = 'running'
    """
)
_FAIL_REST = text(
    """
    update public.bulk_grading_job_items set state = 'failed', error = :error, lease_until = null
    where organization_id = :org and job_id = :job and state = 'pending'
    """
)
_REMAINING = text(
    """
    select count(*) filter (where state in ('pending', 'running')) as open,
           min(available_at) filter (where state = 'pending') as next_pending,
           min(lease_until) filter (where state = 'running') as next_lease
    from public.bulk_grading_job_items where organization_id = :org and job_id = :job
    """
)
_FINISH_JOB = text(
    """
    update public.bulk_grading_jobs
    set state = case when cast(:error as text) is null then 'completed' else 'failed' end, error = cast(:error as text),
        finished_at = now()
    where id = :id and state = 'running'
    """
)
_UNFINISHED = text("select id from public.bulk_grading_jobs where state in ('queued', 'running')")


@dataclass
class Run:
    id: uuid.UUID
    organization_id: uuid.UUID
    requested_by: uuid.UUID | None
    model: str
    stop_reason: str | None = None


async def _statement(runtime: Runtime, sql, params: dict[str, Any]):
    async with runtime.db.service_statement() as conn:
        return await conn.execute(sql, params)


async def run_job(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Grade the run's open items; finish the run, or queue itself again for items that wait."""
    row = (await _statement(runtime, _BEGIN, {"id": job_id})).first()
    if row is None:
        return  # finished or gone
    run = Run(row.id, row.organization_id, row.requested_by, row.model)
    if run.requested_by is None:
        run.stop_reason = "the teacher who started this run no longer exists"
    else:
        identity = user_identity(run.requested_by)
        lanes = max(1, runtime.settings.ai_grading_concurrency)
        await asyncio.gather(*(_lane(runtime, run, identity) for _ in range(lanes)))
    keys = {"org": run.organization_id, "job": run.id}
    if run.stop_reason is not None:
        await _statement(runtime, _FAIL_REST, {**keys, "error": run.stop_reason})
    remaining = (await _statement(runtime, _REMAINING, keys)).one()
    if remaining.open == 0:
        await _statement(runtime, _FINISH_JOB, {"id": run.id, "error": run.stop_reason})
        return
    # Items wait (a retry delay) or are leased by a worker that may have died: come back then.
    when = min(t for t in (remaining.next_pending, remaining.next_lease) if t is not None)
    await runtime.queue.defer(TASK, lock=job_lock(run.id), schedule_at=max(when, datetime.now(UTC)), job_id=str(run.id))


async def _lane(runtime: Runtime, run: Run, identity: DbIdentity) -> None:
    lease = runtime.gateway.reservation_ttl
    while run.stop_reason is None:
        item = (await _statement(runtime, _CLAIM, {"org": run.organization_id, "job": run.id, "lease": lease})).first()
        if item is None:
            return
        await _grade_item(runtime, run, identity, item)


async def _grade_item(runtime: Runtime, run: Run, identity: DbIdentity, item) -> None:
    def finish(state: str, error: str | None = None, grade=None, log_id=None):
        return _statement(
            runtime, _FINISH_ITEM, {"id": item.id, "state": state, "error": error, "grade": grade, "log": log_id}
        )

    if item.attempts > MAX_ATTEMPTS:
        await finish("failed", f"gave up after {MAX_ATTEMPTS} attempts")
        return

    async def mark_done(session: AsyncSession, suggestion: Suggestion) -> None:
        await session.execute(
            _FINISH_ITEM,
            {
                "id": item.id,
                "state": "done",
                "error": None,
                "grade": suggestion.grade_id,
                "log": suggestion.usage_log_id,
            },
        )

    try:
        await suggest(
            runtime.db,
            runtime.gateway,
            identity,
            item.submission_id,
            model=run.model,
            request_id=f"ai-grading-job:{run.id}",
            on_stored=mark_done,
        )
    except Problem as problem:
        error = f"{problem.status} {problem.title}: {problem.detail or ''}".strip()[:2000]
        log_id = problem.extra.get("usage_log_id")
        if problem.status == 409 or problem.kind == "not-gradable":  # graded meanwhile, or no longer gradable
            await finish("skipped", error)
        elif problem.kind in STOPPING:
            await finish("failed", error, log_id=log_id)
            run.stop_reason = error
        elif problem.status in RETRYABLE and item.attempts < MAX_ATTEMPTS:
            retry_after = problem.headers.get("Retry-After")
            delay = int(retry_after) if retry_after and retry_after.isdigit() else 5 * 2**item.attempts
            await _statement(runtime, _RELEASE_ITEM, {"id": item.id, "error": error, "delay": delay})
        else:
            await finish("failed", error, log_id=log_id)
    except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the run
        log.exception("AI grading of submission %s failed", item.submission_id)
        if item.attempts < MAX_ATTEMPTS:
            await _statement(
                runtime,
                _RELEASE_ITEM,
                {"id": item.id, "error": f"internal error: {exc}"[:2000], "delay": 5 * 2**item.attempts},
            )
        else:
            await finish("failed", "internal error")


async def sweep(runtime: Runtime) -> int:
    """Resume what a crash or a lost queue entry left unfinished; returns how many runs were queued."""
    await runtime.queue.retry_stalled()
    async with runtime.db.service_statement() as conn:
        unfinished = list((await conn.execute(_UNFINISHED)).scalars())
    for job_id in unfinished:
        await runtime.queue.defer(TASK, lock=job_lock(job_id), job_id=str(job_id))
    return len(unfinished)


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
