"""The AI gateway: feature and role check → rate-limit slots → budget reservation →
provider call with no database connection held → settle (log, roll-ups, release).

The checks and counters live in two SQL functions (``private.ai_admit_call`` and
``private.ai_settle``), so each step is one round trip and atomic under any number
of server processes. Every call, denied or not, leaves exactly one usage row, and
the daily and monthly roll-ups change in the same transaction as that row. Calls
that finish together are settled together (``Settlements``).
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from schoolbase.ai.pricing import Price, Usage, input_token_bound
from schoolbase.ai.providers import Provider, ProviderError, StreamTally
from schoolbase.ai.schemas import MessageRequest
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.models.ai import AiCallStatus
from schoolbase.observability import record_ai_call
from schoolbase.problems import (
    AI_BUDGET_EXHAUSTED,
    AI_FEATURE_DISABLED,
    AI_PROVIDER_BUSY,
    AI_PROVIDER_ERROR,
    AI_PROVIDER_TIMEOUT,
    AI_RATE_LIMITED,
    AI_REQUEST_REJECTED,
    NO_PRICE,
    ORGANIZATION_REQUIRED,
    UNKNOWN_MODEL,
    VALIDATION,
    Problem,
    not_found,
    unauthorized,
)

# In psycopg's placeholders: they run on the database's bare pool (``Database.service_call``).
_ADMIT = (
    "select * from private.ai_admit_call(%(user)s, %(session)s, %(org)s, %(alias)s, %(feature)s::public.ai_feature, "
    "%(max_tokens)s, %(input_bound)s, %(ttl)s, %(request_id)s, %(prompt)s)"
)
# A settlement commits without waiting for the disk, so the monthly row it updates is not
# locked against admissions while the WAL flushes; FLUSHED, a durable write of its own, then
# waits for that flush (see private.ai_flush_marks).
SETTLE = "select private.ai_settle(%(calls)s, p_flush_later => true) as log_ids"
FLUSHED = (
    "insert into private.ai_flush_marks as f values (mod(pg_backend_pid(), 1024), now()) "
    "on conflict (slot) do update set marked_at = excluded.marked_at returning f.marked_at"
)

log = logging.getLogger(__name__)

DENIALS = {"feature_disabled": AI_FEATURE_DISABLED, "monthly_budget": AI_BUDGET_EXHAUSTED}


@dataclass
class Call:
    """One admitted call, between reservation and settlement."""

    organization_id: uuid.UUID
    user_id: uuid.UUID
    service_id: uuid.UUID
    model_id: str
    price: Price
    request: MessageRequest
    params: dict[str, Any]  # what goes to the provider
    request_id: str | None
    prompt: str | None
    reservation_id: uuid.UUID
    started: float

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


def provider_problem(exc: ProviderError) -> Problem:
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.kind in ("upstream_rate_limited", "overloaded"):
        return AI_PROVIDER_BUSY(exc.message, headers=retry)
    if exc.kind == "timeout":
        return AI_PROVIDER_TIMEOUT(exc.message)
    if exc.kind == "rejected" and exc.status in (400, 413, 422):
        return AI_REQUEST_REJECTED(exc.message)
    return AI_PROVIDER_ERROR(exc.message)


def admission_problem(admitted, request: MessageRequest) -> Problem:
    """Why ``private.ai_admit_call`` refused before it knew the organization and the service."""
    match admitted.problem:
        case "signed_out":
            return unauthorized("this session has ended or the account is disabled; sign in again")
        case "organization_not_found":
            return not_found("organization")
        case "organization_required":
            return ORGANIZATION_REQUIRED(
                "you belong to several organizations (or none): say which one pays with organization_id"
            )
        case "unknown_model":
            return UNKNOWN_MODEL(f"no enabled AI service {request.model!r}; see GET /ai/services")
        case "max_tokens":
            return VALIDATION(f"max_tokens: {request.model} allows at most {admitted.svc_max_output}")
        case _:
            return NO_PRICE(f"no price is in force for {request.model}")


def denial_problem(denial: str, detail: str, retry_after: int | None) -> Problem:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return DENIALS.get(denial, AI_RATE_LIMITED)(detail, headers=headers, limit=denial)


def storable(text: str | None) -> str | None:
    """``text`` as a text column can hold it: an answer or an upstream error may carry NUL
    characters, and a usage row that cannot be written would leave the call unbilled."""
    return text.replace("\x00", "\ufffd") if text else text


def answer_text(message: dict[str, Any]) -> str:
    """The text of a Messages API answer: its text blocks, joined."""
    return "".join(b.get("text", "") for b in message.get("content", []) if isinstance(b, dict))


def usage_log_id(message: dict[str, Any]) -> uuid.UUID:
    """The usage log row of an answer ``Gateway.complete`` returned."""
    return uuid.UUID(message["schoolbase"]["usage_log_id"])


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class Settlements:
    """Writes finished calls' settlements through ``private.ai_settle``, one batch at a time:
    the settlements that arrive while a batch is being written make up the next, so under
    load one statement and one commit serve many calls, and a lone call's is written at once.
    A batch is settled once it is on disk. A batch PostgreSQL refuses is retried call by call,
    so one bad settlement fails only its own call. A caller that stops waiting does not stop
    its settlement from being written."""

    def __init__(self, db: Database, batch_limit: int = 100) -> None:
        self.db, self.batch_limit = db, batch_limit
        self.waiting: list[tuple[dict[str, Any], asyncio.Future]] = []
        self.writer: asyncio.Task | None = None

    async def write(self, settlement: dict[str, Any]) -> uuid.UUID:
        """The usage row id of ``settlement`` (the keys of ``private.ai_settlement``), once written."""
        written = asyncio.get_running_loop().create_future()
        self.waiting.append((settlement, written))
        if self.writer is None:
            self.writer = asyncio.create_task(self._drain())
        return await written

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.batch_limit], self.waiting[self.batch_limit :]
                await self._write(batch)
        finally:
            self.writer = None

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future]]) -> None:
        try:
            calls = Jsonb([settlement for settlement, _ in batch], dumps=_settlement_json)
            log_ids = (await self.db.service_call(SETTLE, {"calls": calls})).log_ids
        except Exception as exc:
            # Only a settlement PostgreSQL refused is tried again alone: after a lost connection
            # the batch may have been committed, and written again it would be billed twice.
            if len(batch) > 1 and isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
                for one in batch:
                    await self._write([one])
                return
            results = [exc] * len(batch)
        else:
            await self._flushed()
            results = log_ids
        for (_, written), result in zip(batch, results, strict=True):
            if written.done():  # its caller stopped waiting
                continue
            if isinstance(result, Exception):
                written.set_exception(result)
            else:
                written.set_result(result)

    async def _flushed(self) -> None:
        try:
            await self.db.service_call(FLUSHED, {})
        except Exception:  # the batch is committed: written again, it would be billed twice
            log.warning("AI settlements committed, but their flush to disk is not confirmed", exc_info=True)

    async def aclose(self) -> None:
        if self.writer is not None:
            await self.writer


def _settlement_json(settlement: list[dict[str, Any]]) -> str:
    # ids and amounts as strings: numeric keeps every digit of a Decimal
    return json.dumps(settlement, default=str)


class Gateway:
    def __init__(self, db: Database, provider: Provider, settings: Settings) -> None:
        self.db, self.provider, self.settings = db, provider, settings
        self.reservation_ttl = (
            int(settings.ai_timeout_seconds * (settings.ai_max_retries + 1)) + settings.ai_reservation_grace_seconds
        )
        self._settling: set[asyncio.Task] = set()
        self.settlements = Settlements(db)

    async def admit(self, caller: DbIdentity, request: MessageRequest, request_id: str | None) -> Call:
        """Check, take slots and reserve in one statement; a denial is recorded, then raised.
        A request's caller has the sign-in session of its token, which must still be open; a
        job working for a person has none, and only their account must be active."""
        params = request.provider_params()
        payload = json.dumps(params, ensure_ascii=False)
        admitted = await self.db.service_call(
            _ADMIT,
            {
                "user": caller.user_id,
                "session": caller.session_id,
                "org": request.organization_id,
                "alias": request.model,
                "feature": request.feature.value,
                "max_tokens": request.max_tokens,
                "input_bound": input_token_bound(len(payload.encode())),
                "ttl": self.reservation_ttl,
                "request_id": request_id,
                "prompt": payload,
            },
        )
        if admitted.problem:
            raise admission_problem(admitted, request)
        if admitted.denial:
            record_ai_call(request.model, admitted.denial, Usage(), Decimal(0))
            raise denial_problem(admitted.denial, admitted.detail, admitted.retry_after)
        return Call(
            admitted.org_id,
            caller.user_id,
            admitted.svc_id,
            admitted.svc_model_id,
            Price(*admitted.prices),
            request,
            params,
            request_id,
            payload if admitted.keeps_prompts else None,
            admitted.reservation_id,
            time.perf_counter(),
        )

    async def settle(
        self,
        call: Call,
        status: AiCallStatus,
        usage: Usage,
        *,
        error: str | None = None,
        text_out: str | None = None,
        log_id: uuid.UUID | None = None,
        latency_ms: int | None = None,
    ) -> tuple[uuid.UUID, Decimal]:
        """Write the call's usage row (with ``log_id`` when the receipt already names it) and
        roll-ups, and release its reservation."""
        cost = call.price.cost(usage)
        price = call.price
        log_id = await self.settlements.write(
            {
                "org": call.organization_id,
                "user": call.user_id,
                "service": call.service_id,
                "feature": call.request.feature.value,
                "request_id": call.request_id,
                "status": status.value,
                "tokens": [
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cache_write_tokens,
                    usage.cache_read_tokens,
                ],
                "prices": [price.input, price.output, price.cache_write, price.cache_read],
                "cost": cost,
                "latency": call.elapsed_ms() if latency_ms is None else latency_ms,
                "error": storable(error),
                "prompt": call.prompt,
                "response": storable(text_out),
                "reservation": call.reservation_id,
                "log_id": log_id,
            }
        )
        record_ai_call(call.request.model, status.value, usage, cost)
        return log_id, cost

    async def complete(self, call: Call) -> dict[str, Any]:
        """The provider's answer with its receipt, its usage row written."""
        message, settlement = await self.answer(call)
        await settlement()
        return message

    async def answer(self, call: Call) -> tuple[dict[str, Any], Callable[[], Awaitable[Any]]]:
        """The provider's answer with its receipt, and the settlement that writes the usage row
        the receipt names. The API sends the answer first and settles right after, so the
        client does not wait for the bookkeeping; the reservation holds the call's worst case
        against the budget until then. A failed call is settled before its problem is raised."""
        try:
            completion = await self.provider.create(call.model_id, call.params)
        except ProviderError as exc:
            await self.settle(call, AiCallStatus.failed, Usage(), error=exc.message)
            raise provider_problem(exc) from exc
        except Exception as exc:  # a provider bug is still a failed, logged call and a 502, never a 500
            failure = ProviderError("upstream_error", f"AI provider call failed: {exc}")
            await self.settle(call, AiCallStatus.failed, Usage(), error=failure.message)
            raise provider_problem(failure) from exc
        except BaseException:
            await asyncio.shield(self.settle(call, AiCallStatus.failed, Usage(), error="call aborted"))
            raise
        log_id, usage = uuid.uuid4(), completion.usage
        settlement = partial(
            self.settle,
            call,
            AiCallStatus.succeeded,
            usage,
            text_out=answer_text(completion.message),
            log_id=log_id,
            latency_ms=call.elapsed_ms(),
        )
        return {**completion.message, "schoolbase": self._receipt(call, log_id, call.price.cost(usage))}, settlement

    def _receipt(self, call: Call, log_id: uuid.UUID, cost: Decimal) -> dict[str, Any]:
        return {
            "usage_log_id": str(log_id),
            "cost_usd": str(cost),
            "provider": self.provider.name,
            "organization_id": str(call.organization_id),
        }

    async def stream(self, call: Call) -> AsyncIterator[bytes]:
        """Pass the provider's events through as server-sent events, then a receipt.

        The upstream stream is read by a task of its own: if the client goes away,
        that task still reads to the end and settles, so what was generated is billed.
        """
        queue: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(self._pump(call, queue))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        while (item := await queue.get()) is not None:
            yield item

    async def _pump(self, call: Call, queue: asyncio.Queue) -> None:
        tally = StreamTally()
        status, error = AiCallStatus.succeeded, None
        try:
            async for event in self.provider.stream(call.model_id, call.params):
                tally.observe(event)
                queue.put_nowait(sse(event["type"], event))
        except Exception as exc:  # noqa: BLE001 - any failure mid-stream is a failed call, billed as far as it got
            problem = provider_problem(
                exc if isinstance(exc, ProviderError) else ProviderError("upstream_error", str(exc))
            )
            status, error = AiCallStatus.failed, problem.detail
            queue.put_nowait(
                sse("error", {"type": "error", "error": {"type": problem.kind, "message": problem.detail}})
            )
        try:
            log_id, cost = await self.settle(call, status, tally.usage, error=error, text_out="".join(tally.text))
            queue.put_nowait(sse("schoolbase_receipt", self._receipt(call, log_id, cost)))
        finally:
            queue.put_nowait(None)  # the client's stream always ends, even if settling failed

    async def aclose(self) -> None:
        """Let streams whose clients left finish settling, then close the provider."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self.settlements.aclose()
        await self.provider.close()
