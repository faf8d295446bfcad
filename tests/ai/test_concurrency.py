"""Limits and budgets hold under concurrency, across server processes, and the roll-ups
always equal the logs. These run in the normal suite."""

import asyncio
import json
import os
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from schoolbase.ai.pricing import input_token_bound
from schoolbase.ai.schemas import MessageRequest
from tests.ai.support import away_from_minute_edge, message
from tests.conftest import eventually

ROLLUP_MISMATCHES = text(
    """
    with logs as (
      select l.organization_id, l.user_id, (l.created_at at time zone o.time_zone)::date as day,
             date_trunc('month', l.created_at at time zone o.time_zone)::date as month, l.status,
             l.input_tokens, l.output_tokens, l.cache_write_tokens, l.cache_read_tokens, l.cost_usd
      from ai_usage_logs l join organizations o on o.id = l.organization_id
      where l.organization_id = :org
    ), daily as (
      select organization_id, user_id, day, count(*) as requests, count(*) filter (where status = 'succeeded') as ok,
             sum(input_tokens) i, sum(output_tokens) o, sum(cache_write_tokens) w, sum(cache_read_tokens) r,
             sum(cost_usd) cost
      from logs group by 1, 2, 3
    ), monthly as (
      select organization_id, month, count(*) as requests, count(*) filter (where status = 'succeeded') as ok,
             sum(input_tokens) i, sum(output_tokens) o, sum(cache_write_tokens) w, sum(cache_read_tokens) r,
             sum(cost_usd) cost
      from logs group by 1, 2
    )
    select 'daily' from daily d full join ai_daily_user_usage u
      on u.organization_id = d.organization_id and u.user_id = d.user_id and u.day = d.day
    where (u.organization_id = :org or d.organization_id = :org)
      and (d.requests, d.ok, d.i, d.o, d.w, d.r, d.cost)
          is distinct from (u.requests, u.succeeded, u.input_tokens, u.output_tokens, u.cache_write_tokens,
                            u.cache_read_tokens, u.cost_usd)
    union all
    select 'monthly' from monthly m full join ai_monthly_org_usage u
      on u.organization_id = m.organization_id and u.month = m.month
    where (u.organization_id = :org or m.organization_id = :org)
      and (m.requests, m.ok, m.i, m.o, m.w, m.r, m.cost)
          is distinct from (u.requests, u.succeeded, u.input_tokens, u.output_tokens, u.cache_write_tokens,
                            u.cache_read_tokens, u.cost_usd)
    """
)


async def assert_rollups_match_logs(db, org_id) -> None:
    async with db.as_service() as session:
        assert (await session.scalars(ROLLUP_MISMATCHES, {"org": org_id})).all() == []
        left = await session.scalar(
            text("select coalesce(sum(reserved_usd), 0) from ai_monthly_org_usage where organization_id = :org"),
            {"org": org_id},
        )
        assert left == 0, "every reservation is released once its call is settled"


async def statuses_in_logs(db, org_id) -> dict[str, int]:
    async with db.as_service() as session:
        rows = await session.execute(
            text("select status::text, count(*) from ai_usage_logs where organization_id = :org group by 1"),
            {"org": org_id},
        )
        return dict(rows.all())


