"""What the AI gateway adds to a call, beside the upstream itself and, with --vs-litellm, beside
LiteLLM's proxy in front of the same upstream: one run, the same request, wrk as the load.

    .venv/bin/python bench/ai_gateway.py [--duration 10] [--rounds 1] [--warmup 3] [--connections 32]
                                         [--workers 1] [--pool-size N] [--vs-litellm]

Starts the local Messages API server and a Schoolbase server (`schoolbase serve --workers N`)
as separate processes, on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL (a scratch database
either way), with one school whose limits and budget never bind. With --vs-litellm it also
installs LiteLLM's proxy into its own virtual environment under ~/.cache (once) and starts it,
one worker, from a config file only: no database. Each target gets a warm-up; then the targets
take turns, round after round: wrk at one connection (latency) and at --connections (calls/s).
Any answer but 200 ends the run.
"""

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, fields
from pathlib import Path

from serving import SECRET, Processes, start_upstream_and_server  # bench/serving.py

from schoolbase.ai.providers.local_upstream import free_port
from schoolbase.auth.service import Client, start_session
from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.engine import Database
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.models import AiOrganizationSettings, Membership, MembershipRole, Organization
from schoolbase.tenancy.people import create_person

LITELLM_VERSION = "1.108.7"
LITELLM_KEY = "sk-bench-litellm"
PROMPT = "Explain photosynthesis to a ninth grader."
MESSAGES_BODY = {"model": "claude-haiku-4-5", "max_tokens": 200, "messages": [{"role": "user", "content": PROMPT}]}
WRK_SCRIPT = Path(__file__).with_name("wrk_post.lua")
RESULT = re.compile(r"^RESULT (.*)$", re.MULTILINE)


@dataclass
class Target:
    name: str
    url: str
    body: dict
    headers: list[str]


@dataclass
class Run:
    calls_per_s: float
    p50_ms: float
    p99_ms: float


def seconds(text: str) -> int:
    return int(text.removesuffix("s"))


