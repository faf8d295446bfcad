"""The gradebook of one class through row-level security (as its teacher) vs as service_role, in the same run.

    .venv/bin/python bench/gradebook.py [--students 100000] [--classes 10000] [--repeat 300] [--explain] [--verbose]

Generates one district (bench/district.py) in a scratch database on
SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL, server-side (INSERT ... SELECT
generate_series): --students students, --classes classes of 30 students each, three
weighted categories and --assignments published assignments per class, every
assignment graded for every student of the class; plus the target class: 30 students
x 40 published assignments, most graded and posted, some ungraded, missing or
excused. Then ANALYZE, and
``select * from public.class_gradebook(:class)`` for the target class, alternately
as its teacher (role authenticated with the teacher's JWT claims, set with
apply_identity_sync in the transaction, through the server's login role ``authenticator``)
and as service_role. Prints p50/p99 and the ratio of two timings per role: the
statement as the client sees it (sent, executed, all 1,200 rows received; Python's
garbage collector paused), and its execution time in the server (EXPLAIN ANALYZE
with per-node timing off). --explain also prints the plans of the function's query.

"""

import argparse
import gc
import statistics
import time
import uuid

import psycopg
from district import TARGET_ASSIGNMENTS, TARGET_STUDENTS, generate, scratch_database  # bench/district.py
from psycopg import sql

from schoolbase.config import Settings
from schoolbase.db.rls import SERVICE, apply_identity_sync, user_identity
from schoolbase.db.urls import DatabaseUrls, database_urls

GRADEBOOK = "select * from public.class_gradebook(%s)"


def run(conn: psycopg.Connection, identity, target: uuid.UUID) -> tuple[float, list[tuple]]:
    """One transaction as ``identity``: the gradebook statement's time in ms as the client
    sees it (sent, executed, all rows received), and its rows."""
    gc.collect()
    gc.disable()  # a collection pause inside the timed fetch of 1,200 rows is not the database's
    try:
        with conn.transaction():
            apply_identity_sync(conn, identity)
            started = time.perf_counter()
            rows = conn.execute(GRADEBOOK, (target,)).fetchall()
            return (time.perf_counter() - started) * 1000, rows
    finally:
        gc.enable()


def server_time(conn: psycopg.Connection, identity, target: uuid.UUID) -> float:
    """The same statement's execution time in the server (EXPLAIN ANALYZE, no per-node timing), in ms."""
    with conn.transaction():
        apply_identity_sync(conn, identity)
        plan = [row[0] for row in conn.execute("explain (analyze, timing off, summary on) " + GRADEBOOK, (target,))]
    return next(float(line.split(":")[1].split()[0]) for line in plan if line.startswith("Execution Time"))


def explain_plan(conn: psycopg.Connection, identity, target: uuid.UUID) -> str:
    """EXPLAIN ANALYZE of the function's query (its body, with the class id inlined and the
    function's settings applied), rolled back."""
    body, config = conn.execute(
        "select prosrc, proconfig from pg_proc where oid = 'public.class_gradebook(uuid)'::regprocedure"
    ).fetchone()
    with conn.transaction(force_rollback=True):
        for setting in config or []:
            name, value = setting.split("=", 1)
            conn.execute(sql.SQL("set local {} = {}").format(sql.Identifier(name), sql.Literal(value.strip('"'))))
        apply_identity_sync(conn, identity)
        query = "explain (analyze, buffers, costs off) " + body.replace("p_class_id", f"'{target}'::uuid")
        plan = [row[0] for row in conn.execute(query)]
    return "\n".join(plan)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(title: str, times: dict[str, list[float]]) -> float:
    print(f"\n{title}")
    print(f"{'':14} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in times.items():
        print(f"{name:14} {pct(values, 50):8.2f} {pct(values, 99):8.2f}")
    rls, service = times[TEACHER], times[SERVICE_ROLE]
    ratio = pct(rls, 50) / pct(service, 50)
    print(f"ratio teacher/service_role: p50 {ratio:.2f}x, p99 {pct(rls, 99) / pct(service, 99):.2f}x")
    return ratio


TEACHER, SERVICE_ROLE = "teacher (RLS)", "service_role"


def measure(
    urls: DatabaseUrls, target: uuid.UUID, teacher: uuid.UUID, repeat: int, warmup: int, show_plans: bool
) -> None:
    identities = {TEACHER: user_identity(teacher), SERVICE_ROLE: SERVICE}
    client: dict[str, list[float]] = {name: [] for name in identities}
    server: dict[str, list[float]] = {name: [] for name in identities}
    # Each role through the login role the server uses for it.
    with (
        psycopg.connect(urls.app, autocommit=True) as as_teacher,
        psycopg.connect(urls.service, autocommit=True) as as_service,
    ):
        conns = {TEACHER: as_teacher, SERVICE_ROLE: as_service}
        answers = {name: run(conns[name], identity, target)[1] for name, identity in identities.items()}
        assert answers[TEACHER] == answers[SERVICE_ROLE], "the teacher sees a different gradebook"
        cells = len(answers[SERVICE_ROLE])
        assert cells == TARGET_STUDENTS * TARGET_ASSIGNMENTS, cells
        for i in range(warmup + repeat):
            for name, identity in identities.items() if i % 2 else reversed(identities.items()):
                elapsed, _ = run(conns[name], identity, target)
                executed = server_time(conns[name], identity, target)
                if i >= warmup:
                    client[name].append(elapsed)
                    server[name].append(executed)
        if show_plans:
            for name, identity in identities.items():
                plan = explain_plan(conns[name], identity, target)
                print(f"\n--- EXPLAIN ANALYZE of the function's query as {name}\n{plan}")
    print(
        f"\ngradebook of the target class: {TARGET_STUDENTS} students x {TARGET_ASSIGNMENTS} assignments = "
        f"{cells} rows; {repeat} runs per role, alternating"
    )
    ratio = report("statement time at the client (execute and fetch all rows):", client)
    report("execution time in the server (EXPLAIN ANALYZE, timing off):", server)
    met = ratio <= 1.3 and pct(client[TEACHER], 50) < 20
    print(f"\ntarget (client p50 ratio <= 1.3, teacher p50 < 20 ms): {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10_000, help="besides the target class; 30 students each")
    parser.add_argument("--assignments", type=int, default=4, help="per class, besides the target class")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="also print EXPLAIN ANALYZE for both roles")
    parser.add_argument("--verbose", action="store_true", help="time each generation step")
    args = parser.parse_args()
    with scratch_database() as owner_url:
        district = generate(owner_url, args.students, args.classes, args.assignments, verbose=args.verbose)
        urls = database_urls(owner_url, Settings())
        measure(urls, district.target, district.teacher, args.repeat, args.warmup, args.explain)


if __name__ == "__main__":
    main()
