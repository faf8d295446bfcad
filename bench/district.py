"""A generated district, loaded server-side into a migrated scratch database, for the benchmarks.

Students, classes of 30 students each (every student in several classes, a teacher per
class), three weighted categories and published assignments per class, and for every
assignment a graded submission per student of the class; plus the target class: 30
students x 40 published assignments, most graded and posted, some ungraded, missing or
excused. A benchmark may add its own statements (``Extra``): ``people`` run after the
district's people, classes and assignments exist (with the district's temporary tables
b_teacher, b_student, b_class, b_category at hand), ``load`` run with the bulk load.

The load writes what the submission and grade triggers would have derived
(submitted_at, status, points possible, letter) itself, with those triggers off and
the two tables' plain indexes dropped while it runs (rebuilt afterwards); as a
superuser it also skips the foreign-key checks (session_replication_role = replica),
the rows being consistent by construction. No grade history is generated.
"""

import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded

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
]
COUNTS = """
select (select count(*) from public.memberships where role = 'student'),
       (select count(*) from public.classes),
       (select count(*) from public.assignments),
       (select count(*) from public.assignment_submissions),
       (select count(*) from public.assignment_grades)
"""


@dataclass(frozen=True)
class Extra:
    """A benchmark's own statements and their parameters (besides org, target, students, classes, teachers)."""

    people: Sequence[str] = ()
    load: Sequence[str] = ()
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Generated:
    org: uuid.UUID
    target: uuid.UUID
    teacher: uuid.UUID  # the target class's


def generate(owner_url: str, students: int, classes: int, assignments: int, *, extra: Extra = Extra(),
             verbose: bool = False) -> Generated:  # fmt: skip
    org, target = uuid.uuid4(), uuid.uuid4()
    params = {
        "org": org,
        "slug": f"bench-{org.hex[:8]}",
        "target": target,
        "students": students,
        "classes": classes,
        "teachers": max(1, classes // 4),
        "assignments": assignments,
        **extra.params,
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
            *extra.people,
            *(f"drop index public.{name}" for name, _ in indexes),
            *(["set local session_replication_role = replica"] if superuser else []),
            *LOAD,
            *extra.load,
            *(["set local session_replication_role = origin"] if superuser else []),
            *(f"alter table public.{table} enable trigger user" for table in LOADED),
            *(definition for _, definition in indexes),
        ]
        for statement in steps:
            step = time.perf_counter()
            conn.execute(statement, params if "%(" in statement else None)
            if verbose:
                print(f"{time.perf_counter() - step:7.1f} s  {statement[:100]}")
        teacher = conn.execute(
            "select user_id from public.enrollments where class_id = %s and role = 'teacher'", (target,)
        ).fetchone()[0]
        conn.commit()
        generated = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("vacuum analyze")
        if superuser:  # what is measured next should not share the disk with the load's checkpoint
            conn.execute("checkpoint")
        counts = conn.execute(COUNTS).fetchone()
    print(
        "generated {:,} students, {:,} classes, {:,} assignments, {:,} submissions, {:,} grades".format(*counts)
        + f" in {generated:.1f} s (+ vacuum analyze, checkpoint {time.perf_counter() - started - generated:.1f} s)"
    )
    return Generated(org, target, teacher)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated scratch database (its owner's URL) on SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL."""
    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with migrate.scratch_database(server_url) as owner_url:
        migrate.upgrade(owner_url)
        yield owner_url
