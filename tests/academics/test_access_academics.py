"""Every cell of "Academic structure and rostering" in ACCESS.md (schools, academic_sessions,
courses, class_terms, period_grade_overrides, grading_period_history, roster_imports,
roster_links), proved against the real database.

Same method as ``tests/meetings/test_access_meetings.py`` (helpers in ``tests/access.py``).
The rows are committed once per module by ``refs`` (as service, in 1990, where no
assignment of another test falls in their grading periods) and deleted after it. In
organization A: schools ``A`` and ``A2`` (nothing belongs to it); school year ``A`` with
grading periods ``A-open``, ``A-closed`` (closed) and ``A-spare``; courses ``A`` and ``A2``;
class c1 in year A; overrides ``c1:s1:open``, ``c1:s1:closed`` and ``c2:s2:closed``; the
history rows the triggers wrote for them and for closing (``A-closed``, ``c1``, ``c2``); a
roster import and a roster link. In organization B the same in small: ``B`` each, period
``B-closed`` with override ``cB:sB:closed``.

Readings of ACCESS.md made here: "S own and P of S once the period is closed and grades
posted" is what the policy implements as "once the period is closed" (posting is per
assignment; a closed period's override is the period's grade, shown then). The period's
history is read by OA, by teachers of the organization for the period's own rows (closing,
reopening), and by the class's teachers for its overrides; it is written by triggers only.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import text

from tests.access import (
    A_PEOPLE,
    B_PEOPLE,
    Read,
    Refs,
    W,
    assert_writes_cover,
    inserted,
    members,
    outsiders_test,
    public_tables_like,
    read_test,
    write_test,
)

TABLES = (
    "schools",
    "academic_sessions",
    "courses",
    "class_terms",
    "period_grade_overrides",
    "grading_period_history",
    "roster_imports",
    "roster_links",
)
ORG_TABLES = {"A": ("A", "c1", "s1"), "B": ("B", "cB", "sB")}


def d(month: int, day: int) -> date:
    return date(1990, month, day)


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    refs = Refs(world)
    rows = refs.rows
    for kind in ("school", "session", "course", "term", "override", "history", "import", "link"):
        rows[kind] = {}
    tag = uuid.uuid4().hex[:8]
    try:
        async with db.as_service() as session:
            for key, org in (("A", "A"), ("A2", "A"), ("B", "B")):
                rows["school"][key] = await inserted(
                    session, "schools", organization_id=world.orgs[org], name=f"Probe {key} {tag}"
                )
            for org in ("A", "B"):
                o = world.orgs[org]
                year = await inserted(
                    session,
                    "academic_sessions",
                    organization_id=o,
                    title="1990",
                    type="school_year",
                    start_date=d(1, 1),
                    end_date=d(6, 30),
                )
                rows["session"][org] = year
                periods = (("open", 1), ("closed", 3), ("spare", 5)) if org == "A" else (("closed", 3),)
                for name, month in periods:
                    rows["session"][f"{org}-{name}"] = await inserted(
                        session,
                        "academic_sessions",
                        organization_id=o,
                        parent_id=year,
                        title=f"P {name}",
                        type="grading_period",
                        start_date=d(month, 1),
                        end_date=d(month + 1, 28),
                    )
                for key in (org, f"{org}2") if org == "A" else (org,):
                    rows["course"][key] = await inserted(
                        session,
                        "courses",
                        organization_id=o,
                        title=f"Course {key}",
                        school_id=rows["school"][org],
                        school_year_id=year,
                    )
                cls = "c1" if org == "A" else "cB"
                rows["term"][f"{cls}:{org}"] = await inserted(
                    session, "class_terms", organization_id=o, class_id=world.classes[cls], session_id=year
                )
                rows["import"][org] = await inserted(session, "roster_imports", organization_id=o, file_name="r.zip")
                rows["link"][org] = await inserted(
                    session,
                    "roster_links",
                    organization_id=o,
                    source_system="SIS",
                    entity="org",
                    sourced_id=f"org-{tag}",
                    target_id=o,
                )
            for key, (org, cls, student, period) in {
                "c1:s1:open": ("A", "c1", "s1", "A-open"),
                "c1:s1:closed": ("A", "c1", "s1", "A-closed"),
                "c2:s2:closed": ("A", "c2", "s2", "A-closed"),
                "cB:sB:closed": ("B", "cB", "sB", "B-closed"),
            }.items():
                rows["override"][key] = await inserted(
                    session,
                    "period_grade_overrides",
                    organization_id=world.orgs[org],
                    class_id=world.classes[cls],
                    session_id=rows["session"][period],
                    student_id=world.users[student],
                    percent=90,
                    reason="Probe",
                )
            for period in ("A-closed", "B-closed"):
                await session.execute(
                    text("update public.academic_sessions set closed_at = now() where id = :id"),
                    {"id": rows["session"][period]},
                )
            history = text(
                "select id from public.grading_period_history where session_id = :s"
                " and class_id is not distinct from :c and action = :a"
            )
            for key, period, cls, action in (
                ("A-closed", "A-closed", None, "closed"),
                ("c1", "A-closed", "c1", "override_set"),
                ("c2", "A-closed", "c2", "override_set"),
                ("B-closed", "B-closed", None, "closed"),
            ):
                rows["history"][key] = await session.scalar(
                    history,
                    {"s": rows["session"][period], "c": world.classes[cls] if cls else None, "a": action},
                )
        yield refs
    finally:
        async with db.as_service() as session:
            ids = lambda kind: list(rows[kind].values())  # noqa: E731
            await session.execute(text("delete from public.roster_links where id = any(:i)"), {"i": ids("link")})
            await session.execute(text("delete from public.roster_imports where id = any(:i)"), {"i": ids("import")})
            await session.execute(
                text("delete from public.period_grade_overrides where id = any(:i)"), {"i": ids("override")}
            )
            await session.execute(text("delete from public.courses where id = any(:i)"), {"i": ids("course")})
            # Periods, class terms and history go with the years.
            await session.execute(
                text("delete from public.academic_sessions where id = any(:i)"), {"i": ids("session")}
            )
            await session.execute(text("delete from public.schools where id = any(:i)"), {"i": ids("school")})
            for kind, table in (
                ("session", "academic_sessions"),
                ("term", "class_terms"),
                ("history", "grading_period_history"),
            ):
                left = await session.scalar(
                    text(f"select count(*) from public.{table} where id = any(:i)"), {"i": ids(kind)}
                )
                assert left == 0, table


KIND = {
    "schools": "school",
    "academic_sessions": "session",
    "courses": "course",
    "class_terms": "term",
    "period_grade_overrides": "override",
    "grading_period_history": "history",
    "roster_imports": "import",
    "roster_links": "link",
}
MA, MB = members(A_PEOPLE), members(B_PEOPLE)
OA, OAB = {"sa", "oa"}, {"sa", "oaB"}


def R(table: str, key: str, readers) -> Read:
    return Read(table, key, frozenset(readers), {"id": f"@{KIND[table]}:{key}"})


READS = [
    R("schools", "A", MA),
    R("schools", "A2", MA),
    R("schools", "B", MB),
    *(R("academic_sessions", key, MA) for key in ("A", "A-open", "A-closed", "A-spare")),
    R("academic_sessions", "B", MB),
    R("academic_sessions", "B-closed", MB),
    R("courses", "A", MA),
    R("courses", "A2", MA),
    R("courses", "B", MB),
    R("class_terms", "c1:A", MA),
    R("class_terms", "cB:B", MB),
    # OA; T of the class; S own and P of S once the period is closed.
    R("period_grade_overrides", "c1:s1:open", {"sa", "oa", "t1"}),
    R("period_grade_overrides", "c1:s1:closed", {"sa", "oa", "t1", "s1", "p1"}),
    R("period_grade_overrides", "c2:s2:closed", {"sa", "oa", "t2", "s2", "p2"}),
    R("period_grade_overrides", "cB:sB:closed", {"sa", "oaB", "tB", "sB", "pB"}),
    R("grading_period_history", "A-closed", {"sa", "oa", "t1", "t2"}),
    R("grading_period_history", "c1", {"sa", "oa", "t1"}),
    R("grading_period_history", "c2", {"sa", "oa", "t2"}),
    R("grading_period_history", "B-closed", {"sa", "oaB", "tB"}),
    R("roster_imports", "A", OA),
    R("roster_imports", "B", OAB),
    R("roster_links", "A", OA),
    R("roster_links", "B", OAB),
]

test_read = read_test(READS)

PERIOD = {"organization_id": "@org:A", "title": "P", "type": "grading_period", "parent_id": "@session:A"}
WRITES = [
    W("school-create", "insert", "schools", OA, values={"organization_id": "@org:A", "name": "New"}),
    W("school-create-in-B", "insert", "schools", OAB, values={"organization_id": "@org:B", "name": "New"}),
    W("school-rename", "update", "schools", OA, where={"id": "@school:A"}, values={"name": "Renamed"}),
    W("school-delete", "delete", "schools", OA, where={"id": "@school:A2"}),
    W(
        "session-create",
        "insert",
        "academic_sessions",
        OA,
        values={**PERIOD, "start_date": d(2, 1), "end_date": d(2, 2)},
    ),
    W("session-retitle", "update", "academic_sessions", OA, where={"id": "@session:A-open"}, values={"title": "X"}),
    W(
        "period-close",
        "update",
        "academic_sessions",
        OA,
        where={"id": "@session:A-open"},
        values={"closed_at": d(2, 1), "state_note": "Done"},
    ),
    W(
        "period-reopen",
        "update",
        "academic_sessions",
        OA,
        where={"id": "@session:A-closed"},
        values={"closed_at": None, "state_note": "Fix"},
    ),
    W("session-delete", "delete", "academic_sessions", OA, where={"id": "@session:A-spare"}),
    W("session-delete-in-B", "delete", "academic_sessions", OAB, where={"id": "@session:B-closed"}),
    W("course-create", "insert", "courses", OA, values={"organization_id": "@org:A", "title": "New"}),
    W("course-change", "update", "courses", OA, where={"id": "@course:A"}, values={"code": "X1"}),
    W("course-delete", "delete", "courses", OA, where={"id": "@course:A2"}),
    W(
        "term-create",
        "insert",
        "class_terms",
        OA,
        values={"organization_id": "@org:A", "class_id": "@class:c2", "session_id": "@session:A"},
    ),
    W("term-change", "update", "class_terms", OA, where={"id": "@term:c1:A"}, values={"session_id": "@session:A-open"}),
    W("term-delete", "delete", "class_terms", OA, where={"id": "@term:c1:A"}),
    # T of the class and OA, in an open period or a closed one.
    W(
        "override-create",
        "insert",
        "period_grade_overrides",
        {"sa", "oa", "t2"},
        values={
            "organization_id": "@org:A",
            "class_id": "@class:c2",
            "session_id": "@session:A-open",
            "student_id": "@user:s2",
            "letter": "B",
            "reason": "Probe",
        },
    ),
    W(
        "override-change-closed",
        "update",
        "period_grade_overrides",
        {"sa", "oa", "t1"},
        where={"id": "@override:c1:s1:closed"},
        values={"percent": 80, "reason": "Regraded"},
    ),
    W("override-delete", "delete", "period_grade_overrides", {"sa", "oa", "t1"}, where={"id": "@override:c1:s1:open"}),
    # Written by triggers only.
    W(
        "history-create",
        "insert",
        "grading_period_history",
        set(),
        values={"organization_id": "@org:A", "session_id": "@session:A-open", "action": "closed"},
    ),
    W("history-change", "update", "grading_period_history", set(), where={"id": "@history:c1"}, values={"reason": "X"}),
    W("history-delete", "delete", "grading_period_history", set(), where={"id": "@history:A-closed"}),
    W("import-create", "insert", "roster_imports", OA, values={"organization_id": "@org:A", "file_name": "x.zip"}),
    W("import-change", "update", "roster_imports", OA, where={"id": "@import:A"}, values={"state": "cancelled"}),
    W("import-delete", "delete", "roster_imports", OA, where={"id": "@import:A"}),
    W(
        "link-create",
        "insert",
        "roster_links",
        set(),
        values={"organization_id": "@org:A", "source_system": "SIS", "entity": "user", "sourced_id": "@unique"},
    ),
    W("link-change", "update", "roster_links", set(), where={"id": "@link:A"}, values={"status": "tobedeleted"}),
    W("link-delete", "delete", "roster_links", set(), where={"id": "@link:A"}),
]

test_write = write_test(WRITES)


def test_writes_cover_every_table():
    assert_writes_cover(WRITES, TABLES)


def test_reads_cover_every_seeded_row():
    seeded = {(r.table, r.row) for r in READS}
    assert {table for table, _ in seeded} == set(TABLES)


async def test_the_matrix_covers_every_academic_and_roster_table(db):
    found = set()
    for pattern in ("school%", "academic%", "course%", "class_terms", "period%", "grading_period%", "roster%"):
        found |= await public_tables_like(db, pattern)
    assert found == set(TABLES)


test_x_and_anon_see_nothing_of_org_a = outsiders_test(TABLES)
