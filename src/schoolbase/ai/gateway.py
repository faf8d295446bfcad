"""The AI gateway: feature and role check → rate-limit slots → budget reservation →
provider call with no database connection held → settle (log, roll-ups, release).

Every call, denied or not, leaves exactly one usage log row, and the daily and
monthly roll-ups are updated in the same transaction as that row, so they always
equal what the logs say.
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai import limits
from schoolbase.ai.pricing import Price, Usage, input_token_bound
from schoolbase.ai.providers import Provider, ProviderError, StreamTally
from schoolbase.ai.schemas import MessageRequest
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.errors import Problem, not_found
from schoolbase.models import Membership, Organization
from schoolbase.models.ai import AiCallStatus, AiOrganizationSettings, AiService, AiServicePrice
from schoolbase.observability import record_ai_call

DENIAL_STATUS = {
    "feature_disabled": (403, AiCallStatus.feature_disabled),
    "monthly_budget": (402, AiCallStatus.over_budget),
}


@dataclass
class Call:
    """One admitted call, between reservation and settlement."""

    organization_id: uuid.UUID
    user_id: uuid.UUID
    time_zone: str
    settings: AiOrganizationSettings
    service: AiService
    price: Price
    request: MessageRequest
    request_id: str | None
    reservation: limits.Reservation
    started: float


async def resolve_organization(session: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID | None) -> uuid.UUID:
    orgs = set((await session.scalars(select(Membership.organization_id).where(Membership.user_id == user_id))).all())
    if org_id is None:
        if len(orgs) == 1:
            return orgs.pop()
        raise Problem(
            422, "organization-required", "Organization required",
            "you belong to several organizations (or none): say which one pays with organization_id",
        )
    if org_id not in orgs:
        raise not_found("organization")
    return org_id


async def current_price(session: AsyncSession, service_id: uuid.UUID) -> Price | None:
    row = await session.scalar(
        select(AiServicePrice)
        .where(AiServicePrice.service_id == service_id, AiServicePrice.effective_from <= text("now()"))
        .order_by(AiServicePrice.effective_from.desc())
        .limit(1)
    )
    if row is None:
        return None
    return Price(row.input_usd_per_mtok, row.output_usd_per_mtok, row.cache_write_usd_per_mtok,
                 row.cache_read_usd_per_mtok)


def feature_allowed(settings: AiOrganizationSettings, feature: str, roles: set[str]) -> bool:
    enabled = getattr(settings, f"{feature}_enabled")
    allowed_roles = {str(r) for r in getattr(settings, f"{feature}_roles")}
    return enabled and bool(allowed_roles & roles)


_ROLL_UP = text(
    """
    with day_row as (
      insert into public.ai_daily_user_usage as d (organization_id, user_id, day, requests, succeeded,
        input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd)
      values (:org, :user, (now() at time zone :tz)::date, 1, :ok, :i, :o, :w, :r, :cost)
      on conflict (organization_id, user_id, day) do update set
        requests = d.requests + 1, succeeded = d.succeeded + excluded.succeeded,
        input_tokens = d.input_tokens + excluded.input_tokens, output_tokens = d.output_tokens + excluded.output_tokens,
        cache_write_tokens = d.cache_write_tokens + excluded.cache_write_tokens,
        cache_read_tokens = d.cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = d.cost_usd + excluded.cost_usd
    )
    insert into public.ai_monthly_org_usage as m (organization_id, month, requests, succeeded,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, budget_usd)
    values (:org, date_trunc('month', now() at time zone :tz)::date, 1, :ok, :i, :o, :w, :r, :cost, :budget)
    on conflict (organization_id, month) do update set
      requests = m.requests + 1, succeeded = m.succeeded + excluded.succeeded,
      input_tokens = m.input_tokens + excluded.input_tokens, output_tokens = m.output_tokens + excluded.output_tokens,
      cache_write_tokens = m.cache_write_tokens + excluded.cache_write_tokens,
      cache_read_tokens = m.cache_read_tokens + excluded.cache_read_tokens,
      cost_usd = m.cost_usd + excluded.cost_usd, budget_usd = excluded.budget_usd
    """
)

_RELEASE = text(
    """
    with gone as (delete from public.ai_budget_reservations where id = :id returning organization_id, month, amount_usd)
    update public.ai_monthly_org_usage m set reserved_usd = m.reserved_usd - gone.amount_usd
    from gone where m.organization_id = gone.organization_id and m.month = gone.month
    """
)

# Each threshold is recorded once per month: the unique key makes repeats no-ops.
_ALERTS = text(
    """
    insert into public.ai_budget_alerts (organization_id, month, threshold_percent, spent_usd, budget_usd)
    select m.organization_id, m.month, t, m.cost_usd, m.budget_usd
    from public.ai_monthly_org_usage m, unnest(cast(:thresholds as integer[])) as t
    where m.organization_id = :org and m.month = date_trunc('month', now() at time zone :tz)::date
      and m.budget_usd > 0 and m.cost_usd * 100 >= m.budget_usd * t
    on conflict (organization_id, month, threshold_percent) do nothing
    """
)

_LOG = text(
    """
    insert into public.ai_usage_logs (organization_id, user_id, service_id, feature, request_id, status,
      input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
      input_usd_per_mtok, output_usd_per_mtok, cache_write_usd_per_mtok, cache_read_usd_per_mtok,
      cost_usd, latency_ms, upstream_error, prompt_text, response_text)
    values (:org, :user, :service, :feature, :request_id, :status, :i, :o, :w, :r,
      :pi, :po, :pw, :pr, :cost, :latency, :error, :prompt, :response)
    returning id
    """
)


async def write_log(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    tz: str,
    settings: AiOrganizationSettings,
    service_id: uuid.UUID,
    request: MessageRequest,
    request_id: str | None,
    status: AiCallStatus,
    usage: Usage = Usage(),
    price: Price | None = None,
    latency_ms: int | None = None,
    error: str | None = None,
    response_text: str | None = None,
) -> tuple[uuid.UUID, Decimal]:
    cost = price.cost(usage) if price else Decimal(0)
    store = settings.store_prompts
    log_id = await session.scalar(
        _LOG,
        {
            "org": org_id, "user": user_id, "service": service_id, "feature": request.feature.value,
            "request_id": request_id, "status": status.value,
            "i": usage.input_tokens, "o": usage.output_tokens, "w": usage.cache_write_tokens,
            "r": usage.cache_read_tokens,
            "pi": price.input if price else None, "po": price.output if price else None,
            "pw": price.cache_write if price else None, "pr": price.cache_read if price else None,
            "cost": cost, "latency": latency_ms, "error": error,
            "prompt": json.dumps(request.provider_params(), ensure_ascii=False) if store else None,
            "response": response_text if store else None,
        },
    )
    params = {
        "org": org_id, "user": user_id, "tz": tz, "ok": int(status == AiCallStatus.succeeded),
        "i": usage.input_tokens, "o": usage.output_tokens, "w": usage.cache_write_tokens,
        "r": usage.cache_read_tokens, "cost": cost, "budget": settings.monthly_budget_usd,
    }
    await session.execute(_ROLL_UP, params)
    if cost:
        await session.execute(_ALERTS, {"org": org_id, "tz": tz, "thresholds": settings.alert_thresholds_percent})
    record_ai_call(request.model, status.value, usage, cost)
    return log_id, cost


def provider_problem(exc: ProviderError) -> Problem:
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.kind in ("upstream_rate_limited", "overloaded"):
        return Problem(503, "ai-provider-busy", "AI provider busy", exc.message, headers=retry)
    if exc.kind == "timeout":
        return Problem(504, "ai-provider-timeout", "AI provider timed out", exc.message)
    if exc.kind == "rejected" and exc.status in (400, 413, 422):
        return Problem(422, "ai-request-rejected", "AI provider rejected the request", exc.message)
    return Problem(502, "ai-provider-error", "AI provider failed", exc.message)


class Gateway:
    def __init__(self, db: Database, provider: Provider, settings: Settings) -> None:
        self.db, self.provider, self.settings = db, provider, settings
        self._settling: set[asyncio.Task] = set()

    async def admit(self, user_id: uuid.UUID, request: MessageRequest, request_id: str | None) -> Call:
        """Check, take slots and reserve in one short transaction; a denial is logged, then raised."""
        async with self.db.service() as session:
            org_id = await resolve_organization(session, user_id, request.organization_id)
            org = await session.get(Organization, org_id)
            settings = await session.scalar(
                select(AiOrganizationSettings).where(AiOrganizationSettings.organization_id == org_id)
            )
            service = await session.scalar(select(AiService).where(AiService.alias == request.model))
            if service is None or not service.enabled:
                raise Problem(422, "unknown-model", "Unknown model", f"no enabled AI service {request.model!r}; see GET /ai/services")
            if request.max_tokens > service.max_output_tokens:
                raise Problem(422, "validation", "Invalid request",
                              f"max_tokens: {service.alias} allows at most {service.max_output_tokens}")
            price = await current_price(session, service.id)
            if price is None:
                raise Problem(503, "no-price", "No price", f"no price is in force for {service.alias}")
            denial = await self._check(session, org_id, user_id, org.time_zone, settings, service, request)
            reservation = None
            if denial is None:
                async with session.begin_nested() as savepoint:
                    denial = await self._take_limits(session, org_id, user_id, org.time_zone, settings, service, price, request)
                    if isinstance(denial, limits.Reservation):
                        reservation, denial = denial, None
                    else:
                        await savepoint.rollback()
            if denial is not None:
                await self._deny(session, org_id, user_id, org.time_zone, settings, service, request, request_id, denial)
        if denial is not None:
            raise self._denial_problem(denial)
        return Call(org_id, user_id, org.time_zone, settings, service, price, request, request_id, reservation,
                    time.perf_counter())

    async def _check(self, session, org_id, user_id, tz, settings, service, request) -> limits.Limited | None:
        roles = {str(r) for r in (await session.scalars(
            select(Membership.role).where(Membership.organization_id == org_id, Membership.user_id == user_id)
        )).all()}
        feature = request.feature.value
        if not feature_allowed(settings, feature, roles):
            return limits.Limited("feature_disabled", 0, f"{feature} is not enabled for your role in this organization")
        if settings.allowed_service_ids is not None and service.id not in settings.allowed_service_ids:
            return limits.Limited("feature_disabled", 0, f"{service.alias} is not allowed in this organization")
        quota = settings.daily_token_quota_per_user
        if quota is not None:
            used = await session.scalar(
                text(
                    "select coalesce(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens, 0) "
                    "from public.ai_daily_user_usage where organization_id = :org and user_id = :user "
                    "and day = (now() at time zone :tz)::date"
                ),
                {"org": org_id, "user": user_id, "tz": tz},
            )
            if (used or 0) >= quota:
                return limits.Limited(
                    "daily_token_quota", await limits.seconds_until(session, "day", tz),
                    f"your daily quota of {quota} tokens is used up",
                )
        return None

    async def _take_limits(self, session, org_id, user_id, tz, settings, service, price, request):
        per_day = settings.rate_limit_per_day
        if settings.daily_request_quota_per_user is not None:
            per_day = min(per_day, settings.daily_request_quota_per_user)
        window_limits = {"minute": settings.rate_limit_per_minute, "hour": settings.rate_limit_per_hour, "day": per_day}
        limited = await limits.take_rate_slots(session, org_id, user_id, tz, window_limits)
        if limited:
            return limited
        payload = json.dumps(request.provider_params(), ensure_ascii=False).encode()
        worst = price.worst_case(input_token_bound(len(payload)), request.max_tokens)
        month = await session.scalar(text("select date_trunc('month', now() at time zone :tz)::date"), {"tz": tz})
        ttl = int(self.settings.ai_timeout_seconds * (self.settings.ai_max_retries + 1)) + self.settings.ai_reservation_grace_seconds
        return await limits.reserve_budget(session, org_id, tz, month, settings.monthly_budget_usd, worst, ttl)

    async def _deny(self, session, org_id, user_id, tz, settings, service, request, request_id, denial) -> None:
        status = DENIAL_STATUS.get(denial.limit, (429, AiCallStatus.rate_limited))[1]
        await write_log(
            session, org_id=org_id, user_id=user_id, tz=tz, settings=settings, service_id=service.id,
            request=request, request_id=request_id, status=status, error=denial.detail,
        )

    @staticmethod
    def _denial_problem(denial: limits.Limited) -> Problem:
        status = DENIAL_STATUS.get(denial.limit, (429, None))[0]
        headers = {"Retry-After": str(denial.retry_after)} if denial.retry_after else {}
        kinds = {403: ("ai-feature-disabled", "AI feature not available"),
                 402: ("ai-budget-exhausted", "AI budget exhausted"),
                 429: ("ai-rate-limited", "AI rate limit reached")}
        kind, title = kinds[status]
        return Problem(status, kind, title, denial.detail, headers=headers, limit=denial.limit)

    async def settle(
        self, call: Call, status: AiCallStatus, usage: Usage, *, error: str | None = None, text_out: str | None = None
    ) -> tuple[uuid.UUID, Decimal]:
        latency = int((time.perf_counter() - call.started) * 1000)
        async with self.db.service() as session:
            result = await write_log(
                session, org_id=call.organization_id, user_id=call.user_id, tz=call.time_zone,
                settings=call.settings, service_id=call.service.id, request=call.request, request_id=call.request_id,
                status=status, usage=usage, price=call.price, latency_ms=latency, error=error, response_text=text_out,
            )
            await session.execute(_RELEASE, {"id": call.reservation.id})
        return result

    async def complete(self, call: Call) -> dict[str, Any]:
        try:
            completion = await self.provider.create(call.service.model_id, call.request.provider_params())
        except ProviderError as exc:
            await self.settle(call, AiCallStatus.failed, Usage(), error=exc.message)
            raise provider_problem(exc) from exc
        except BaseException:
            await asyncio.shield(self.settle(call, AiCallStatus.failed, Usage(), error="call aborted"))
            raise
        text_out = "".join(b.get("text", "") for b in completion.message.get("content", []) if isinstance(b, dict))
        log_id, cost = await self.settle(call, AiCallStatus.succeeded, completion.usage, text_out=text_out)
        return {**completion.message, "schoolbase": self._receipt(call, log_id, cost)}

    def _receipt(self, call: Call, log_id: uuid.UUID, cost: Decimal) -> dict[str, Any]:
        return {"usage_log_id": str(log_id), "cost_usd": str(cost), "provider": self.provider.name,
                "organization_id": str(call.organization_id)}

    async def stream(self, call: Call) -> AsyncIterator[bytes]:
        """Pass the provider's events through as server-sent events, then a receipt.

        The upstream stream is read by a task of its own: if the client goes away,
        that task still reads to the end and settles, so what was generated is billed.
        """
        queue: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(self._pump(call, queue))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        while True:
            item = await queue.get()
            if item is None:
                return
            yield item

    async def _pump(self, call: Call, queue: asyncio.Queue) -> None:
        tally = StreamTally()
        status, error = AiCallStatus.succeeded, None
        try:
            async for event in self.provider.stream(call.service.model_id, call.request.provider_params()):
                tally.observe(event)
                queue.put_nowait(sse(event["type"], event))
        except ProviderError as exc:
            status, error = AiCallStatus.failed, exc.message
            problem = provider_problem(exc)
            queue.put_nowait(sse("error", {"type": "error", "error": {"type": problem.kind, "message": exc.message}}))
        finally:
            log_id, cost = await self.settle(call, status, tally.usage, error=error, text_out="".join(tally.text))
            queue.put_nowait(sse("schoolbase_receipt", self._receipt(call, log_id, cost)))
            queue.put_nowait(None)

    async def aclose(self) -> None:
        """Let streams whose clients left finish settling, then close the provider."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self.provider.close()


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
