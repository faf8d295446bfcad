"""A district's morning: every kind of user at once, through the HTTP API and the web pages,
on a 10,000-student and a 100,000-student district in the same run.

    .venv/bin/python bench/school_morning.py [--sizes 10000,100000] [--duration 30] [--workers 1] [--pool-size 10]

For each size, generates a district (bench/district.py: classes of 30, each student in
three, a teacher per four classes, four graded assignments per class) in a scratch
database on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL, plus what a school
morning needs: a parent for every two students, and per class an essay due yesterday
that every student turned in and nobody has graded yet and two assignments due today and
in two days (the organization in America/Chicago); AI homework help limited per user
(--ai-per-minute). Signs in a sample of students, teachers and parents (a session each,
as sign-in makes it), starts the AI upstream (schoolbase.ai.providers.local_upstream)
and ``schoolbase serve``, and runs one wrk per operation, all at the same time for
--duration seconds (after a --warmup), each rotating through its users and targets:

    student   GET /todo (page), GET /me/assignments, POST /assignments/{id}/submissions
    teacher   GET /teach/classes/{id}/gradebook (page), GET /classes/{id}/gradebook,
              PUT /submissions/{id}/grade (the essays)
    parent    GET /children/{id} (page)
    AI        POST /ai/messages (homework help; 429 past the user's limit is an answer)

Prints per operation the requests, req/s, p50 and p99 and unexpected answers, then the
100,000/10,000 ratios. Fails on any 5xx or socket error.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from district import Extra, generate, scratch_database  # bench/district.py
from serving import SECRET, Processes, start_upstream_and_server  # bench/serving.py

from schoolbase.auth.tokens import issue_access_token
from schoolbase.config import Settings
from schoolbase.web.cookies import SESSION_COOKIE

LUA = Path(__file__).with_name("school_morning.lua")

PEOPLE = [
    "update public.organizations set time_zone = 'America/Chicago' where id = %(org)s",
    "create temp table b_parent on commit drop as"
    " select g as n, gen_random_uuid() as id from generate_series(1, (%(students)s + 1) / 2) g",
    "insert into public.users (id, email, display_name)"
    " select id, 'parent' || n || '@bench.example.org', 'Parent ' || n from b_parent",
    "insert into public.memberships (organization_id, user_id, role)"
    " select %(org)s, id, 'parent'::public.membership_role from b_parent",
    "insert into public.guardianships (organization_id, parent_id, student_id)"
    " select %(org)s, p.id, s.id from b_student s join b_parent p on p.n = (s.n + 1) / 2",
    # Per class: an essay due yesterday (k = 1, turned in, to grade), work due today and in two days.
    "create temp table b_morning on commit drop as"
    " select c.id as class_id, g.k, gen_random_uuid() as id, cat.id as category_id"
    " from b_class c cross join generate_series(1, 3) g(k) join b_category cat on cat.class_id = c.id and cat.k = 1",
    "insert into public.assignments (id, organization_id, class_id, category_id, title, type, points_possible,"
    " state, due_at, allowed_attempts)"
    " select id, %(org)s, class_id, category_id, (array['Essay', 'Reading', 'Worksheet'])[k], 'homework', 10,"
    " 'published', now() + (array[interval '-1 day', interval '6 hours', interval '2 days'])[k], 5 from b_morning",
    "update public.ai_organization_settings set rate_limit_per_minute = %(ai_per_minute)s,"
    " rate_limit_per_hour = 10 * %(ai_per_minute)s, rate_limit_per_day = 30 * %(ai_per_minute)s,"
    " monthly_budget_usd = 10000 where organization_id = %(org)s",
]
LOAD = [
    "insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, attempt,"
    " body, submitted_at, status)"
    " select gen_random_uuid(), %(org)s, a.class_id, a.id, e.user_id, 1, 'My essay',"
    " now() - interval '26 hours' + random() * interval '1 hour', 'submitted'"
    " from b_morning a join public.enrollments e"
    " on e.organization_id = %(org)s and e.class_id = a.class_id and e.role = 'student' where a.k = 1",
]


@dataclass(frozen=True)
class Op:
    name: str
    connections: int
    method: str
    web: bool  # a page (session cookie) rather than the API (bearer token)
    expected: tuple[int, ...] = (200,)
    body: dict | None = None


OPS = [
    Op("student: to-do page", 3, "GET", True),
    Op("student: my assignments API", 2, "GET", False),
    Op("student: submit API", 2, "POST", False, (200, 201), {"body": "My answers", "submit": True}),
    Op("teacher: gradebook page", 1, "GET", True),
    Op("teacher: gradebook API", 1, "GET", False),
    Op("teacher: grade API", 1, "PUT", False, body={"points": 8, "state": "final"}),
    Op("parent: child page", 2, "GET", True),
    Op("AI: homework help", 2, "POST", False, (200, 429), {
        "feature": "homework_help", "model": "claude-haiku", "max_tokens": 200,
        "messages": [{"role": "user", "content": "Explain photosynthesis to a ninth grader."}],
    }),
]  # fmt: skip

# (user, path) per operation, sampled at random from the generated district.
TARGETS = {
    "student: to-do page": "select user_id, '/todo' from public.memberships"
    " where organization_id = %(org)s and role = 'student' order by random() limit %(sample)s",
    "student: my assignments API": "select user_id, '/me/assignments' from public.memberships"
    " where organization_id = %(org)s and role = 'student' order by random() limit %(sample)s",
    "student: submit API": "select e.user_id, '/assignments/' || a.id || '/submissions' from public.enrollments e"
    " join public.assignments a on a.organization_id = e.organization_id and a.class_id = e.class_id"
    " and a.title in ('Reading', 'Worksheet')"
    " where e.organization_id = %(org)s and e.role = 'student' order by random() limit %(sample)s",
    "teacher: gradebook page": "select user_id, '/teach/classes/' || class_id || '/gradebook' from public.enrollments"
    " where organization_id = %(org)s and role = 'teacher' order by random() limit %(sample)s",
    "teacher: gradebook API": "select user_id, '/classes/' || class_id || '/gradebook' from public.enrollments"
    " where organization_id = %(org)s and role = 'teacher' order by random() limit %(sample)s",
    "teacher: grade API": "select e.user_id, '/submissions/' || s.id || '/grade' from public.assignments a"
    " join public.assignment_submissions s on s.assignment_id = a.id"
    " join public.enrollments e on e.organization_id = a.organization_id and e.class_id = a.class_id"
    " and e.role = 'teacher'"
    " where a.organization_id = %(org)s and a.title = 'Essay' order by random() limit %(sample)s",
    "parent: child page": "select parent_id, '/children/' || student_id from public.guardianships"
    " where organization_id = %(org)s order by random() limit %(sample)s",
    "AI: homework help": "select user_id, '/ai/messages' from public.memberships"
    " where organization_id = %(org)s and role = 'student' order by random() limit %(ai_users)s",
}


def sign_in(conn: psycopg.Connection, users: set) -> dict:
    """An access token per user, each for a session of its own, as sign-in makes them."""
    settings = Settings(jwt_secret=SECRET, access_token_minutes=240)
    rows = conn.execute(
        "insert into server.sessions (user_id, client, address, expires_at)"
        " select id, 'bench', '127.0.0.1', now() + interval '1 day' from public.users where id = any(%s)"
        " returning id, user_id, (select email from public.users u where u.id = user_id)",
        (list(users),),
    ).fetchall()
    return {user: issue_access_token(settings, user, email, session) for session, user, email in rows}


def requests_of(owner_url: str, org, sample: int, ai_users: int) -> dict[str, list[tuple]]:
    """Per operation, its requests: (method, path, headers, body)."""
    params = {"org": org, "sample": sample, "ai_users": ai_users}
    with psycopg.connect(owner_url) as conn:
        targets = {name: conn.execute(query, params).fetchall() for name, query in TARGETS.items()}
        tokens = sign_in(conn, {user for rows in targets.values() for user, _ in rows})
    out = {}
    for op in OPS:
        body = json.dumps(op.body) if op.body else ""
        out[op.name] = [
            (op.method, path, auth(op, tokens[user]) | ({"Content-Type": "application/json"} if body else {}), body)
            for user, path in targets[op.name]
        ]
    return out


def auth(op: Op, token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"} if op.web else {"Authorization": f"Bearer {token}"}


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_requests(path: Path, requests: list[tuple]) -> None:
    """The requests as a Lua table, for bench/school_morning.lua."""
    with path.open("w") as f:
        f.write("return {\n")
        for method, target, headers, body in requests:
            fields = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
            f.write(f"{{{lua_string(method)}, {lua_string(target)}, {{{fields}}}, {lua_string(body)}}},\n")
        f.write("}\n")


@contextmanager
def serving(owner_url: str, workdir: Path, workers: int, pool_size: int):
    """The AI upstream and ``schoolbase serve`` as child processes; yields the server's base URL.

    Each of a server process's database pools holds up to ``pool_size`` connections (no
    overflow), its jobs pool two: PostgreSQL's 100 connections are shared."""
    with Processes(workdir) as processes:
        _, server = start_upstream_and_server(
            processes, owner_url, workers=workers, pool_size=pool_size, jobs_pool_size="2"
        )
        yield server


