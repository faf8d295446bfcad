"""POST /ai/messages through the real app and the real anthropic SDK against the local upstream:
denials (each logged), upstream failures, streaming, roll-ups, stored prompts, budget alerts and
stale reservations."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from schoolbase.ai.maintenance import maintain
from schoolbase.ai.pricing import Usage
from schoolbase.ai.schemas import MessageRequest
from schoolbase.app import create_app
from schoolbase.db.rls import user_identity
from schoolbase.models import Membership, MembershipRole
from schoolbase.models.ai import AiCallStatus
from tests.ai.support import (
    HAIKU,
    SONNET,
    assert_released,
    away_from_minute_edge,
    expected_cost,
    fetch,
    logs,
    message,
    month_row,
    seconds_to_local_midnight,
    service_id,
    sse_events,
)
from tests.conftest import assert_problem


async def ask(client, school, who="s", text="Explain photosynthesis briefly.", **extra) -> httpx.Response:
    return await client.post("/ai/messages", json=message(text, **extra), headers=school.headers[who])


def statuses(rows) -> list[str]:
    return [str(r["status"]) for r in rows]


async def slots_used(db, org_id: uuid.UUID) -> int:
    rows = await fetch(
        db, "select coalesce(sum(used), 0) as n from public.ai_rate_limits where organization_id = :o", o=org_id
    )
    return rows[0]["n"]


# ---------------------------------------------------------------- success


async def test_student_call_is_answered_logged_and_rolled_up(client, db, make_school):
    school = await make_school()
    response = await ask(client, school, text="hi [[tokens:1000,500]]", model="claude-haiku")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["content"][0]["text"].startswith("[local upstream]")
    assert body["usage"]["input_tokens"] == 1000 and body["usage"]["output_tokens"] == 500
    receipt = body["schoolbase"]
    assert receipt["cost_usd"] == "0.003500"  # 1000 x $1 + 500 x $5 per million
    assert receipt["provider"] == "anthropic"
    assert receipt["organization_id"] == str(school.org_id)
    (row,) = await logs(db, school.org_id)
    assert str(row["id"]) == receipt["usage_log_id"]
    assert (str(row["status"]), str(row["feature"])) == ("succeeded", "homework_help")
    assert row["user_id"] == school.people["s"]
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (1000, 500, Decimal("0.0035"))
    assert row["upstream_error"] is None and row["latency_ms"] is not None and row["request_id"]
    await assert_released(db, school.org_id)


# ---------------------------------------------------------------- denials


async def test_feature_disabled_for_the_role_is_403_and_logged(client, db, make_school):
    school = await make_school()
    response = await ask(client, school, "s", feature="grading_assistance")
    body = assert_problem(response, 403, "ai-feature-disabled")
    assert body["limit"] == "feature_disabled"
    assert "Retry-After" not in response.headers
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "feature_disabled"
    assert str(row["feature"]) == "grading_assistance"
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (0, 0, 0)
    assert row["upstream_error"]
    # a denial takes no rate-limit slot and holds no budget
    assert await slots_used(db, school.org_id) == 0
    assert (
        await fetch(db, "select * from public.ai_budget_reservations where organization_id = :o", o=school.org_id) == []
    )
    # the teacher may use it
    assert (await ask(client, school, "t", feature="grading_assistance")).status_code == 200


async def test_feature_switched_off_for_everyone(client, db, make_school):
    school = await make_school(resource_generation_enabled=False)
    assert_problem(await ask(client, school, "oa", feature="resource_generation"), 403, "ai-feature-disabled")
    assert statuses(await logs(db, school.org_id)) == ["feature_disabled"]


async def test_parent_has_no_homework_help_by_default(client, db, make_school):
    school = await make_school()
    assert_problem(await ask(client, school, "p"), 403, "ai-feature-disabled")
    assert statuses(await logs(db, school.org_id)) == ["feature_disabled"]


async def test_model_not_in_allowed_services_is_403_and_logged(client, db, make_school):
    haiku = await service_id(db, "claude-haiku")
    school = await make_school(allowed_service_ids=[haiku])
    body = assert_problem(await ask(client, school, model="claude-sonnet"), 403, "ai-feature-disabled")
    assert "not allowed" in body["detail"]
    assert (await ask(client, school, model="claude-haiku")).status_code == 200
    rows = await logs(db, school.org_id)
    assert statuses(rows) == ["feature_disabled", "succeeded"]
    assert rows[0]["service_id"] == await service_id(db, "claude-sonnet")


async def limited_after(client, db, school, calls: int, limit: str) -> int:
    """``calls`` calls are served, the next is refused as over ``limit`` and logged so (all
    inside one clock minute); returns the refusal's Retry-After in seconds."""
    await away_from_minute_edge()
    for _ in range(calls):
        assert (await ask(client, school)).status_code == 200
    response = await ask(client, school)
    assert assert_problem(response, 429, "ai-rate-limited")["limit"] == limit
    assert statuses(await logs(db, school.org_id)) == ["succeeded"] * calls + ["rate_limited"]
    return int(response.headers["Retry-After"])


