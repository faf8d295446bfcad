"""AI grading across transactions: a suggestion around one AI call, and bulk runs.

A suggestion is made in three steps, never holding a database connection across the AI
call: read the submission and rubric as the caller (row-level security decides what they
see), call the model through the gateway (feature ``grading_assistance``: limits, budget
and logging apply), then store the ``ai_suggested`` grade as ``service_role`` (the
policies reserve that state to the server).

A bulk run has one item per submission and is worked by the Procrastinate task
``ai_grading.run_job`` (registered in ``jobs.py``):

- Starting a run (as the caller, through RLS) stores the run and its items as the
  server and queues the task with a lock per run: at most one copy of a run's task
  waits and one runs.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai.gateway import Gateway, answer_text, usage_log_id
from schoolbase.ai.service import record_quality
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity, user_identity
from schoolbase.grading.assist import runs, schemas
from schoolbase.grading.assist.prompt import AnswerError, build_request, parse_answer
from schoolbase.grading.assist.service import grade_out, load_target, store_suggestion
from schoolbase.jobs import JobQueue
from schoolbase.problems import (
    AI_ANSWER_INVALID,
    AI_BUDGET_EXHAUSTED,
    AI_FEATURE_DISABLED,
    NOT_GRADABLE,
    Problem,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- one suggestion


@dataclass(frozen=True)
class Suggestion:
    grade_id: uuid.UUID
    usage_log_id: uuid.UUID
    confidence: Decimal


OnStored = Callable[[AsyncSession, Suggestion], Awaitable[None]]


async def suggest(
    db: Database,
    gateway: Gateway,
    identity: DbIdentity,
    submission_id: uuid.UUID,
    *,
    model: str,
    request_id: str | None,
    on_stored: OnStored | None = None,
) -> Suggestion:
    """Read as the caller, ask the model with no connection held, store as the server.

    ``on_stored`` runs in the transaction that stores the grade (the bulk job marks
    its item done there, so the two can never disagree)."""
    async with db.as_user(identity) as session:
        target = await load_target(session, submission_id)
    call = await gateway.admit(identity, build_request(target, model), request_id)
    message = await gateway.complete(call)
    log_id = usage_log_id(message)
    grading: dict[str, Any] = {"submission_id": str(submission_id)}
    try:
        answer = parse_answer(answer_text(message), target.criteria)
    except AnswerError as exc:
        async with db.as_service() as session:
            quality = {"grading": {"valid": False, "error": str(exc), **grading}}
            await record_quality(session, target.organization_id, log_id, quality)
        raise AI_ANSWER_INVALID(str(exc), usage_log_id=str(log_id)) from exc
    async with db.as_service() as session:
        grade_id = await store_suggestion(session, target, answer, log_id)
        grading |= {"valid": True, "grade_id": str(grade_id), "suggested_points": str(answer.points)}
        quality = {"confidence": float(answer.confidence), "grading": grading}
        await record_quality(session, target.organization_id, log_id, quality)
        suggestion = Suggestion(grade_id, log_id, answer.confidence)
        if on_stored is not None:
            await on_stored(session, suggestion)
    return suggestion


async def suggest_grade(
    db: Database, gateway: Gateway, identity: DbIdentity, submission_id: uuid.UUID, **call: Any
) -> schemas.GradeOut:
    """``suggest`` (``call``: its ``model`` and ``request_id``), then the grade as the caller sees it."""
    suggestion = await suggest(db, gateway, identity, submission_id, **call)
    async with db.as_user(identity) as session:
        return await grade_out(session, suggestion.grade_id)


# ---------------------------------------------------------------- bulk runs

TASK = "ai_grading.run_job"
MAX_ATTEMPTS = 3
STOPPING = (AI_BUDGET_EXHAUSTED.slug, AI_FEATURE_DISABLED.slug)
RETRYABLE = {429, 503, 504}


def job_lock(job_id: uuid.UUID) -> str:
    return f"ai-grading-job:{job_id}"


@dataclass
class Runtime:
    db: Database
    gateway: Gateway
    queue: JobQueue
    settings: Settings


async def start(
    db: Database, queue: JobQueue, identity: DbIdentity, assignment_id: uuid.UUID, model: str
) -> schemas.JobOut:
    """Plan the run as the caller, store it as the server, queue its task, and read it back
    as the caller sees it."""
    async with db.as_user(identity) as session:
        planned = await runs.plan(session, assignment_id)
    async with db.as_service() as session:
        job_id = await runs.create(session, planned, identity.user_id, model)
    if planned.submission_ids:
        try:
            await queue.defer(TASK, lock=job_lock(job_id), job_id=str(job_id))
        except Exception:  # noqa: BLE001 - the run is stored; the sweep queues it within a minute
            log.exception("could not queue AI grading run %s", job_id)
    async with db.as_user(identity) as session:
        return await runs.job_out(session, job_id)


@dataclass
class Run:
    id: uuid.UUID
    organization_id: uuid.UUID
    requested_by: uuid.UUID | None
    model: str
    stop_reason: str | None = None


async def _statement(runtime: Runtime, step: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """One of ``runs``' steps in a transaction of its own (an autocommit service_role connection)."""
    async with runtime.db.service_statement() as conn:
        return await step(conn, *args)


