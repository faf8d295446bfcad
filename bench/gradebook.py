"""The gradebook of one class through row-level security (as its teacher) vs as service_role, in the same run.

    .venv/bin/python bench/gradebook.py [--students 100000] [--classes 10000] [--repeat 300] [--explain] [--verbose]

Generates one district in a scratch database on SCHOOLBASE_DATABASE_URL or an
embedded PostgreSQL, server-side (INSERT ... SELECT generate_series): --students
students, --classes classes of 30 students each (every student in several classes,
a teacher per class), three weighted categories and --assignments published
assignments per class, and for every assignment a graded submission per student of
the class. Plus the target class: 30 students x 40 published assignments, most
graded and posted, some ungraded, missing or excused. Then ANALYZE, and
``select * from public.class_gradebook(:class)`` for the target class, alternately
as its teacher (role authenticated with the teacher's JWT claims, set with
apply_identity_sync in the transaction, through the server's login role ``authenticator``)
and as service_role. Prints p50/p99 and the ratio of two timings per role: the
statement as the client sees it (sent, executed, all 1,200 rows received; Python's
garbage collector paused), and its execution time in the server (EXPLAIN ANALYZE
with per-node timing off). --explain also prints the plans of the function's query.

The load writes what the submission and grade triggers would have derived
(submitted_at, status, points possible, letter) itself, with those triggers off and
the two tables' plain indexes dropped while it runs (rebuilt afterwards); as a
superuser it also skips the foreign-key checks (session_replication_role = replica),
the rows being consistent by construction. No grade history is generated.
"""

import argparse
import gc
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.rls import SERVICE, apply_identity_sync, user_identity
from schoolbase.db.urls import DatabaseUrls, database_urls

TARGET_STUDENTS = 30
TARGET_ASSIGNMENTS = 40
LOADED = ("assignment_submissions", "assignment_grades")  # their user triggers are off during the load

# Run in order with the parameters of generate() (psycopg placeholders: %(org)s; a literal % is %%).
GENERATE = [
    "select setseed(0.42)",
    "insert into public.organizations (id, name, slug) values (%(org)s, 'Bench District', %(slug)s)",
    "create temp table b_teacher on commit drop as"
    " select g as n, gen_random_uuid() as id from generate_series(1, %(teachers)s) g",
    "create temp table b_student on commit drop as"
    " select g as n, gen_random_uuid() as id from generate_series(1, %(students)s) g",
    # Class n is taught by teacher 1 + (n - 1) % teachers; the target's teacher is teacher 1.
    "create temp table b_class on commit drop as"
    " select g as n, gen_random_uuid() as id, 1 + (g - 1) %% %(teachers)s as teacher"
    " from generate_series(1, %(classes)s) g",
    "insert into public.users (id, email, display_name)"
    " select id, 'teacher' || n || '@bench.example.org', 'Teacher ' || n from b_teacher"
    " union all select id, 'student' || n || '@bench.example.org', 'Student ' || n from b_student",
    "insert into public.memberships (organization_id, user_id, role)"
    " select %(org)s, id, 'teacher'::public.membership_role from b_teacher"
    " union all select %(org)s, id, 'student' from b_student",
    "insert into public.classes (id, organization_id, name, term)"
    " select id, %(org)s, 'Class ' || n, '2026' from b_class"
    " union all select %(target)s, %(org)s, 'Target class', '2026'",
    "insert into public.enrollments (organization_id, class_id, user_id, role)"
    " select %(org)s, c.id, t.id, 'teacher'::public.membership_role from b_class c join b_teacher t on t.n = c.teacher"
    " union all select %(org)s, %(target)s, t.id, 'teacher' from b_teacher t where t.n = 1",
    # 30 consecutive students per class (mod the district): every student in classes * 30 / students classes.
    "insert into public.enrollments (organization_id, class_id, user_id, role)"
    " select %(org)s, c.id, s.id, 'student'::public.membership_role from b_class c cross join generate_series(0, 29) k"
    " join b_student s on s.n = 1 + ((c.n - 1) * 30 + k) %% %(students)s"
    " union all select %(org)s, %(target)s, s.id, 'student' from b_student s where s.n <= 30",
    "create temp table b_category on commit drop as"
    " select c.id as class_id, k, gen_random_uuid() as id"
    " from (select id from b_class union all select %(target)s) c cross join generate_series(1, 3) k",
    "insert into public.assignment_categories (id, organization_id, class_id, name, weight_percent, drop_lowest)"
    " select id, %(org)s, class_id, (array['Homework', 'Quizzes', 'Tests'])[k], (array[40, 30, 30])[k],"
    " case when class_id = %(target)s then (array[2, 1, 0])[k] else (array[1, 0, 0])[k] end from b_category",
    "create temp table b_assignment on commit drop as"
    " select c.class_id, g.k, gen_random_uuid() as id, cat.id as category_id,"
    " (array[10, 20, 50, 100])[1 + g.k %% 4] as points"
    " from (select id as class_id, %(assignments)s as n from b_class union all select %(target)s, 40) c"
    " cross join lateral generate_series(1, c.n) g(k)"
    " join b_category cat on cat.class_id = c.class_id and cat.k = 1 + g.k %% 3",
    "insert into public.assignments (id, organization_id, class_id, category_id, title, type, points_possible,"
    " state, due_at, created_by)"
    " select a.id, %(org)s, a.class_id, a.category_id, 'Assignment ' || a.k,"
    " (array['homework', 'quiz', 'test'])[1 + a.k %% 3]::public.assignment_type, a.points, 'published',"
    " now() - make_interval(days => 60 - a.k), null from b_assignment a",
    # Every student of the class has submitted every assignment; in the target class some
    # work is ungraded (5 %%), missing (3 %%) or excused (2 %%), by a hash of the cell.
    "create temp table b_cell on commit drop as"
    " select gen_random_uuid() as id, a.class_id, a.id as assignment_id, e.user_id as student_id, a.points,"
    " case when a.class_id <> %(target)s then 'graded'"
    "      when abs(hashtext(a.id::text || e.user_id::text)) %% 100 < 2 then 'excused'"
    "      when abs(hashtext(a.id::text || e.user_id::text)) %% 100 < 5 then 'missing'"
    "      when abs(hashtext(a.id::text || e.user_id::text)) %% 100 < 10 then 'ungraded'"
    "      else 'graded' end as kind,"
    " now() - make_interval(days => 61 - a.k) + random() * interval '1 day' as submitted_at"
    " from b_assignment a join public.enrollments e"
    " on e.organization_id = %(org)s and e.class_id = a.class_id and e.role = 'student'",
    *(f"alter table public.{table} disable trigger user" for table in LOADED),
    "set local maintenance_work_mem = '512MB'",
]
# The bulk of the rows, loaded while the tables' plain indexes are dropped (built once afterwards).
LOAD = [
    "insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, attempt,"
    " body, submitted_at, status)"
    " select id, %(org)s, class_id, assignment_id, student_id, 1, 'My work',"
    " case when kind in ('missing', 'excused') then null else submitted_at end,"
    " (case kind when 'graded' then 'returned' when 'ungraded' then 'submitted' else kind end)"
    "::public.submission_status"
    " from b_cell",
    "insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id, student_id,"
    " points, points_possible, letter_grade, grader_id, source, state, posted_at)"
    " select %(org)s, c.class_id, c.assignment_id, c.id, c.student_id, p.points, c.points,"
    " case when p.points / c.points >= 0.9 then 'A' when p.points / c.points >= 0.8 then 'B'"
    "      when p.points / c.points >= 0.7 then 'C' when p.points / c.points >= 0.6 then 'D' else 'F' end,"
    " null, 'teacher', 'final', c.submitted_at + interval '2 days'"
    " from b_cell c cross join lateral (select round((c.points * (0.4 + 0.6 * random()))::numeric, 2) as points) p"
    " where c.kind = 'graded'",
    *(f"alter table public.{table} enable trigger user" for table in LOADED),
]
COUNTS = """
select (select count(*) from public.memberships where role = 'student'),
       (select count(*) from public.classes),
       (select count(*) from public.assignments),
       (select count(*) from public.assignment_submissions),
       (select count(*) from public.assignment_grades)
"""
GRADEBOOK = "select * from public.class_gradebook(%s)"


