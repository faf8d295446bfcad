"""What the AI gateway adds to a call: the same load sent straight to the upstream and
through the gateway, in the same run.

    .venv/bin/python bench/ai_gateway.py [--calls 2000] [--concurrency 32]

Starts the local Messages API server and a Schoolbase server as separate processes,
on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL, creates one school whose limits
and budget do not get in the way, then times each call from the client's side.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from schoolbase.ai.providers.local_upstream import free_port
from schoolbase.auth.service import Client, start_session
from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.engine import Database
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.models import AiOrganizationSettings, Membership, MembershipRole, Organization
from schoolbase.tenancy.people import create_person

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PROMPT = "Explain photosynthesis to a ninth grader."


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(proc.stderr.read().decode())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def make_school(urls: DatabaseUrls) -> str:
    """A school with one student whose AI limits never bind; returns the student's access token."""
    db = Database(urls, pool_size=1, max_overflow=0)
    tag = uuid.uuid4().hex[:8]
    async with db.as_service() as session:
        org = Organization(name=f"Bench {tag}", slug=f"bench-{tag}")
        session.add(org)
        await session.flush()
        user = await create_person(session, f"bench-{tag}@example.org", "Bench", "unused")
        session.add(Membership(organization_id=org.id, user_id=user.id, role=MembershipRole.student))
        await session.flush()
        await session.execute(
            AiOrganizationSettings.__table__.update()
            .where(AiOrganizationSettings.organization_id == org.id)
            .values(
                rate_limit_per_minute=10**6,
                rate_limit_per_hour=10**7,
                rate_limit_per_day=10**8,
                monthly_budget_usd=None,
            )
        )
        pair = await start_session(
            session, Settings(jwt_secret=SECRET, access_token_minutes=120), user, Client("127.0.0.1", "bench")
        )
    await db.dispose()
    return pair.access_token


async def run_load(send, calls: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await send()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"call failed: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, calls / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)


async def measure(upstream: str, server: str, token: str, calls: int, concurrency: int) -> None:
    direct_body = {"model": "claude-haiku-4-5", "max_tokens": 200, "messages": [{"role": "user", "content": PROMPT}]}
    gateway_body = {
        "feature": "homework_help",
        "model": "claude-haiku",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        def direct():
            headers = {"x-api-key": "bench", "anthropic-version": "2023-06-01"}
            return http.post(f"{upstream}/v1/messages", json=direct_body, headers=headers)

        def gateway():
            return http.post(f"{server}/ai/messages", json=gateway_body, headers={"Authorization": f"Bearer {token}"})

        await run_load(direct, 200, concurrency)  # warm up both paths
        await run_load(gateway, 200, concurrency)
        direct_lat, direct_rate = await run_load(direct, calls, concurrency)
        gateway_lat, gateway_rate = await run_load(gateway, calls, concurrency)
    print(f"calls {calls}, concurrency {concurrency}")
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>9}")
    print(f"{'direct':10} {pct(direct_lat, 50):8.2f} {pct(direct_lat, 99):8.2f} {direct_rate:9.1f}")
    print(f"{'gateway':10} {pct(gateway_lat, 50):8.2f} {pct(gateway_lat, 99):8.2f} {gateway_rate:9.1f}")
    print(
        f"added latency: p50 {pct(gateway_lat, 50) - pct(direct_lat, 50):.2f} ms, "
        f"p99 {pct(gateway_lat, 99) - pct(direct_lat, 99):.2f} ms"
    )
    print(
        f"ratio gateway/direct: p50 latency {pct(gateway_lat, 50) / pct(direct_lat, 50):.2f}x, "
        f"throughput {gateway_rate / direct_rate:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with migrate.scratch_database(server_url) as owner_url:
        migrate.upgrade(owner_url)
        token = asyncio.run(make_school(database_urls(owner_url, Settings())))
        up_port, app_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLBASE_")}
        env.update(
            SCHOOLBASE_DATABASE_URL=owner_url,
            SCHOOLBASE_JWT_SECRET=SECRET,
            SCHOOLBASE_AI_PROVIDER="anthropic",
            SCHOOLBASE_ANTHROPIC_API_KEY="bench",
            SCHOOLBASE_ANTHROPIC_BASE_URL=f"http://127.0.0.1:{up_port}",
            SCHOOLBASE_AI_MAX_RETRIES="0",
            SCHOOLBASE_LOG_LEVEL="WARNING",
            SCHOOLBASE_POOL_SIZE=str(args.concurrency),
            SCHOOLBASE_POOL_MAX_OVERFLOW="0",
        )
        upstream = start(["-m", "schoolbase.ai.providers.local_upstream", "--port", str(up_port)], env)
        server = start(["-c", "from schoolbase.cli import app; app()", "serve", "--port", str(app_port)], env)
        try:
            wait_until_up(f"http://127.0.0.1:{up_port}/", upstream)
            wait_until_up(f"http://127.0.0.1:{app_port}/healthz", server)
            asyncio.run(
                measure(
                    f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{app_port}", token, args.calls, args.concurrency
                )
            )
        finally:
            for proc in (server, upstream):
                proc.terminate()
                proc.wait(timeout=20)


if __name__ == "__main__":
    main()