async def test_200_concurrent_calls_against_60_per_minute_admit_exactly_60(client, db, make_school):
    school = await make_school()
    await away_from_minute_edge(needed_seconds=15)
    body = message("quick [[tokens:20,10]]")
    responses = await asyncio.gather(
        *(client.post("/ai/messages", json=body, headers=school.headers["s"]) for _ in range(200))
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 60 and codes.count(429) == 140, sorted(set(codes))
    assert all(r.headers["Retry-After"].isdigit() for r in responses if r.status_code == 429)
    assert await statuses_in_logs(db, school.org_id) == {"succeeded": 60, "rate_limited": 140}
    await assert_rollups_match_logs(db, school.org_id)


@pytest.fixture
def two_servers(urls, settings, upstream):
    """Two real server processes on the suite's database, sharing nothing but PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLBASE_")}
    env.update(
        SCHOOLBASE_DATABASE_URL=urls.owner,
        SCHOOLBASE_JWT_SECRET=settings.jwt_secret.get_secret_value(),
        SCHOOLBASE_AI_PROVIDER="anthropic",
        SCHOOLBASE_ANTHROPIC_API_KEY="test-key",
        SCHOOLBASE_ANTHROPIC_BASE_URL=upstream[0],
        SCHOOLBASE_AI_MAX_RETRIES="0",
        SCHOOLBASE_LOG_LEVEL="WARNING",
    )
    from schoolbase.ai.providers.local_upstream import free_port

    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from schoolbase.cli import app; app()", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 60
        for proc, port in zip(procs, ports, strict=True):
            while True:
                assert proc.poll() is None, proc.stderr.read()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_two_server_processes_share_the_rate_limit(two_servers, db, make_school):
    school, second = await make_school(rate_limit_per_minute=20), await make_school(rate_limit_per_minute=20)
    await away_from_minute_edge(needed_seconds=15)
    body = message("shared [[tokens:20,10]]")

    async def burst(headers, calls: int) -> list[int]:
        posts = (http.post(f"{two_servers[i % 2]}/ai/messages", json=body, headers=headers) for i in range(calls))
        return [r.status_code for r in await asyncio.gather(*posts)]

    async with httpx.AsyncClient(timeout=60) as http:
        # 80 at once, alternating between the processes: exactly 20 admitted in all.
        codes = await burst(school.headers["t"], 80)
        # Each process admits 10 (under the limit on its own), and then neither admits one more.
        first_twenty = await burst(second.headers["t"], 20)
        after = await burst(second.headers["t"], 4)
    assert codes.count(200) == 20 and codes.count(429) == 60, codes
    assert first_twenty == [200] * 20 and after == [429] * 4, (first_twenty, after)
    await assert_rollups_match_logs(db, school.org_id)
    await assert_rollups_match_logs(db, second.org_id)


async def test_100_concurrent_calls_never_overspend_a_budget_that_covers_10(client, db, make_school, gate):
    # Every call may cost up to its worst case (64,000 output tokens at Sonnet's price);
    # the upstream holds the admitted calls until all 100 are admitted or refused (a
    # settled call frees budget, after which an eleventh call would rightly fit).
    body = message(f"slow {gate.tag} [[tokens:100,100]]", model="claude-sonnet", max_tokens=64000)
    async with db.as_service() as session:
        rates = (
            await session.execute(
                text(
                    "select input_usd_per_mtok, output_usd_per_mtok, cache_write_usd_per_mtok, cache_read_usd_per_mtok "
                    "from ai_service_prices p join ai_services s on s.id = p.service_id "
                    "where s.alias = 'claude-sonnet' and p.effective_from <= now() "
                    "order by p.effective_from desc limit 1"
                )
            )
        ).one()
    input_rate, output_rate, cache_write_rate, _ = rates
    payload = json.dumps(MessageRequest(**body).provider_params(), ensure_ascii=False).encode()
    worst = (input_token_bound(len(payload)) * max(input_rate, cache_write_rate) + 64000 * output_rate) / 1_000_000
    budget = (worst * Decimal("10.5")).quantize(Decimal("0.01"))
    school = await make_school(monthly_budget_usd=budget)

    over_budget: list[Decimal] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            async with db.as_service() as session:
                row = (
                    await session.execute(
                        text("select cost_usd + reserved_usd from ai_monthly_org_usage where organization_id = :org"),
                        {"org": school.org_id},
                    )
                ).scalar()
            if row is not None and row > budget:
                over_budget.append(row)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    calls = [
        asyncio.create_task(client.post("/ai/messages", json=body, headers=school.headers["t"])) for _ in range(100)
    ]
    await eventually(lambda: gate.held + sum(call.done() for call in calls) == 100, "every call admitted or refused")
    assert gate.held == 10, "no call settled before all were decided"
    gate.release()
    responses = await asyncio.gather(*calls)
    done.set()
    await watcher
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 10 and codes.count(402) == 90, sorted(set(codes))
    assert over_budget == [], "spent + reserved never passed the budget"
    assert await statuses_in_logs(db, school.org_id) == {"succeeded": 10, "over_budget": 90}
    await assert_rollups_match_logs(db, school.org_id)
