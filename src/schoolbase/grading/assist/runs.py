"""Bulk AI grading runs (``bulk_grading_jobs``) and their items, one per submission: the
statements that read and move them. Each function works on the session or connection it
is given and never commits; ``flows.py`` decides the transactions (the worker's are one
statement each, on a ``service_role`` autocommit connection)."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from schoolbase.grading.assist import schemas
from schoolbase.grading.assist.service import first_or_404, load_criteria, require_staff
from schoolbase.problems import AI_GRADING_RUNNING

Executor = AsyncSession | AsyncConnection

# ---------------------------------------------------------------- starting a run

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


@dataclass(frozen=True)
class Planned:
    """What a new run of an assignment would grade, as its caller sees it."""

    organization_id: uuid.UUID
    class_id: uuid.UUID
    assignment_id: uuid.UUID
    submission_ids: list[uuid.UUID]

    def keys(self) -> dict[str, Any]:
        return {"org": self.organization_id, "class": self.class_id, "assignment": self.assignment_id}


async def plan(session: AsyncSession, assignment_id: uuid.UUID) -> Planned:
    """As the caller: the latest attempt of every student that is submitted or late and has no
    grade yet (staff of the class only; the assignment needs a rubric)."""
    row = await first_or_404(session, _ASSIGNMENT, {"id": assignment_id}, "assignment")
    await require_staff(session, row.organization_id, row.class_id)
    await load_criteria(session, row.organization_id, row.id)
    planned = Planned(row.organization_id, row.class_id, row.id, [])
    planned.submission_ids.extend((await session.execute(_TO_GRADE, planned.keys())).scalars())
    return planned


async def create(session: AsyncSession, planned: Planned, user_id: uuid.UUID, model: str) -> uuid.UUID:
    """As the server: the run and its items (409 while the assignment has an unfinished run)."""
    keys = planned.keys()
    try:
        async with session.begin_nested():
            job_id = await session.scalar(
                _INSERT_JOB, {**keys, "user": user_id, "model": model, "total": len(planned.submission_ids)}
            )
    except IntegrityError as exc:
        running = await session.scalar(_UNFINISHED_OF, keys)
        raise AI_GRADING_RUNNING(
            "this assignment already has an AI grading run in progress", job_id=str(running)
        ) from exc
    if planned.submission_ids:
        await session.execute(
            _INSERT_ITEMS, {"org": planned.organization_id, "job": job_id, "submissions": planned.submission_ids}
        )
    return job_id


# ---------------------------------------------------------------- reading a run

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
    job = (await first_or_404(session, _JOB, {"id": job_id}, "AI grading job"))._mapping
    items = [
        schemas.JobItemOut(**i)
        for i in (await session.execute(_ITEMS, {"org": job["organization_id"], "id": job_id})).mappings()
    ]
    count = {state: sum(1 for i in items if i.state == state) for state in ("done", "failed", "skipped")}
    pending = sum(1 for i in items if i.state in ("pending", "running"))
    return schemas.JobOut(**job, **count, pending=pending, items=items)


# ---------------------------------------------------------------- running a run (as the server)

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


async def begin(db: Executor, job_id: uuid.UUID) -> Any:
    """Mark the run running; its id, organization, requester and model, or None when it is finished or gone."""
    return (await db.execute(_BEGIN, {"id": job_id})).first()


async def claim_item(db: Executor, organization_id: uuid.UUID, job_id: uuid.UUID, lease_seconds: float) -> Any:
    """The next open item (pending and due, or running with its lease run out), now leased; or None."""
    params = {"org": organization_id, "job": job_id, "lease": lease_seconds}
    return (await db.execute(_CLAIM, params)).first()


async def finish_item(
    db: Executor,
    item_id: uuid.UUID,
    state: str,
    error: str | None = None,
    grade_id: uuid.UUID | None = None,
    log_id: Any = None,
) -> None:
    params = {"id": item_id, "state": state, "error": error, "grade": grade_id, "log": log_id}
    await db.execute(_FINISH_ITEM, params)


async def release_item(db: Executor, item_id: uuid.UUID, error: str, delay_seconds: int) -> None:
    """Put a running item back, to be claimed again after the delay."""
    await db.execute(_RELEASE_ITEM, {"id": item_id, "error": error, "delay": delay_seconds})


async def fail_rest(db: Executor, organization_id: uuid.UUID, job_id: uuid.UUID, error: str) -> None:
    await db.execute(_FAIL_REST, {"org": organization_id, "job": job_id, "error": error})


async def remaining(db: Executor, organization_id: uuid.UUID, job_id: uuid.UUID) -> Any:
    """How many items are open, and when the next waiting one is due or the next lease runs out."""
    return (await db.execute(_REMAINING, {"org": organization_id, "job": job_id})).one()


async def finish(db: Executor, job_id: uuid.UUID, error: str | None) -> None:
    """Completed, or failed with ``error``."""
    await db.execute(_FINISH_JOB, {"id": job_id, "error": error})


async def unfinished(db: Executor) -> list[uuid.UUID]:
    return list((await db.execute(_UNFINISHED)).scalars())