async def run_job(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Grade the run's open items; finish the run, or queue itself again for items that wait."""
    row = await _statement(runtime, runs.begin, job_id)
    if row is None:
        return  # finished or gone
    run = Run(row.id, row.organization_id, row.requested_by, row.model)
    if run.requested_by is None:
        run.stop_reason = "the teacher who started this run no longer exists"
    else:
        identity = user_identity(run.requested_by)
        lanes = max(1, runtime.settings.ai_grading_concurrency)
        await asyncio.gather(*(_lane(runtime, run, identity) for _ in range(lanes)))
    if run.stop_reason is not None:
        await _statement(runtime, runs.fail_rest, run.organization_id, run.id, run.stop_reason)
    remaining = await _statement(runtime, runs.remaining, run.organization_id, run.id)
    if remaining.open == 0:
        await _statement(runtime, runs.finish, run.id, run.stop_reason)
        return
    # Items wait (a retry delay) or are leased by a worker that may have died: come back then.
    when = min(t for t in (remaining.next_pending, remaining.next_lease) if t is not None)
    await runtime.queue.defer(TASK, lock=job_lock(run.id), schedule_at=max(when, datetime.now(UTC)), job_id=str(run.id))


async def _lane(runtime: Runtime, run: Run, identity: DbIdentity) -> None:
    lease = runtime.gateway.reservation_ttl
    while run.stop_reason is None:
        item = await _statement(runtime, runs.claim_item, run.organization_id, run.id, lease)
        if item is None:
            return
        await _grade_item(runtime, run, identity, item)


async def _grade_item(runtime: Runtime, run: Run, identity: DbIdentity, item: Any) -> None:
    if item.attempts > MAX_ATTEMPTS:
        await _statement(runtime, runs.finish_item, item.id, "failed", f"gave up after {MAX_ATTEMPTS} attempts")
        return

    async def mark_done(session: AsyncSession, suggestion: Suggestion) -> None:
        await runs.finish_item(session, item.id, "done", None, suggestion.grade_id, suggestion.usage_log_id)

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
        await _item_refused(runtime, run, item, problem)
    except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the run
        log.exception("AI grading of submission %s failed", item.submission_id)
        if item.attempts < MAX_ATTEMPTS:
            error = f"internal error: {exc}"[:2000]
            await _statement(runtime, runs.release_item, item.id, error, 5 * 2**item.attempts)
        else:
            await _statement(runtime, runs.finish_item, item.id, "failed", "internal error")


async def _item_refused(runtime: Runtime, run: Run, item: Any, problem: Problem) -> None:
    """Skip what was graded meanwhile, stop the run on a budget or feature denial, retry what
    may pass later, fail the rest."""
    error = f"{problem.status} {problem.title}: {problem.detail or ''}".strip()[:2000]
    log_id = problem.extra.get("usage_log_id")
    if problem.status == 409 or problem.kind == NOT_GRADABLE.slug:  # graded meanwhile, or no longer gradable
        await _statement(runtime, runs.finish_item, item.id, "skipped", error)
    elif problem.kind in STOPPING:
        await _statement(runtime, runs.finish_item, item.id, "failed", error, None, log_id)
        run.stop_reason = error
    elif problem.status in RETRYABLE and item.attempts < MAX_ATTEMPTS:
        retry_after = problem.headers.get("Retry-After")
        delay = int(retry_after) if retry_after and retry_after.isdigit() else 5 * 2**item.attempts
        await _statement(runtime, runs.release_item, item.id, error, delay)
    else:
        await _statement(runtime, runs.finish_item, item.id, "failed", error, None, log_id)


async def sweep(runtime: Runtime) -> int:
    """Resume what a crash or a lost queue entry left unfinished; returns how many runs were queued."""
    await runtime.queue.retry_stalled()
    unfinished = await _statement(runtime, runs.unfinished)
    for job_id in unfinished:
        await runtime.queue.defer(TASK, lock=job_lock(job_id), job_id=str(job_id))
    return len(unfinished)
