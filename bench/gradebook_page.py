"""The gradebook page vs the gradebook API call for the same class, in the same run.

    .venv/bin/python bench/gradebook_page.py [--repeat 300] [--warmup 30] [--profile]

Generates, in a scratch database on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL,
the target class of bench/gradebook.py (its ``generate``, with no other classes): 30
students x 40 published assignments in three weighted categories, most work graded and
posted, some ungraded, missing or excused. Then, in one process, the app itself
(``create_app``, its lifespan, its database pool) answers through an in-process ASGI
client, alternately, as the class's teacher:

- page: ``GET /teach/classes/{id}/gradebook`` with the teacher's session cookie (the
  signed-in page: the person and their organizations, the staff check, the gradebook, the
  rubric columns, and the HTML of 1,200 cells);
- API: ``GET /classes/{id}/gradebook`` with the same session's bearer token (the
  gradebook as JSON).

Each request is timed from sending it to having the whole body (Python's garbage
collector paused during it); prints p50/p99 of each and the ratio page/API. --profile
also prints the top functions of the page requests (cProfile, cumulative time).
"""

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from gradebook import TARGET_ASSIGNMENTS, TARGET_STUDENTS, generate  # bench/gradebook.py

from schoolbase.app import create_app
from schoolbase.auth.service import Client, start_session
from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.urls import database_urls
from schoolbase.models import User
from schoolbase.observability import configure_logging
from schoolbase.web.cookies import SESSION_COOKIE

PAGE, API = "page", "API"


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def timed(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[float, httpx.Response]:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        response = await http.get(url, headers=headers)
        return (time.perf_counter() - started) * 1000, response
    finally:
        gc.enable()


async def measure(owner_url: str, target: uuid.UUID, teacher: uuid.UUID, args) -> None:
    configure_logging("WARNING")  # no request log lines on the terminal (both paths log alike)
    settings = Settings(jobs_worker=False)
    app = create_app(settings, database_urls(owner_url, settings))
    async with app.router.lifespan_context(app):
        async with app.state.db.as_service() as session:
            user = await session.get(User, teacher)
            tokens = await start_session(session, settings, user, Client("127.0.0.1", "bench"))
        requests = {
            PAGE: (f"/teach/classes/{target}/gradebook", {"cookie": f"{SESSION_COOKIE}={tokens.access_token}"}),
            API: (f"/classes/{target}/gradebook", {"authorization": f"Bearer {tokens.access_token}"}),
        }
        times: dict[str, list[float]] = {PAGE: [], API: []}
        sizes: dict[str, int] = {}
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for name, (url, headers) in requests.items():
                _, response = await timed(http, url, headers)
                assert response.status_code == 200, (name, response.status_code, response.text[:500])
                sizes[name] = len(response.content)
            book = (await timed(http, *requests[API]))[1].json()
            assert len(book["students"]) == TARGET_STUDENTS and len(book["assignments"]) == TARGET_ASSIGNMENTS
            page = (await timed(http, *requests[PAGE]))[1].text
            assert page.count('<td class="number course"') == TARGET_STUDENTS, "the page shows every student"
            for i in range(args.warmup + args.repeat):
                for name in (PAGE, API) if i % 2 else (API, PAGE):
                    elapsed, response = await timed(http, *requests[name])
                    assert response.status_code == 200
                    if i >= args.warmup:
                        times[name].append(elapsed)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(50):
                    await http.get(requests[PAGE][0], headers=requests[PAGE][1])
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(
        f"\ngradebook of {TARGET_STUDENTS} students x {TARGET_ASSIGNMENTS} assignments, as its teacher; "
        f"{args.repeat} requests each, alternating, after {args.warmup} warm-up rounds"
    )
    print(f"{'':6} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}")
    for name, values in times.items():
        print(f"{name:6} {pct(values, 50):8.2f} {pct(values, 99):8.2f} {sizes[name]:9,}")
    ratio = pct(times[PAGE], 50) / pct(times[API], 50)
    print(f"ratio page/API: p50 {ratio:.2f}x, p99 {pct(times[PAGE], 99) / pct(times[API], 99):.2f}x")
    print(f"\ntarget (page p50 within 1.5x of the API's): {'met' if ratio <= 1.5 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="also profile 50 page requests")
    args = parser.parse_args()
    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with migrate.scratch_database(server_url) as owner_url:
        migrate.upgrade(owner_url)
        # Only the target class: no other classes (so no other students or assignments).
        generation = argparse.Namespace(students=TARGET_STUDENTS, classes=0, assignments=0, verbose=False)
        target, teacher = generate(owner_url, generation)
        asyncio.run(measure(owner_url, target, teacher, args))


if __name__ == "__main__":
    main()