async def test_rate_limit_per_minute(client, db, make_school):
    school = await make_school(rate_limit_per_minute=3)
    assert 1 <= await limited_after(client, db, school, 3, "per_minute") <= 60
    # the denied call holds no slot: the minute counter stays at the limit, and the others at 3
    used = {
        r["window_kind"]: r["used"]
        for r in await fetch(
            db, "select window_kind, used from public.ai_rate_limits where organization_id = :o", o=school.org_id
        )
    }
    assert used == {"minute": 3, "hour": 3, "day": 3}
    await assert_released(db, school.org_id)
    # the limit is per person: a classmate is still served
    assert (await ask(client, school, "s2")).status_code == 200


async def test_rate_limit_per_hour(client, db, make_school):
    school = await make_school(rate_limit_per_hour=2)
    assert 1 <= await limited_after(client, db, school, 2, "per_hour") <= 3600


@pytest.mark.parametrize(
    ("columns", "tz"),
    [({"rate_limit_per_day": 2}, "Asia/Tokyo"), ({"daily_request_quota_per_user": 2}, "America/Los_Angeles")],
)
async def test_daily_limits_free_at_local_midnight(client, db, make_school, columns, tz):
    school = await make_school(time_zone=tz, **columns)
    retry_after = await limited_after(client, db, school, 2, "per_day")
    assert abs(retry_after - seconds_to_local_midnight(tz)) <= 5


async def test_daily_token_quota(client, db, make_school):
    tz = "Pacific/Auckland"
    school = await make_school(time_zone=tz, daily_token_quota_per_user=1000)
    assert (await ask(client, school, text="big [[tokens:600,300]] [[cache:50,50]]")).status_code == 200
    response = await ask(client, school)
    body = assert_problem(response, 429, "ai-rate-limited")
    assert body["limit"] == "daily_token_quota"
    assert abs(int(response.headers["Retry-After"]) - seconds_to_local_midnight(tz)) <= 5
    assert statuses(await logs(db, school.org_id)) == ["succeeded", "rate_limited"]
    # the quota is per person
    assert (await ask(client, school, "s2")).status_code == 200


async def test_daily_token_quota_below_the_quota_still_admits(client, db, make_school):
    school = await make_school(daily_token_quota_per_user=1000)
    assert (await ask(client, school, text="[[tokens:500,499]]")).status_code == 200
    assert (await ask(client, school, text="[[tokens:1,0]]")).status_code == 200  # 999 used before it
    assert_problem(await ask(client, school), 429, "ai-rate-limited")  # 1000 used


