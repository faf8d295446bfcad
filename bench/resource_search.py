"""Resource search through row-level security vs as service_role, in the same run.

    .venv/bin/python bench/resource_search.py [--resources 200000] [--repeat 200]

Generates one district (a few thousand classes, ≥ 200,000 resources: most approved
and organization-wide, some class-scoped, some drafts) in a scratch database on
SCHOOLBASE_DATABASE_URL or an embedded PostgreSQL, then runs the same search
statements as a student (role authenticated, through the server's login role) and
as service_role, alternating, and prints p50/p99 of each and their ratio.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.engine import Database
from schoolbase.db.rls import SERVICE, user_identity
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.pagination import PageParams
from schoolbase.resources import search

WORDS = (
    "photosynthesis algebra fractions geometry poetry grammar volcano ecosystem democracy revolution "
    "molecule energy gravity calculus statistics probability novel essay climate history geography "
    "chemistry biology physics music painting sculpture coding robotics economics literature"
).split()

GENERATE = """
insert into organizations (id, name, slug) values (:org, 'Bench District', 'bench-district');
insert into users (id, email, display_name)
  select gen_random_uuid(), 'teacher' || g || '@bench.example.org', 'Teacher ' || g from generate_series(1, 200) g;
insert into memberships (organization_id, user_id, role)
  select :org, id, 'teacher' from users where email like 'teacher%@bench.example.org';
insert into users (id, email, display_name) values (:student, 'student@bench.example.org', 'Student');
insert into memberships (organization_id, user_id, role) values (:org, :student, 'student');
insert into classes (id, organization_id, name)
  select gen_random_uuid(), :org, 'Class ' || g from generate_series(1, 2000) g;
insert into enrollments (organization_id, class_id, user_id, role)
  select :org, id, :student, 'student' from classes where organization_id = :org order by name limit 5;
with words as (select cast(:words as text[]) as w),
     authors as (select array_agg(id) as a from users where email like 'teacher%@bench.example.org'),
     classes as (select array_agg(id) as c from classes where organization_id = :org)
insert into resources (organization_id, title, description, type, url, subject, tags, state, author_id, class_id)
select :org,
       initcap(w[1 + (g * 7) % cardinality(w)]) || ' ' || w[1 + (g * 13) % cardinality(w)] || ' ' || g,
       'About ' || w[1 + (g * 3) % cardinality(w)] || ' and ' || w[1 + (g * 11) % cardinality(w)]
         || ' for grade ' || (g % 12 + 1),
       (array['video', 'document', 'interactive_activity', 'link', 'worksheet', 'quiz'])[1 + g % 6]::resource_type,
       'https://example.org/r/' || g,
       w[1 + g % cardinality(w)],
       array[w[1 + (g * 5) % cardinality(w)], w[1 + (g * 17) % cardinality(w)]],
       (case when g % 20 = 0 then 'draft' else 'approved' end)::resource_state,
       a[1 + g % cardinality(a)],
       case when g % 10 = 0 then c[1 + g % cardinality(c)] end
from generate_series(1, :n) g, words, authors, classes;
"""

QUERIES = ["photosynthesis", "algebra fractions", "volcano", "poetry -novel", "robotics coding", "climate history"]


async def timed(db: Database, identity, org: uuid.UUID, query: str) -> float:
    async with db.as_user(identity) as session:
        started = time.perf_counter()
        found = search.query(query, organization_id=org)
        hits = (await search.page(session, found, PageParams(limit=20))).items
        elapsed = (time.perf_counter() - started) * 1000
    assert hits, f"no results for {query!r}"
    return elapsed


async def measure(urls: DatabaseUrls, org: uuid.UUID, student: uuid.UUID, repeat: int) -> None:
    db = Database(urls, pool_size=2, max_overflow=0)
    as_student = user_identity(student)
    results: dict[str, list[tuple[str, float]]] = {"student (RLS)": [], "service_role": []}
    for i in range(repeat):
        query = QUERIES[i % len(QUERIES)]
        results["student (RLS)"].append((query, await timed(db, as_student, org, query)))
        results["service_role"].append((query, await timed(db, SERVICE, org, query)))
    await db.dispose()
    warm = {k: [ms for _, ms in v[len(QUERIES) :]] for k, v in results.items()}
    p50 = {k: statistics.median(v) for k, v in warm.items()}
    for name, values in warm.items():
        print(f"{name:14} p50 {p50[name]:7.2f} ms   p99 {statistics.quantiles(values, n=100)[98]:7.2f} ms")
    print(f"ratio RLS/service p50: {p50['student (RLS)'] / p50['service_role']:.2f}")
    print("p50 per query, student / service_role:")
    for query in QUERIES:
        each = {k: statistics.median(ms for q, ms in v[len(QUERIES) :] if q == query) for k, v in results.items()}
        print(f"  {query!r:20} {each['student (RLS)']:7.2f} / {each['service_role']:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    server_url = os.environ.get("SCHOOLBASE_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="schoolbase-bench-")) / "pgdata", temporary=True
    )
    with migrate.scratch_database(server_url) as owner_url:
        migrate.upgrade(owner_url)
        org, student = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        with migrate.owner_connection(owner_url) as conn:
            for statement in GENERATE.strip().split(";\n"):
                conn.execute(text(statement), {"org": org, "student": student, "n": args.resources, "words": WORDS})
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("vacuum analyze"))
            total = conn.execute(text("select count(*) from resources")).scalar()
        print(f"generated {total} resources in {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(database_urls(owner_url, Settings()), org, student, args.repeat))


if __name__ == "__main__":
    main()
