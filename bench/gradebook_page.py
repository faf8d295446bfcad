"""The gradebook page vs the gradebook API call for the same class, in the same run.

    .venv/bin/python bench/gradebook_page.py [--repeat 300] [--warmup 30] [--parts]

Generates, in a scratch database on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL,
the target class of bench/district.py (its ``generate``, with no other classes): 30
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
collector paused during it); prints p50/p99 of each and the ratio page/API. --parts
also times, in one transaction as the teacher and outside HTTP, what each answer is made
of: the service both share (``web.gradebook.views.staff_gradebook``: the gradebook and the
rubric columns), the API's JSON (``model_dump_json`` of the service's answer), and the
page's own work: its cells (``page_view``) and its template.
"""

import argparse
import asyncio
import gc
import statistics
import time
import uuid
from types import SimpleNamespace

import httpx
from district import TARGET_ASSIGNMENTS, TARGET_STUDENTS, generate, scratch_database  # bench/district.py

from schoolbase.app import create_app
from schoolbase.auth.service import Client, start_session
from schoolbase.config import Settings
from schoolbase.db.rls import user_identity
from schoolbase.db.urls import database_urls
from schoolbase.models import User
from schoolbase.observability import configure_logging
from schoolbase.web.cookies import SESSION_COOKIE
from schoolbase.web.gradebook import views
from schoolbase.web.templating import templates

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
        parts = await measure_parts(app.state.db, target, teacher, args) if args.parts else None
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
    if parts:
        print("\nparts, p50 ms (outside HTTP, one transaction as the teacher):")
        for name, values in parts.items():
            print(f"  {name:34} {pct(values, 50):8.2f}")


async def measure_parts(db, target: uuid.UUID, teacher: uuid.UUID, args) -> dict[str, list[float]]:
    """What the two answers are made of, timed apart."""
    template = templates.get_template("gradebook/gradebook.html")
    # What the base template reads of a page, for a teacher with no other organizations.
    page = SimpleNamespace(
        me=None,
        notice=None,
        time_zone="UTC",
        nav=[],
        csrf_token="x",
        request=SimpleNamespace(url=SimpleNamespace(path="/")),
    )
    parts: dict[str, list[float]] = {
        "service (gradebook, rubric columns)": [],
        "API: JSON of the service's answer": [],
        "page: cells (page_view)": [],
        "page: template": [],
    }
    for i in range(args.warmup + args.repeat):
        async with db.as_user(user_identity(teacher)) as session:
            gc.collect()
            gc.disable()
            try:
                marks = [time.perf_counter()]
                staff = await views.staff_gradebook(session, target)
                marks.append(time.perf_counter())
                staff.book.model_dump_json()
                marks.append(time.perf_counter())
                book = views.page_view(staff, "UTC")
                marks.append(time.perf_counter())
                template.render(page=page, book=book, saved="", new_state="final")
                marks.append(time.perf_counter())
            finally:
                gc.enable()
        if i >= args.warmup:
            for values, start, end in zip(parts.values(), marks, marks[1:], strict=False):
                values.append((end - start) * 1000)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--parts", action="store_true", help="also time the parts of each answer apart")
    args = parser.parse_args()
    with scratch_database() as owner_url:
        # Only the target class: no other classes (so no other students or assignments).
        district = generate(owner_url, TARGET_STUDENTS, classes=0, assignments=0)
        asyncio.run(measure(owner_url, district.target, district.teacher, args))


if __name__ == "__main__":
    main()