async def test_exhausted_budget_is_402_and_logged(client, db, make_school):
    school = await make_school(monthly_budget_usd=0)
    response = await ask(client, school)
    body = assert_problem(response, 402, "ai-budget-exhausted")
    assert body["limit"] == "monthly_budget"
    assert int(response.headers["Retry-After"]) >= 1
    rows = await logs(db, school.org_id)
    assert statuses(rows) == ["over_budget"]
    assert rows[0]["cost_usd"] == 0
    # the refused call holds no slot and no reservation
    assert await slots_used(db, school.org_id) == 0
    month = await month_row(db, school.org_id)
    assert (month["requests"], month["succeeded"], month["reserved_usd"], month["budget_usd"]) == (1, 0, 0, 0)


async def test_budget_covers_the_worst_case_only(client, db, make_school):
    """$0.01 covers a Haiku call of 200 output tokens (about $0.0012) but not one of 2,000 ($0.0102)."""
    school = await make_school(monthly_budget_usd=Decimal("0.01"))
    assert (await ask(client, school, text="[[tokens:1,1]]", model="claude-haiku")).status_code == 200
    assert_problem(await ask(client, school, model="claude-haiku", max_tokens=2000), 402, "ai-budget-exhausted")
    assert statuses(await logs(db, school.org_id)) == ["succeeded", "over_budget"]
    await assert_released(db, school.org_id)


async def test_the_reservation_is_the_calls_worst_case(app, db, make_school):
    """Every input token at the dearer of input and cache write, every output token it may make."""
    school = await make_school()
    gateway = app.state.gateway
    request = MessageRequest.model_validate(message("x" * 1000, model="claude-sonnet", max_tokens=200))
    call = await gateway.admit(user_identity(school.people["s"]), request, None)
    (reserved,) = await fetch(
        db, "select amount_usd from public.ai_budget_reservations where id = :r", r=call.reservation_id
    )
    payload = json.dumps(request.provider_params(), ensure_ascii=False).encode()
    assert len(payload) > 1000
    assert reserved["amount_usd"] == (len(payload) * Decimal("3.75") + 200 * Decimal("15")) / 1_000_000
    await gateway.settle(call, AiCallStatus.failed, Usage(), error="not sent")
    await assert_released(db, school.org_id)


async def test_unknown_model_is_422_and_not_logged(client, db, make_school):
    school = await make_school()
    assert_problem(await ask(client, school, model="gpt-9"), 422, "unknown-model")
    assert await logs(db, school.org_id) == []


async def test_disabled_service_is_unknown(client, db, make_school, ai_service):
    async with db.as_service() as session:
        await session.execute(text("update public.ai_services set enabled = false where id = :i"), {"i": ai_service.id})
    school = await make_school()
    assert_problem(await ask(client, school, model=ai_service.alias), 422, "unknown-model")
    assert await logs(db, school.org_id) == []


async def test_max_tokens_above_the_models_max_is_422_and_not_logged(client, db, make_school, ai_service):
    school = await make_school()
    body = assert_problem(await ask(client, school, model=ai_service.alias, max_tokens=1001), 422, "validation")
    assert "1000" in body["detail"]
    assert_problem(await ask(client, school, max_tokens=64001), 422, "validation")
    assert_problem(await ask(client, school, max_tokens=0), 422, "validation")
    assert await logs(db, school.org_id) == []
    assert (await ask(client, school, model=ai_service.alias, max_tokens=1000)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"feature": "homework_help", "max_tokens": 10, "messages": []},
        {"feature": "cheating", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
        {"feature": "homework_help", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]},
        {"feature": "homework_help", "max_tokens": 10, "messages": [{"role": "user", "content": ""}]},
        {"feature": "homework_help", "messages": [{"role": "user", "content": "x"}]},
        {
            "feature": "homework_help",
            "max_tokens": 10,
            "temperature": 2,
            "messages": [{"role": "user", "content": "x"}],
        },
        {
            "feature": "homework_help",
            "max_tokens": 10,
            "organization_id": "nope",
            "messages": [{"role": "user", "content": "x"}],
        },
    ],
)
async def test_malformed_requests_are_422(client, make_school, body):
    school = await make_school()
    assert_problem(await client.post("/ai/messages", json=body, headers=school.headers["s"]), 422, "validation")


