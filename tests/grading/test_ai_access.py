"""Who may read and write the bulk AI grading tables, proved as every actor of the shared world
(the method of ``tests/tenancy/test_access_core.py``, helpers in ``tests/access.py``).

ACCESS.md's rule for AI work on grades: staff of the class (OA, T) read it, and only the
server (service_role) writes it. One run with one item is seeded per organization, in
class c1 (taught by t1, s1 enrolled, p1 her parent) and cB (tB, sB, pB)."""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from schoolbase.db.rls import SERVICE
from tests.access import (
    Read,
    Refs,
    W,
    inserted,
    read_test,
    write_test,
)
from tests.conftest import rolled_back

TABLES = ("bulk_grading_jobs", "bulk_grading_job_items")
CLASS_OF = {"A": ("c1", "s1", "t1"), "B": ("cB", "sB", "tB")}


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    refs = Refs(world)
    for kind in ("assignment", "category", "submission", "job", "item"):
        refs.rows[kind] = {}
    async with db.as_service() as session:
        for org, (cls, student, teacher) in CLASS_OF.items():
            org_id, class_id = world.orgs[org], world.classes[cls]
            keys = {"organization_id": org_id, "class_id": class_id}
            category = await inserted(
                session, "assignment_categories", **keys, name=f"AI access {uuid.uuid4().hex[:8]}", weight_percent=0
            )
            assignment = await inserted(
                session,
                "assignments",
                **keys,
                category_id=category,
                title="AI access probe",
                points_possible=10,
                state="published",
            )
            of_assignment = {**keys, "assignment_id": assignment}
            submission = await inserted(
                session,
                "assignment_submissions",
                **of_assignment,
                student_id=world.users[student],
                body="work",
                status="submitted",
            )
            job = await inserted(
                session,
                "bulk_grading_jobs",
                **of_assignment,
                requested_by=world.users[teacher],
                model="claude-haiku",
                total=1,
                state="completed",
            )
            item = await inserted(
                session,
                "bulk_grading_job_items",
                organization_id=org_id,
                job_id=job,
                submission_id=submission,
                state="failed",
            )
            for kind, value in (
                ("category", category),
                ("assignment", assignment),
                ("submission", submission),
                ("job", job),
                ("item", item),
            ):
                refs.rows[kind][org] = value
    yield refs
    async with db.as_service() as session:
        await session.execute(
            text("delete from public.assignments where id = any(:ids)"), {"ids": list(refs.rows["assignment"].values())}
        )
        await session.execute(
            text("delete from public.assignment_categories where id = any(:ids)"),
            {"ids": list(refs.rows["category"].values())},
        )


READS = [
    Read("bulk_grading_jobs", "A", frozenset({"sa", "oa", "t1"}), {"id": "@job:A"}),
    Read("bulk_grading_jobs", "B", frozenset({"sa", "oaB", "tB"}), {"id": "@job:B"}),
    Read("bulk_grading_job_items", "A", frozenset({"sa", "oa", "t1"}), {"id": "@item:A"}),
    Read("bulk_grading_job_items", "B", frozenset({"sa", "oaB", "tB"}), {"id": "@item:B"}),
]
test_read = read_test(READS)


SERVICE_ONLY: set[str] = set()
WRITES = [
    W(
        "job-create",
        "insert",
        "bulk_grading_jobs",
        SERVICE_ONLY,
        values={
            "organization_id": "@org:A",
            "class_id": "@class:c1",
            "assignment_id": "@assignment:A",
            "requested_by": "@user:t1",
            "model": "claude-haiku",
        },
    ),
    W("job-A-change", "update", "bulk_grading_jobs", SERVICE_ONLY, where={"id": "@job:A"}, values={"state": "failed"}),
    W("job-A-delete", "delete", "bulk_grading_jobs", SERVICE_ONLY, where={"id": "@job:A"}),
    W(
        "item-create",
        "insert",
        "bulk_grading_job_items",
        SERVICE_ONLY,
        values={"organization_id": "@org:A", "job_id": "@job:A", "submission_id": "@submission:A"},
        setup=[("delete from public.bulk_grading_job_items where id = :id", {"id": "@item:A"})],
    ),
    W(
        "item-A-change",
        "update",
        "bulk_grading_job_items",
        SERVICE_ONLY,
        where={"id": "@item:A"},
        values={"state": "done"},
    ),
    W("item-A-delete", "delete", "bulk_grading_job_items", SERVICE_ONLY, where={"id": "@item:A"}),
]


def test_the_matrix_covers_every_table_and_operation():
    assert {(r.table, r.row) for r in READS} == {(t, o) for t in TABLES for o in ("A", "B")}
    assert {(w.table, w.op) for w in WRITES} == {(t, op) for t in TABLES for op in ("insert", "update", "delete")}


test_write = write_test(WRITES)


async def test_bulk_grading_tables_are_all_in_the_matrix(db):
    async with rolled_back(db, SERVICE) as session:
        tables = set(
            await session.scalars(
                text(
                    "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace "
                    "and c.relkind in ('r', 'p') and c.relname like 'bulk\\_grading%'"
                )
            )
        )
    assert tables == set(TABLES)


async def test_the_job_queue_schema_is_the_servers_alone(db, world):
    """Procrastinate's schema: service_role uses it; no end-user role even sees into it."""
    for identity in (world.identity("sa"), world.identity("t1"), world.identity("anon")):
        async with rolled_back(db, identity) as session:
            assert await session.scalar(text("select has_schema_privilege('procrastinate', 'usage')")) is False
    async with rolled_back(db, SERVICE) as session:
        assert await session.scalar(text("select count(*) >= 0 from procrastinate.procrastinate_jobs")) is True