def wrk(target: Target, connections: int, duration: int, workdir: Path, *, warmup: bool = False) -> Run | None:
    """One wrk run (a single thread: it is far from being the bottleneck) that fails on any answer but 200.

    A warm-up may end before any call does (a proxy's first calls can be slow); it counts nothing.
    """
    body = workdir / f"{target.name}.json"
    body.write_text(json.dumps(target.body))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s", str(WRK_SCRIPT)]
    done = subprocess.run(
        [*command, target.url, "--", str(body), *target.headers],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    found = RESULT.search(done.stdout)
    if done.returncode or not found:
        raise SystemExit(f"wrk failed on {target.name}:\n{done.stdout}{done.stderr}")
    values = dict(pair.split("=") for pair in found.group(1).split())
    if values["non200"] != "0" or values["socket_errors"] != "0":
        raise SystemExit(f"{target.name} at {connections} connections: not every call answered 200\n{done.stdout}")
    if warmup:
        return None
    if values["requests"] == "0":
        raise SystemExit(f"{target.name} at {connections} connections: no call finished in {duration} s")
    return Run(
        calls_per_s=int(values["requests"]) / (int(values["duration_us"]) / 1e6),
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
    )


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


def litellm_executable() -> Path:
    """LiteLLM's CLI in its own virtual environment outside the repository, installed on first use."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "schoolbase-bench" / f"litellm-{LITELLM_VERSION}"
    executable = home / "bin" / "litellm"
    if not executable.exists():
        print(f"installing LiteLLM {LITELLM_VERSION} into {home} …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
        subprocess.run([home / "bin" / "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"], check=True)
    return executable


def litellm_config(upstream: str) -> str:
    """The model the request names, routed to the Anthropic provider at the local upstream.

    A master key makes LiteLLM check a key as Schoolbase checks its token; with no database
    configured it is compared in memory. No retries, as Schoolbase is configured here.
    """
    return f"""model_list:
  - model_name: {MESSAGES_BODY["model"]}
    litellm_params:
      model: anthropic/{MESSAGES_BODY["model"]}
      api_base: {upstream}
      api_key: bench
litellm_settings:
  num_retries: 0
general_settings:
  master_key: {LITELLM_KEY}
"""


def start_litellm(processes: Processes, upstream: str, workdir: Path) -> Target:
    executable = litellm_executable()
    config = workdir / "litellm.yaml"
    config.write_text(litellm_config(upstream))
    port = free_port()
    # No DATABASE_URL reaches it (LiteLLM would use one), and the model price map is its bundled
    # copy rather than one fetched at start.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("SCHOOLBASE_")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    command = [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    proc = processes.start("litellm", [*command, "--num_workers", "1"], env)
    processes.wait_until_up(f"http://127.0.0.1:{port}/health/liveliness", proc)
    return Target(
        "litellm", f"http://127.0.0.1:{port}/v1/messages", MESSAGES_BODY, [f"Authorization: Bearer {LITELLM_KEY}"]
    )


def median_run(runs: list[Run]) -> Run:
    """Each figure's median over the rounds (figures of different rounds may mix)."""
    return Run(*(statistics.median(getattr(run, field.name) for run in runs) for field in fields(Run)))


def measure(targets: list[Target], args: argparse.Namespace, workdir: Path) -> dict[str, tuple[Run, Run]]:
    """The targets take turns round after round, so that a burst of load from elsewhere on the
    machine falls on all of them alike rather than on whichever was running."""
    for target in targets:
        wrk(target, args.connections, args.warmup, workdir, warmup=True)
    runs: dict[str, list[tuple[Run, Run]]] = {target.name: [] for target in targets}
    for _ in range(args.rounds):
        for target in targets:
            one = wrk(target, 1, args.duration, workdir)
            runs[target.name].append((one, wrk(target, args.connections, args.duration, workdir)))
    return {name: (median_run([r[0] for r in done]), median_run([r[1] for r in done])) for name, done in runs.items()}


def report(results: dict[str, tuple[Run, Run]], args: argparse.Namespace) -> None:
    direct = results["direct"][0].p50_ms
    peer = f", LiteLLM {LITELLM_VERSION} 1 worker" if "litellm" in results else ""
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"wrk, 1 thread; each run {args.duration} s after a {args.warmup} s warm-up{rounds}; ", end="")
    print(f"Schoolbase {args.workers} worker(s){peer}")
    wide = f"{args.connections} connections"
    print(f"{'':12}{'1 connection':-^38}  {wide:-^34}")
    print(f"{'':12}{'p50 ms':>10}{'p99 ms':>10}{'added p50 ms':>14}  {'calls/s':>10}{'p50 ms':>12}{'p99 ms':>12}")
    for name, (one, many) in results.items():
        added = f"{one.p50_ms - direct:14.2f}" if name != "direct" else f"{'':14}"
        print(f"{name:12}{one.p50_ms:10.2f}{one.p99_ms:10.2f}{added}  ", end="")
        print(f"{many.calls_per_s:10.1f}{many.p50_ms:12.2f}{many.p99_ms:12.2f}")
    ours = results["schoolbase"]
    print(
        f"ratio Schoolbase/direct: p50 at 1 connection {ours[0].p50_ms / direct:.2f}x, "
        f"calls/s at {args.connections} {ours[1].calls_per_s / results['direct'][1].calls_per_s:.3f}x"
    )
    if "litellm" in results:
        peer_one, peer_many = results["litellm"]
        print(
            f"ratio Schoolbase/LiteLLM: added p50 at 1 connection "
            f"{(ours[0].p50_ms - direct) / (peer_one.p50_ms - direct):.2f}x (target <= 0.33), "
            f"calls/s at {args.connections} connections {ours[1].calls_per_s / peer_many.calls_per_s:.2f}x "
            "(target >= 5)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=seconds, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of runs per target; medians are printed")
    parser.add_argument("--warmup", type=seconds, default=3, help="seconds of load before each target's runs")
    parser.add_argument("--connections", type=int, default=32, help="connections for the calls/s run")
    parser.add_argument("--workers", type=int, default=1, help="Schoolbase server processes")
    parser.add_argument(
        "--pool-size",
        type=int,
        help="database pool size per Schoolbase worker; by default the connections shared among the workers, "
        "so that the total stays what one worker would have (the PostgreSQL server may be shared)",
    )
    parser.add_argument("--vs-litellm", action="store_true", help=f"also measure LiteLLM {LITELLM_VERSION}'s proxy")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with (
        migrate.scratch_database(server_url) as owner_url,
        tempfile.TemporaryDirectory(prefix="ai-gateway-bench-") as tmp,
        Processes(Path(tmp)) as processes,
    ):
        workdir = Path(tmp)
        migrate.upgrade(owner_url)
        token = asyncio.run(make_school(database_urls(owner_url, Settings())))
        upstream, server = start_upstream_and_server(
            processes,
            owner_url,
            workers=args.workers,
            pool_size=args.pool_size or math.ceil(args.connections / args.workers),
        )
        targets = [
            Target(
                "direct",
                f"{upstream}/v1/messages",
                MESSAGES_BODY,
                ["x-api-key: bench", "anthropic-version: 2023-06-01"],
            ),
            Target(
                "schoolbase",
                f"{server}/ai/messages",
                {**MESSAGES_BODY, "feature": "homework_help", "model": "claude-haiku"},
                [f"Authorization: Bearer {token}"],
            ),
        ]
        if args.vs_litellm:
            targets.append(start_litellm(processes, upstream, workdir))
        report(measure(targets, args, workdir), args)


if __name__ == "__main__":
    main()