async def test_organization_the_user_is_not_in_is_404(client, db, make_school):
    school, other = await make_school(), await make_school()
    assert_problem(await ask(client, school, organization_id=str(other.org_id)), 404, "not-found")
    assert_problem(await ask(client, school, organization_id=str(uuid.uuid4())), 404, "not-found")
    assert await logs(db, school.org_id) == [] and await logs(db, other.org_id) == []


async def test_user_in_two_organizations_must_say_which_pays(client, db, make_school):
    school, other = await make_school(), await make_school()
    async with db.as_service() as session:
        session.add(Membership(organization_id=other.org_id, user_id=school.people["s"], role=MembershipRole.student))
    assert_problem(await ask(client, school), 422, "organization-required")
    assert await logs(db, school.org_id) == [] and await logs(db, other.org_id) == []
    response = await ask(client, school, organization_id=str(other.org_id))
    assert response.status_code == 200, response.text
    assert response.json()["schoolbase"]["organization_id"] == str(other.org_id)
    assert await logs(db, school.org_id) == []
    assert [r["user_id"] for r in await logs(db, other.org_id)] == [school.people["s"]]


async def test_a_signed_out_session_or_disabled_account_calls_nothing(client, db, make_school):
    school = await make_school()
    assert (await ask(client, school)).status_code == 200
    assert (await client.post("/auth/logout", headers=school.headers["s"])).status_code == 204
    assert_problem(await ask(client, school), 401, "unauthorized")
    async with db.as_service() as session:
        await session.execute(text("update users set disabled_at = now() where id = :u"), {"u": school.people["t"]})
    assert_problem(await ask(client, school, "t", feature="grading_assistance"), 401, "unauthorized")
    assert statuses(await logs(db, school.org_id)) == ["succeeded"]


async def test_an_ended_membership_gives_no_ai(client, db, make_school):
    school, other = await make_school(), await make_school()
    async with db.as_service() as session:
        session.add(Membership(organization_id=other.org_id, user_id=school.people["s"], role=MembershipRole.student))
        await session.flush()
        await session.execute(
            text("update memberships set ended_at = now() where organization_id = :o and user_id = :u"),
            {"o": school.org_id, "u": school.people["s"]},
        )
    # The ended organization neither pays nor counts as one to choose between.
    assert_problem(await ask(client, school, organization_id=str(school.org_id)), 404, "not-found")
    response = await ask(client, school)
    assert response.status_code == 200, response.text
    assert response.json()["schoolbase"]["organization_id"] == str(other.org_id)
    assert await logs(db, school.org_id) == []


async def test_an_ended_role_is_not_one_the_feature_is_enabled_for(client, db, make_school):
    school = await make_school()
    async with db.as_service() as session:
        session.add(Membership(organization_id=school.org_id, user_id=school.people["p"], role=MembershipRole.teacher))
    assert (await ask(client, school, "p", feature="grading_assistance")).status_code == 200
    async with db.as_service() as session:
        await session.execute(
            text(
                "update memberships set ended_at = now() where organization_id = :o and user_id = :u and role = 'teacher'"
            ),
            {"o": school.org_id, "u": school.people["p"]},
        )
    assert_problem(await ask(client, school, "p", feature="grading_assistance"), 403, "ai-feature-disabled")


async def test_nul_characters_are_a_422_or_stored_as_replacement_characters(client, db, make_school):
    school = await make_school(store_prompts=True)
    assert_problem(await ask(client, school, model="claude\u0000haiku"), 422, "invalid-value")
    # The local upstream echoes the question: an answer carrying NUL is still billed and logged.
    response = await ask(client, school, text="a\u0000b")
    assert response.status_code == 200, response.text
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "succeeded" and "a\ufffdb" in row["response_text"]


async def test_anonymous_and_bad_token_are_401(client):
    assert_problem(await client.post("/ai/messages", json=message()), 401, "unauthorized")
    response = await client.post("/ai/messages", json=message(), headers={"Authorization": "Bearer not-a-token"})
    assert_problem(response, 401, "unauthorized")