def load(base_url: str, workdir: Path, requests: dict[str, list[tuple]], duration: int) -> dict[str, dict]:
    """One wrk per operation, all at once for ``duration`` seconds; their results by operation."""
    procs = {}
    for i, op in enumerate(OPS):
        table = workdir / f"requests{i}.lua"
        write_requests(table, requests[op.name])
        command = ["wrk", "-t1", f"-c{op.connections}", f"-d{duration}s", "--timeout", "30s", "-s", str(LUA),
                   base_url, "--", str(table)]  # fmt: skip
        procs[op.name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = {}
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=duration + 120)
        line = next((x for x in output.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"wrk for {name} failed:\n{output}")
        results[name] = json.loads(line.removeprefix("RESULT "))
    return results


def check(results: dict[str, dict], log: Path) -> None:
    """Fails on any 5xx or socket error; the server's log says why."""
    broken = {name: r for name, r in results.items() if r["socket_errors"] or any(s >= "500" for s in r["statuses"])}
    if broken:
        print(log.read_text()[-5000:], file=sys.stderr)
        raise SystemExit(f"server errors: {json.dumps(broken, indent=1)}")


def unexpected(op: Op, result: dict) -> int:
    return sum(n for status, n in result["statuses"].items() if int(status) not in op.expected)


def report(students: int, results: dict[str, dict]) -> None:
    print(f"\n{students:,} students:")
    print(f"{'operation':30} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'unexpected':>10}  statuses")
    total = 0.0
    for op in OPS:
        r = results[op.name]
        rate = r["requests"] / (r["duration_us"] / 1e6)
        total += rate
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(r["statuses"].items()))
        print(f"{op.name:30} {r['requests']:9,} {rate:8.1f} {r['p50_us'] / 1000:8.1f} {r['p99_us'] / 1000:8.1f}"
              f" {unexpected(op, r):10,}  {statuses}")  # fmt: skip
    print(f"{'all':30} {'':9} {total:8.1f}")