def generate(owner_url: str, args) -> tuple[uuid.UUID, uuid.UUID]:
    org, target = uuid.uuid4(), uuid.uuid4()
    params = {
        "org": org,
        "slug": f"bench-{org.hex[:8]}",
        "target": target,
        "students": args.students,
        "classes": args.classes,
        "teachers": max(1, args.classes // 4),
        "assignments": args.assignments,
    }
    started = time.perf_counter()
    with psycopg.connect(owner_url) as conn:
        # The loaded tables' plain indexes are built once after the load, not row by row.
        indexes = conn.execute(
            "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = any(%s)"
            " and indexdef not like 'CREATE UNIQUE %%'",
            (list(LOADED),),
        ).fetchall()
        # A superuser also skips the foreign-key checks of the load (the rows are consistent by construction).
        superuser = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
        steps = [
            *GENERATE,
            *(f"drop index public.{name}" for name, _ in indexes),
            *(["set local session_replication_role = replica"] if superuser else []),
            *LOAD,
            *(["set local session_replication_role = origin"] if superuser else []),
            *(definition for _, definition in indexes),
        ]
        for statement in steps:
            step = time.perf_counter()
            conn.execute(statement, params if "%(" in statement else None)
            if args.verbose:
                print(f"{time.perf_counter() - step:7.1f} s  {statement[:100]}")
        teacher = conn.execute(
            "select user_id from public.enrollments where class_id = %s and role = 'teacher'", (target,)
        ).fetchone()[0]
        conn.commit()
        generated = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("vacuum analyze")
        students, classes, assignments, submissions, grades = conn.execute(COUNTS).fetchone()
    print(
        f"generated {students:,} students, {classes:,} classes, {assignments:,} assignments, "
        f"{submissions:,} submissions, {grades:,} grades in {generated:.1f} s "
        f"(+ vacuum analyze {time.perf_counter() - started - generated:.1f} s)"
    )
    return target, teacher


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


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated scratch database (its owner's URL) on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL."""
    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with migrate.scratch_database(server_url) as owner_url:
        migrate.upgrade(owner_url)
        yield owner_url


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
        target, teacher = generate(owner_url, args)
        measure(database_urls(owner_url, Settings()), target, teacher, args.repeat, args.warmup, args.explain)


if __name__ == "__main__":
    main()