# ---------------------------------------------------------------- upstream failures


@pytest.mark.parametrize(
    ("upstream_status", "status", "kind", "retry_after"),
    [
        (429, 503, "ai-provider-busy", "7"),  # the upstream's own Retry-After
        (529, 503, "ai-provider-busy", "30"),
        (500, 502, "ai-provider-error", None),
        (400, 422, "ai-request-rejected", None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_failure_is_mapped_logged_and_released(
    client, db, make_school, upstream_status, status, kind, retry_after, stream
):
    school = await make_school()
    response = await ask(client, school, text=f"fail [[status:{upstream_status}]]", stream=stream)
    if stream:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.text)
        assert [name for name, _ in events] == ["error", "schoolbase_receipt"]
        assert events[0][1]["error"]["type"] == kind
        assert str(upstream_status) in events[0][1]["error"]["message"]
    else:
        assert_problem(response, status, kind)
        assert response.headers.get("Retry-After") == retry_after
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "failed"
    assert f"answered {upstream_status}" in row["upstream_error"]
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (0, 0, 0)
    month = await month_row(db, school.org_id)
    assert (month["requests"], month["succeeded"]) == (1, 0)
    await assert_released(db, school.org_id)


@pytest.fixture
async def impatient_client(settings, urls, upstream):
    """A second app whose provider gives up after half a second."""
    application = create_app(settings.model_copy(update={"ai_timeout_seconds": 0.5}), urls)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_slow_upstream_is_504_logged_and_released(impatient_client, db, make_school, gate):
    school = await make_school()
    # The upstream answers only once released, so the 504 comes from the timeout; and within
    # 5 s, so it is this app's 0.5 s timeout, not the suite's 10 s.
    response = await asyncio.wait_for(ask(impatient_client, school, text=f"slow {gate.tag}"), timeout=5)
    assert_problem(response, 504, "ai-provider-timeout")
    assert gate.held == 1
    gate.release()
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "failed" and "in time" in row["upstream_error"]
    await assert_released(db, school.org_id)
    # a quick answer through the same app still works
    assert (await ask(impatient_client, school, text="quick")).status_code == 200


# ---------------------------------------------------------------- streaming


async def test_stream_passes_events_through_and_settles_usage(client, db, make_school):
    school = await make_school()
    response = await ask(
        client, school, "t", text="stream me [[tokens:4321,17]] [[cache:100,2000]]", stream=True, model="claude-sonnet"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-4:] == ["content_block_stop", "message_delta", "message_stop", "schoolbase_receipt"]
    assert set(names[2:-4]) == {"content_block_delta"}
    for name, data in events[:-1]:
        assert data["type"] == name
    start = events[0][1]["message"]["usage"]
    assert (start["input_tokens"], start["cache_creation_input_tokens"], start["cache_read_input_tokens"]) == (
        4321,
        100,
        2000,
    )
    assert events[-3][1]["usage"]["output_tokens"] == 17
    streamed = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert streamed.startswith("[local upstream] You asked: stream me")

    receipt = events[-1][1]
    (row,) = await logs(db, school.org_id)
    assert receipt["usage_log_id"] == str(row["id"])
    assert str(row["status"]) == "succeeded"
    assert (row["input_tokens"], row["output_tokens"], row["cache_write_tokens"], row["cache_read_tokens"]) == (
        4321,
        17,
        100,
        2000,
    )
    cost = expected_cost(SONNET, 4321, 17, 100, 2000)
    assert row["cost_usd"] == cost and Decimal(receipt["cost_usd"]) == cost
    await assert_released(db, school.org_id)


async def test_client_leaving_mid_stream_is_still_billed(app, db, make_school, gate):
    school = await make_school()
    gateway = app.state.gateway
    request = MessageRequest.model_validate(
        message(f"a long one {gate.tag} [[tokens:300,777]] " + "word " * 20, stream=True)
    )
    call = await gateway.admit(user_identity(school.people["s"]), request, "left-early")
    agen = gateway.stream(call)
    first = await agen.__anext__()
    second = await agen.__anext__()
    assert first.startswith(b"event: message_start") and second.startswith(b"event: content_block_start")
    await agen.aclose()
    await gate.wait_held(1)  # the upstream stands after two events
    pending = list(gateway._settling)
    assert pending, "the upstream is still being read"
    assert await logs(db, school.org_id) == []  # really mid-stream: nothing settled yet
    assert (await month_row(db, school.org_id))["reserved_usd"] > 0
    gate.release()
    await asyncio.wait_for(asyncio.gather(*pending), timeout=10)
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "succeeded" and row["request_id"] == "left-early"
    assert (row["input_tokens"], row["output_tokens"]) == (300, 777)
    assert row["cost_usd"] == expected_cost(HAIKU, 300, 777)
    await assert_released(db, school.org_id)


# ---------------------------------------------------------------- roll-ups


# The roll-ups' sums; each roll-up's key columns come first.
ROLLED_UP = (
    "requests",
    "succeeded",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_usd",
)


async def assert_rollup_matches_logs(db, org_id: uuid.UUID, rollup: str, keys: dict[str, str]) -> None:
    """``rollup``'s rows of the organization equal the sums of its usage logs grouped by ``keys``
    (column name -> expression over the logs ``l`` and their organization ``o``)."""
    group = ", ".join(str(n) for n in range(1, len(keys) + 1))
    from_logs = await fetch(
        db,
        f"""select {", ".join(f"{expr} as {name}" for name, expr in keys.items())}, count(*) as requests,
                  count(*) filter (where l.status = 'succeeded') as succeeded,
                  sum(l.input_tokens) as input_tokens, sum(l.output_tokens) as output_tokens,
                  sum(l.cache_write_tokens) as cache_write_tokens, sum(l.cache_read_tokens) as cache_read_tokens,
                  sum(l.cost_usd) as cost_usd
           from public.ai_usage_logs l join public.organizations o on o.id = l.organization_id
           where l.organization_id = :o group by {group} order by {group}""",
        o=org_id,
    )
    rolled = await fetch(
        db,
        f"select {', '.join((*keys, *ROLLED_UP))} from public.{rollup} where organization_id = :o order by {group}",
        o=org_id,
    )
    assert rolled == from_logs


async def assert_rollups_match_logs(db, org_id: uuid.UUID) -> None:
    local_day = "(l.created_at at time zone o.time_zone)::date"
    daily = {"user_id": "l.user_id", "day": local_day}
    await assert_rollup_matches_logs(db, org_id, "ai_daily_user_usage", daily)
    month = {"month": "date_trunc('month', l.created_at at time zone o.time_zone)::date"}
    await assert_rollup_matches_logs(db, org_id, "ai_monthly_org_usage", month)


async def test_rollups_equal_the_logs_and_follow_the_org_time_zone(client, db, make_school):
    tz = "Pacific/Kiritimati"  # UTC+14: its day differs from UTC's for ten hours of every day
    school = await make_school(time_zone=tz, rate_limit_per_minute=4)
    await away_from_minute_edge()
    for who, text_, extra in [
        ("s", "one [[tokens:100,10]] [[cache:5,7]]", {}),
        ("s", "two [[tokens:200,20]]", {"model": "claude-sonnet", "stream": True}),
        ("s", "three [[status:500]]", {}),
        ("s", "four [[tokens:1,1]]", {"feature": "grading_assistance"}),  # feature_disabled
        ("s", "five [[tokens:3,3]]", {}),
        ("s", "six", {}),  # rate limited (5th admitted call in the minute)
        ("t", "seven [[tokens:1000,1000]] [[cache:1000,1000]]", {"feature": "grading_assistance"}),
    ]:
        await ask(client, school, who, text=text_, **extra)
    rows = await logs(db, school.org_id)
    assert sorted(statuses(rows)) == sorted(
        ["succeeded", "succeeded", "failed", "feature_disabled", "succeeded", "rate_limited", "succeeded"]
    )
    await assert_rollups_match_logs(db, school.org_id)

    local_today = datetime.now(ZoneInfo(tz)).date()
    days = await fetch(
        db, "select distinct day from public.ai_daily_user_usage where organization_id = :o", o=school.org_id
    )
    db_today = (await fetch(db, "select (now() at time zone :tz)::date as d", tz=tz))[0]["d"]
    assert [d["day"] for d in days] == [db_today]
    assert db_today == local_today
    month = await month_row(db, school.org_id)
    assert month["month"] == local_today.replace(day=1)
    assert month["requests"] == 7 and month["succeeded"] == 4
    assert month["cost_usd"] == (
        expected_cost(HAIKU, 100, 10, 5, 7)
        + expected_cost(SONNET, 200, 20)
        + expected_cost(HAIKU, 3, 3)
        + expected_cost(HAIKU, 1000, 1000, 1000, 1000)
    )
    await assert_released(db, school.org_id)


# ---------------------------------------------------------------- stored prompts


async def test_prompts_are_not_stored_by_default(client, db, make_school):
    school = await make_school()
    assert (await ask(client, school, text="secret homework")).status_code == 200
    assert (await ask(client, school, text="secret stream", stream=True)).status_code == 200
    for row in await logs(db, school.org_id):
        assert row["prompt_text"] is None and row["response_text"] is None


async def test_prompts_are_stored_when_the_org_says_so(client, db, make_school):
    school = await make_school(store_prompts=True)
    response = await ask(client, school, text="what is 2+2?", system="be brief")
    assert response.status_code == 200
    streamed = await ask(client, school, text="and 3+3?", stream=True)
    rows = await logs(db, school.org_id)
    assert len(rows) == 2
    prompt = json.loads(rows[0]["prompt_text"])
    assert prompt["messages"] == [{"role": "user", "content": "what is 2+2?"}] and prompt["system"] == "be brief"
    assert rows[0]["response_text"] == response.json()["content"][0]["text"]
    assert "and 3+3?" in rows[1]["prompt_text"]
    streamed_text = "".join(d["delta"]["text"] for n, d in sse_events(streamed.text) if n == "content_block_delta")
    assert rows[1]["response_text"] == streamed_text and streamed_text


# ---------------------------------------------------------------- budget alerts


async def test_budget_thresholds_are_recorded_once_each(client, db, make_school):
    school = await make_school(monthly_budget_usd=1)
    url = f"/organizations/{school.org_id}/ai-alerts"

    async def thresholds() -> list[tuple[int, Decimal]]:
        response = await client.get(url, headers=school.headers["oa"])
        assert response.status_code == 200, response.text
        return sorted((a["threshold_percent"], Decimal(a["spent_usd"])) for a in response.json()["items"])

    assert (await ask(client, school, "t", text="[[tokens:400000,0]]")).status_code == 200  # $0.40
    assert await thresholds() == []
    assert (await ask(client, school, "t", text="[[tokens:200000,0]]")).status_code == 200  # $0.60
    assert await thresholds() == [(50, Decimal("0.6"))]
    assert (await ask(client, school, "t", text="[[tokens:10000,0]]")).status_code == 200  # $0.61
    assert (await ask(client, school, "t", text="[[tokens:240000,0]]")).status_code == 200  # $0.85
    assert await thresholds() == [(50, Decimal("0.6")), (80, Decimal("0.85"))]
    assert (await ask(client, school, "t", text="[[tokens:150000,0]]")).status_code == 200  # $1.00
    assert await thresholds() == [(50, Decimal("0.6")), (80, Decimal("0.85")), (100, Decimal("1"))]
    assert_problem(await ask(client, school, "t"), 402, "ai-budget-exhausted")
    alerts = (await client.get(url, headers=school.headers["oa"])).json()["items"]
    assert len(alerts) == 3
    assert {Decimal(a["budget_usd"]) for a in alerts} == {Decimal(1)}
    month = datetime.now(UTC).date().replace(day=1).isoformat()
    assert {a["month"] for a in alerts} == {month}
    # only org admins see them
    for who in ("t", "s", "p"):
        response = await client.get(url, headers=school.headers[who])
        assert response.status_code == 200 and response.json()["items"] == []


async def test_no_alerts_without_a_budget(client, db, make_school):
    school = await make_school(monthly_budget_usd=None)
    assert (await ask(client, school, "t", text="[[tokens:100000000,0]]")).status_code == 200  # $100
    assert (await client.get(f"/organizations/{school.org_id}/ai-alerts", headers=school.headers["oa"])).json()[
        "items"
    ] == []
    assert (await month_row(db, school.org_id))["budget_usd"] is None


# ---------------------------------------------------------------- stale reservations


async def hold_stale(db, org_id: uuid.UUID, amount: Decimal, budget: Decimal) -> None:
    """What a crash between reserve and settle leaves behind."""
    async with db.as_service() as session:
        params = {"org": org_id, "amount": amount, "budget": budget}
        month = await session.scalar(
            text("""select date_trunc('month', now() at time zone time_zone)::date
                    from public.organizations where id = :org"""),
            params,
        )
        params["month"] = month
        await session.execute(
            text("""insert into public.ai_monthly_org_usage (organization_id, month, budget_usd, reserved_usd)
                    values (:org, :month, :budget, :amount)
                    on conflict (organization_id, month) do update set reserved_usd = excluded.reserved_usd"""),
            params,
        )
        await session.execute(
            text("""insert into public.ai_budget_reservations (organization_id, month, amount_usd, expires_at)
                    values (:org, :month, :amount, now() - interval '1 minute')"""),
            params,
        )


async def test_a_new_call_releases_stale_reservations(client, db, make_school):
    school = await make_school(monthly_budget_usd=1)
    await hold_stale(db, school.org_id, Decimal("0.9999"), Decimal(1))
    # without the expiry the budget could not cover this call's worst case
    response = await ask(client, school, text="[[tokens:10,10]]")
    assert response.status_code == 200, response.text
    await assert_released(db, school.org_id)


async def test_a_live_reservation_is_not_released(client, db, make_school):
    school = await make_school(monthly_budget_usd=1)
    await hold_stale(db, school.org_id, Decimal("0.9999"), Decimal(1))
    async with db.as_service() as session:
        await session.execute(
            text(
                "update public.ai_budget_reservations set expires_at = now() + interval '1 hour' "
                "where organization_id = :o"
            ),
            {"o": school.org_id},
        )
    assert_problem(await ask(client, school), 402, "ai-budget-exhausted")
    assert (await month_row(db, school.org_id))["reserved_usd"] == Decimal("0.9999")


async def test_maintenance_releases_stale_reservations(db, make_school):
    school = await make_school(monthly_budget_usd=5)
    await hold_stale(db, school.org_id, Decimal("1.5"), Decimal(5))
    async with db.as_service() as session:
        report = await maintain(session, months_ahead=1)
    assert report.reservations_expired >= 1
    await assert_released(db, school.org_id)


async def test_slow_stream_is_a_failed_call_with_an_error_event(impatient_client, db, make_school, gate):
    """The upstream stalls mid-stream (between events) longer than the read timeout."""
    school = await make_school()
    response = await asyncio.wait_for(ask(impatient_client, school, text=f"x {gate.tag}", stream=True), timeout=5)
    assert response.status_code == 200
    assert gate.held == 1
    gate.release()
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "error", "schoolbase_receipt"], names
    assert events[-2][1]["error"]["type"] == "ai-provider-timeout"
    (row,) = await logs(db, school.org_id)
    assert str(row["status"]) == "failed" and row["upstream_error"]
    await assert_released(db, school.org_id)