def ratios(small: int, large: int, results: dict[int, dict[str, dict]]) -> None:
    print(f"\nratio {large:,}/{small:,} students:")
    print(f"{'operation':30} {'req/s':>8} {'p50':>8} {'p99':>8}")
    for op in OPS:
        a, b = results[small][op.name], results[large][op.name]
        rate = (b["requests"] / b["duration_us"]) / (a["requests"] / a["duration_us"])
        print(f"{op.name:30} {rate:7.2f}x {b['p50_us'] / a['p50_us']:7.2f}x {b['p99_us'] / a['p99_us']:7.2f}x")


def morning(students: int, args, workdir: Path) -> dict[str, dict]:
    extra = Extra(people=PEOPLE, load=LOAD, params={"ai_per_minute": args.ai_per_minute})
    with scratch_database() as owner_url:
        district = generate(owner_url, students, max(1, students // 10), 4, extra=extra, verbose=args.verbose)
        requests = requests_of(owner_url, district.org, args.sample, args.ai_users)
        with serving(owner_url, workdir, args.workers, args.pool_size) as base_url:
            if args.warmup:
                check(load(base_url, workdir, requests, args.warmup), workdir / "schoolbase.log")
            results = load(base_url, workdir, requests, args.duration)
            check(results, workdir / "schoolbase.log")
    report(students, results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="students per district, comma-separated")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per district")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of the same load first, not counted")
    parser.add_argument("--workers", type=int, default=1, help="server processes (schoolbase serve --workers)")
    parser.add_argument("--pool-size", type=int, default=10, help="connections per database pool and process")
    parser.add_argument("--sample", type=int, default=2000, help="users (and targets) per operation")
    parser.add_argument("--ai-users", type=int, default=20, help="students calling the AI")
    parser.add_argument("--ai-per-minute", type=int, default=10, help="the AI rate limit per user and minute")
    parser.add_argument("--verbose", action="store_true", help="time each generation step")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    sizes = [int(size) for size in args.sizes.split(",")]
    ops = ", ".join(f"{op.name} x{op.connections}" for op in OPS)
    print(
        f"{args.duration} s per district, all at once, connections: {ops}; "
        f"server workers: {args.workers}, database pools of {args.pool_size}"
    )
    with tempfile.TemporaryDirectory(prefix="school-morning-") as workdir:
        results = {students: morning(students, args, Path(workdir)) for students in sizes}
    if len(sizes) > 1:
        ratios(min(sizes), max(sizes), results)


if __name__ == "__main__":
    main()
