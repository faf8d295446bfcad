"""Every cell of the "Assignments and grading" section of ACCESS.md, proved against the real database.

Same method as ``tests/tenancy/test_access_core.py``: each probe runs one statement
as one actor through the server's own login role (``authenticator``) in a
transaction that is always rolled back; a probe counts as refused when PostgreSQL
answers 42501 (no privilege, a row-level security check, or a guard trigger) or
when the statement touches no row. The tables below name, per row (reads) or per
statement (writes), exactly who may; every actor not named is expected to be
refused. Helpers are in ``tests/access.py``.

Actors are the people of ``tests.conftest.World`` (``sa``; org A ``oa`` ``t1`` ``t2``
``s1`` ``s2`` ``p1`` ``p2``; org B ``oaB`` ``tB`` ``sB`` ``pB``, who are X for every org A
row), ``anon`` and ``service`` (the server's own ``service_role``: it bypasses RLS and
is added to every allowed set).

The grading rows are committed once per module by ``refs`` (as service) and deleted
again after it. In c1 (t1 teaches s1, p1 guards s1) there are published assignments
``posted`` ``unposted`` ``ai`` ``open``, ``hidden`` (published, not visible to parents),
``closed`` (closed, its close time passed) and ``draft``; s1 has a submission for each
published one, and grades: ``posted`` (final, posted), ``unposted`` (final, not
posted), ``ai`` (an unconfirmed AI suggestion) and ``hidden`` (final, posted, on the
assignment parents may not see). c2 (t2, s2, p2), c3 (co-taught by t1 and t2, no
students) and cB (tB, sB, pB) have one of each where it matters.

Readings of the matrix this file holds the database to:
- "published ones" are the assignments that are not drafts (published or closed);
  visibility to parents restricts submissions and grades, not the assignment itself.
- Submissions are written only as the row says: S creates own (on a published
  assignment that has not closed) and changes own (body, links, turning it in) until
  it is graded or the assignment closes; T only returns, excuses and marks missing:
  sets the status to returned, excused or missing, or creates an empty missing or
  excused row, and never changes the work. OA, staff of every class as in the other
  grading rows, may do what T does and no more. Nobody deletes a submission but S
  discarding an unsent draft (and SA).
- Rubric scores are written as their grade: an unconfirmed AI suggestion's scores
  only by service, like the suggestion itself.
- ``grading_scale_levels`` has no row in ACCESS.md; like the other organization-wide
  lists it is read by M and written by OA.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import sqlstate
from tests.academics.test_access_academics import TABLES as ACADEMIC_TABLES
from tests.access import (
    A_PEOPLE,
    ACTORS,
    B_PEOPLE,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    Read,
    Refs,
    Sql,
    W,
    as_actor,
    assert_writes_cover,
    members,
    public_tables_like,
    read_test,
    write_test,
)

GRADING_TABLES = (
    "grading_scale_levels",
    "assignment_categories",
    "assignments",
    "assignment_rubrics",
    "assignment_rubric_criteria",
    "assignment_submissions",
    "assignment_grades",
    "rubric_grades",
    "grade_history",
)

# assignment key -> (class, category, state, visible_to_parents, allowed_attempts)
ASSIGNMENTS = {
    "posted": ("c1", "c1", "published", True, 1),
    "unposted": ("c1", "c1", "published", True, 1),
    "ai": ("c1", "c1", "published", True, 1),
    "hidden": ("c1", "c1", "published", False, 1),
    "open": ("c1", "c1", "published", True, 3),
    "closed": ("c1", "c1", "published", True, 1),  # closed after s1 submitted
    "draft": ("c1", "c1", "draft", True, 1),
    "c2": ("c2", "c2", "published", True, 1),
    "c3": ("c3", "c3", "published", True, 1),
    "cB": ("cB", "cB", "published", True, 1),
}
# category key -> (class, weight)
CATEGORIES = {"c1": ("c1", 40), "c1-empty": ("c1", 10), "c2": ("c2", 40), "c3": ("c3", 40), "cB": ("cB", 40)}
RUBRICS = ("posted", "unposted", "ai", "hidden", "draft", "c2", "cB")  # one criterion each, keyed alike
SECOND_CRITERIA = ("unposted", "ai")  # a criterion without a score yet: "<key>-2"
# submission key -> (assignment, student, attempt, status as submitted)
SUBMISSIONS = {
    "posted": ("posted", "s1", 1, "submitted"),
    "unposted": ("unposted", "s1", 1, "submitted"),
    "ai": ("ai", "s1", 1, "submitted"),
    "hidden": ("hidden", "s1", 1, "submitted"),
    "open": ("open", "s1", 1, "submitted"),
    "open-draft": ("open", "s1", 2, "draft"),
    "closed": ("closed", "s1", 1, "submitted"),
    "c2": ("c2", "s2", 1, "submitted"),
    "cB": ("cB", "sB", 1, "submitted"),
}
# grade key (= its submission's) -> (state, posted)
GRADES = {
    "posted": ("final", True),
    "unposted": ("final", False),
    "ai": ("ai_suggested", False),
    "hidden": ("final", True),
    "c2": ("final", True),
    "cB": ("final", True),
}
SCALES = ("A", "B")
POINTS = 10

# Rows created inside a probe's own transaction (as service, before the actor's identity):
# s2 joins c1 as t1's student (p2 is her parent) with a graded, posted submission.
PROBE_S2_SUBMISSION = uuid.UUID("00000000-0000-4000-8000-0000000c5001")
PROBE_S2_GRADE = uuid.UUID("00000000-0000-4000-8000-0000000c5002")
SEED_S2_IN_C1 = (
    "insert into public.enrollments (organization_id, class_id, user_id, role) values (:org, :class, :user, 'student')",
    {"org": "@org:A", "class": "@class:c1", "user": "@user:s2"},
)
SEED_S2_SUBMISSION = (
    "insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, status)"
    " values (:id, :org, :class, :assignment, :user, 'submitted')",
    {
        "id": PROBE_S2_SUBMISSION,
        "org": "@org:A",
        "class": "@class:c1",
        "assignment": "@assignment:posted",
        "user": "@user:s2",
    },
)
SEED_S2_GRADE = (
    "insert into public.assignment_grades (id, organization_id, class_id, assignment_id, submission_id, student_id,"
    " points, points_possible, state, posted_at) values (:id, :org, :class, :assignment, :submission, :user, 7, 10,"
    " 'final', now())",
    {
        "id": PROBE_S2_GRADE,
        "org": "@org:A",
        "class": "@class:c1",
        "assignment": "@assignment:posted",
        "submission": PROBE_S2_SUBMISSION,
        "user": "@user:s2",
    },
)
S2_IN_C1 = (SEED_S2_IN_C1, SEED_S2_SUBMISSION, SEED_S2_GRADE)
# The unposted grade turned back into a draft; the AI suggestion accepted and posted.
SEED_UNPOSTED_TO_DRAFT = (
    "update public.assignment_grades set state = 'draft' where id = :id",
    {"id": "@grade:unposted"},
)
SEED_AI_ACCEPTED = (
    "update public.assignment_grades set state = 'final', posted_at = now() where id = :id",
    {"id": "@grade:ai"},
)
# The hidden assignment made visible to parents after all.
SEED_HIDDEN_SHOWN = (
    "update public.assignments set visible_to_parents = true where id = :id",
    {"id": "@assignment:hidden"},
)


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    """The grading rows of the world, committed once and deleted after the module."""
    refs = Refs(world)
    rows = refs.rows
    for kind in ("category", "assignment", "rubric", "criterion", "submission", "grade", "rubric_grade", "scale"):
        rows[kind] = {}
    org_of_class = {name: ("B" if name == "cB" else "A") for name in world.classes}
    async with db.as_service() as session:

        async def insert(sql: str, **params) -> uuid.UUID:
            return (await session.execute(text(sql), params)).scalar_one()

        for key, (cls, weight) in CATEGORIES.items():
            rows["category"][key] = await insert(
                "insert into public.assignment_categories (organization_id, class_id, name, weight_percent)"
                " values (:org, :class, :name, :weight) returning id",
                org=world.orgs[org_of_class[cls]],
                **{"class": world.classes[cls]},
                name=f"Category {key}",
                weight=weight,
            )
        for key, (cls, category, state, visible, attempts) in ASSIGNMENTS.items():
            rows["assignment"][key] = await insert(
                "insert into public.assignments (organization_id, class_id, category_id, title, points_possible,"
                " state, visible_to_parents, allowed_attempts) values (:org, :class, :category, :title, :points,"
                " cast(:state as public.assignment_state), :visible, :attempts) returning id",
                org=world.orgs[org_of_class[cls]],
                **{"class": world.classes[cls]},
                category=rows["category"][category],
                title=f"Assignment {key}",
                points=POINTS,
                state=state,
                visible=visible,
                attempts=attempts,
            )
        for key in RUBRICS:
            cls = ASSIGNMENTS[key][0]
            org = world.orgs[org_of_class[cls]]
            rows["rubric"][key] = await insert(
                "insert into public.assignment_rubrics (organization_id, assignment_id, title)"
                " values (:org, :assignment, :title) returning id",
                org=org,
                assignment=rows["assignment"][key],
                title=f"Rubric {key}",
            )
            for position, criterion in enumerate([key, f"{key}-2"] if key in SECOND_CRITERIA else [key]):
                rows["criterion"][criterion] = await insert(
                    "insert into public.assignment_rubric_criteria (organization_id, rubric_id, position, title,"
                    " max_points) values (:org, :rubric, :position, :title, :points) returning id",
                    org=org,
                    rubric=rows["rubric"][key],
                    position=position,
                    title=f"Criterion {criterion}",
                    points=POINTS,
                )
        for key, (assignment, student, attempt, status) in SUBMISSIONS.items():
            cls = ASSIGNMENTS[assignment][0]
            rows["submission"][key] = await insert(
                "insert into public.assignment_submissions (organization_id, class_id, assignment_id, student_id,"
                " attempt, body, status) values (:org, :class, :assignment, :student, :attempt, 'My work',"
                " cast(:status as public.submission_status)) returning id",
                org=world.orgs[org_of_class[cls]],
                **{"class": world.classes[cls]},
                assignment=rows["assignment"][assignment],
                student=world.users[student],
                attempt=attempt,
                status=status,
            )
        await session.execute(
            text("update public.assignments set state = 'closed', close_at = now() - interval '1 hour' where id = :id"),
            {"id": rows["assignment"]["closed"]},
        )
        for key, (state, posted) in GRADES.items():
            assignment, student, _, _ = SUBMISSIONS[key]
            cls = ASSIGNMENTS[assignment][0]
            rows["grade"][key] = await insert(
                "insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id,"
                " student_id, points, points_possible, source, state, posted_at, ai_confidence)"
                " values (:org, :class, :assignment, :submission, :student, 0, :points,"
                " cast(:source as public.grade_source), cast(:state as public.grade_state),"
                " case when :posted then now() end, case when :ai then 0.8 end) returning id",
                org=world.orgs[org_of_class[cls]],
                **{"class": world.classes[cls]},
                assignment=rows["assignment"][assignment],
                submission=rows["submission"][key],
                student=world.users[student],
                points=POINTS,
                source="ai" if state == "ai_suggested" else "teacher",
                state=state,
                posted=posted,
                ai=state == "ai_suggested",
            )
            rows["rubric_grade"][key] = await insert(
                "insert into public.rubric_grades (organization_id, grade_id, criterion_id, points)"
                " values (:org, :grade, :criterion, 8) returning id",
                org=world.orgs[org_of_class[cls]],
                grade=rows["grade"][key],
                criterion=rows["criterion"][key],
            )
        for org in SCALES:
            rows["scale"][org] = await insert(
                "insert into public.grading_scale_levels (organization_id, letter, min_percent)"
                " values (:org, 'P', 50) returning id",
                org=world.orgs[org],
            )
    yield refs
    async with db.as_service() as session:
        for kind, table in (
            ("scale", "grading_scale_levels"),
            ("assignment", "assignments"),
            ("category", "assignment_categories"),
        ):
            await session.execute(
                text(f"delete from public.{table} where id = any(:ids)"), {"ids": list(rows[kind].values())}
            )
        # History rows outlive their grades (the cascade above wrote the DELETE ones).
        await session.execute(
            text("delete from public.grade_history where grade_id = any(:ids)"), {"ids": list(rows["grade"].values())}
        )


# ---------------------------------------------------------------------------
# Reads: one row each, and who may see it (service is added to every set).

C1_ALL = {"sa", "oa", "t1", "s1", "p1"}  # OA; T; S of the class; P of such a student
C1_STAFF = {"sa", "oa", "t1"}
C2_ALL = {"sa", "oa", "t2", "s2", "p2"}
C2_STAFF = {"sa", "oa", "t2"}
C3_STAFF = {"sa", "oa", "t1", "t2"}  # co-taught, no students
CB_ALL = {"sa", "oaB", "tB", "sB", "pB"}
CB_STAFF = {"sa", "oaB", "tB"}

# table -> (id column, id kind of the seed)
KEY = {
    "grading_scale_levels": ("id", "scale"),
    "assignment_categories": ("id", "category"),
    "assignments": ("id", "assignment"),
    "assignment_rubrics": ("id", "rubric"),
    "assignment_rubric_criteria": ("id", "criterion"),
    "assignment_submissions": ("id", "submission"),
    "assignment_grades": ("id", "grade"),
    "rubric_grades": ("id", "rubric_grade"),
    "grade_history": ("grade_id", "grade"),
}


def R(table, row, readers, *, setup=()) -> Read:
    column, kind = KEY[table]
    return Read(table, row, frozenset(readers), {column: f"@{kind}:{row}"}, tuple(setup))


# Assignments: OA; T; published ones: S of the class and P of such a student.
ASSIGNMENT_READERS = {
    "posted": C1_ALL,
    "unposted": C1_ALL,
    "ai": C1_ALL,
    "open": C1_ALL,
    "hidden": C1_ALL,  # visible_to_parents governs submissions and grades, not the assignment
    "closed": C1_ALL,  # a closed assignment was published
    "draft": C1_STAFF,  # drafts: staff only
    "c2": C2_ALL,
    "c3": C3_STAFF,
    "cB": CB_ALL,
}
# Submissions: OA; T; S own; P own child's when the assignment is visible to parents.
SUBMISSION_READERS = {
    "posted": C1_ALL,
    "unposted": C1_ALL,
    "ai": C1_ALL,
    "open": C1_ALL,
    "open-draft": C1_ALL,
    "closed": C1_ALL,
    "hidden": C1_STAFF | {"s1"},  # not p1
    "c2": C2_ALL,
    "cB": CB_ALL,
}
# Grades: OA; T; S own once posted; P own child's once posted and visible to parents;
# an unconfirmed AI suggestion only OA and T.
GRADE_READERS = {
    "posted": C1_ALL,
    "unposted": C1_STAFF,  # final but not posted
    "ai": C1_STAFF,  # AI suggestion
    "hidden": C1_STAFF | {"s1"},  # posted, but its assignment is not visible to parents
    "c2": C2_ALL,
    "cB": CB_ALL,
}
# Grades in states the seed does not hold, made inside the probe.
GRADE_VARIANTS = {
    "unposted-draft": ("unposted", C1_STAFF, (SEED_UNPOSTED_TO_DRAFT,)),
    "ai-accepted-posted": ("ai", C1_ALL, (SEED_AI_ACCEPTED,)),
    "hidden-shown": ("hidden", C1_ALL, (SEED_HIDDEN_SHOWN,)),
}

READS = [
    # grading_scale_levels (not in ACCESS.md): M.
    R("grading_scale_levels", "A", members(A_PEOPLE)),
    R("grading_scale_levels", "B", members(B_PEOPLE)),
    # assignment_categories: OA; T; S and P of the class.
    R("assignment_categories", "c1", C1_ALL),
    R("assignment_categories", "c1-empty", C1_ALL),
    R("assignment_categories", "c2", C2_ALL),
    R("assignment_categories", "c3", C3_STAFF),
    R("assignment_categories", "cB", CB_ALL),
    *(R("assignments", key, readers) for key, readers in ASSIGNMENT_READERS.items()),
    # Rubrics and criteria: as their assignment.
    *(R("assignment_rubrics", key, ASSIGNMENT_READERS[key]) for key in RUBRICS),
    *(R("assignment_rubric_criteria", key, ASSIGNMENT_READERS[key]) for key in RUBRICS),
    *(R("assignment_rubric_criteria", f"{key}-2", ASSIGNMENT_READERS[key]) for key in SECOND_CRITERIA),
    *(R("assignment_submissions", key, readers) for key, readers in SUBMISSION_READERS.items()),
    *(R("assignment_grades", key, readers) for key, readers in GRADE_READERS.items()),
    # rubric_grades: as their grade.
    *(R("rubric_grades", key, readers) for key, readers in GRADE_READERS.items()),
    # grade_history: OA; T.
    *(R("grade_history", key, {"c2": C2_STAFF, "cB": CB_STAFF}.get(key, C1_STAFF)) for key in GRADES),
    # The same rows in other states.
    *(
        Read("assignment_grades", name, frozenset(readers), {"id": f"@grade:{key}"}, setup)
        for name, (key, readers, setup) in GRADE_VARIANTS.items()
    ),
    *(
        Read("rubric_grades", name, frozenset(readers), {"id": f"@rubric_grade:{key}"}, setup)
        for name, (key, readers, setup) in GRADE_VARIANTS.items()
    ),
    Read(
        "assignment_submissions", "hidden-shown", frozenset(C1_ALL), {"id": "@submission:hidden"}, (SEED_HIDDEN_SHOWN,)
    ),
    # A classmate: s2 joins c1 with a posted grade; s1 and p1 do not see it, s2 and p2 do.
    Read(
        "assignment_submissions", "s2-in-c1", frozenset(C1_STAFF | {"s2", "p2"}), {"id": PROBE_S2_SUBMISSION}, S2_IN_C1
    ),
    Read("assignment_grades", "s2-in-c1", frozenset(C1_STAFF | {"s2", "p2"}), {"id": PROBE_S2_GRADE}, S2_IN_C1),
    Read("grade_history", "s2-in-c1", frozenset(C1_STAFF), {"grade_id": PROBE_S2_GRADE}, S2_IN_C1),
]


def test_read_table_covers_every_seeded_grading_row():
    """Every grading table is in the read table, with every row the seed gives it."""
    seeded = {(r.table, r.row) for r in READS if not r.setup}
    kinds = {
        "scale": SCALES,
        "category": CATEGORIES,
        "assignment": ASSIGNMENTS,
        "rubric": RUBRICS,
        "criterion": (*RUBRICS, *(f"{k}-2" for k in SECOND_CRITERIA)),
        "submission": SUBMISSIONS,
        "grade": GRADES,
        "rubric_grade": GRADES,
    }
    assert seeded == {(table, row) for table, (_, kind) in KEY.items() for row in kinds.get(kind, GRADES)}
    assert set(KEY) == set(GRADING_TABLES)


test_read = read_test(READS)


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).

SERVICE_ONLY: set[str] = set()
A, C1 = "@org:A", "@class:c1"


def submission(assignment: str, student: str = "s1", cls: str = "c1", org: str = "A", **values) -> dict:
    return {
        "organization_id": f"@org:{org}",
        "class_id": f"@class:{cls}",
        "assignment_id": f"@assignment:{assignment}",
        "student_id": f"@user:{student}",
        **values,
    }


def grade(key: str, **values) -> dict:
    assignment, student, _, _ = SUBMISSIONS[key]
    cls = ASSIGNMENTS[assignment][0]
    return {
        "organization_id": "@org:B" if cls == "cB" else A,
        "class_id": f"@class:{cls}",
        "assignment_id": f"@assignment:{assignment}",
        "submission_id": f"@submission:{key}",
        "student_id": f"@user:{student}",
        "points": 5,
        "points_possible": POINTS,
        **values,
    }


WRITES = [
    # grading_scale_levels (not in ACCESS.md): OA.
    W(
        "scale-A-create",
        "insert",
        "grading_scale_levels",
        {"sa", "oa"},
        values={"organization_id": A, "letter": "Z", "min_percent": 33.33},
    ),
    W(
        "scale-B-create",
        "insert",
        "grading_scale_levels",
        {"sa", "oaB"},
        values={"organization_id": "@org:B", "letter": "Z", "min_percent": 33.33},
    ),
    W(
        "scale-A-change",
        "update",
        "grading_scale_levels",
        {"sa", "oa"},
        where={"id": "@scale:A"},
        values={"min_percent": 55},
    ),
    W("scale-A-delete", "delete", "grading_scale_levels", {"sa", "oa"}, where={"id": "@scale:A"}),
    W("scale-B-delete", "delete", "grading_scale_levels", {"sa", "oaB"}, where={"id": "@scale:B"}),
    # assignment_categories: OA; T (of the class).
    W(
        "category-c1-create",
        "insert",
        "assignment_categories",
        {"sa", "oa", "t1"},
        values={"organization_id": A, "class_id": C1, "name": "@unique", "weight_percent": 10},
    ),
    W(
        "category-c2-create",
        "insert",
        "assignment_categories",
        {"sa", "oa", "t2"},
        values={"organization_id": A, "class_id": "@class:c2", "name": "@unique", "weight_percent": 10},
    ),
    W(
        "category-c3-create",
        "insert",
        "assignment_categories",
        {"sa", "oa", "t1", "t2"},
        values={"organization_id": A, "class_id": "@class:c3", "name": "@unique", "weight_percent": 10},
    ),
    W(
        "category-cB-create",
        "insert",
        "assignment_categories",
        {"sa", "oaB", "tB"},
        values={"organization_id": "@org:B", "class_id": "@class:cB", "name": "@unique", "weight_percent": 10},
    ),
    W(
        "category-c1-change",
        "update",
        "assignment_categories",
        {"sa", "oa", "t1"},
        where={"id": "@category:c1"},
        values={"drop_lowest": 1, "weight_percent": 45},
    ),
    W(
        "category-c2-change",
        "update",
        "assignment_categories",
        {"sa", "oa", "t2"},
        where={"id": "@category:c2"},
        values={"drop_lowest": 1},
    ),
    W(
        "category-c1-move-to-c2",
        "update",
        "assignment_categories",
        {"sa", "oa"},
        where={"id": "@category:c1-empty"},
        values={"class_id": "@class:c2"},
    ),
    W("category-c1-delete", "delete", "assignment_categories", {"sa", "oa", "t1"}, where={"id": "@category:c1-empty"}),
    # assignments: OA; T.
    W(
        "assignment-c1-create",
        "insert",
        "assignments",
        {"sa", "oa", "t1"},
        values={
            "organization_id": A,
            "class_id": C1,
            "category_id": "@category:c1",
            "title": "New",
            "points_possible": 5,
        },
    ),
    W(
        "assignment-c2-create",
        "insert",
        "assignments",
        {"sa", "oa", "t2"},
        values={
            "organization_id": A,
            "class_id": "@class:c2",
            "category_id": "@category:c2",
            "title": "New",
            "points_possible": 5,
        },
    ),
    W(
        "assignment-cB-create",
        "insert",
        "assignments",
        {"sa", "oaB", "tB"},
        values={
            "organization_id": "@org:B",
            "class_id": "@class:cB",
            "category_id": "@category:cB",
            "title": "New",
            "points_possible": 5,
        },
    ),
    W(
        "assignment-draft-publish",
        "update",
        "assignments",
        {"sa", "oa", "t1"},
        where={"id": "@assignment:draft"},
        values={"state": "published"},
    ),
    W(
        "assignment-posted-change",
        "update",
        "assignments",
        {"sa", "oa", "t1"},
        where={"id": "@assignment:posted"},
        values={"title": "Renamed", "visible_to_parents": False},
    ),
    W(
        "assignment-open-close",
        "update",
        "assignments",
        {"sa", "oa", "t1"},
        where={"id": "@assignment:open"},
        values={"state": "closed", "close_at": NOW},
    ),
    W(
        "assignment-c3-change",
        "update",
        "assignments",
        {"sa", "oa", "t1", "t2"},
        where={"id": "@assignment:c3"},
        values={"title": "Renamed"},
    ),
    W(
        "assignment-c2-change",
        "update",
        "assignments",
        {"sa", "oa", "t2"},
        where={"id": "@assignment:c2"},
        values={"title": "Renamed"},
    ),
    W(
        "assignment-cB-change",
        "update",
        "assignments",
        {"sa", "oaB", "tB"},
        where={"id": "@assignment:cB"},
        values={"title": "Renamed"},
    ),
    W("assignment-draft-delete", "delete", "assignments", {"sa", "oa", "t1"}, where={"id": "@assignment:draft"}),
    W("assignment-posted-delete", "delete", "assignments", {"sa", "oa", "t1"}, where={"id": "@assignment:posted"}),
    # assignment_rubrics and criteria: OA; T.
    W(
        "rubric-create",
        "insert",
        "assignment_rubrics",
        {"sa", "oa", "t1"},
        values={"organization_id": A, "assignment_id": "@assignment:open", "title": "New"},
    ),
    W(
        "rubric-c2-create",
        "insert",
        "assignment_rubrics",
        {"sa", "oa", "t2"},
        values={"organization_id": A, "assignment_id": "@assignment:c2", "title": "New"},
        setup=[("delete from public.assignment_rubrics where id = :id", {"id": "@rubric:c2"})],
    ),
    W(
        "rubric-change",
        "update",
        "assignment_rubrics",
        {"sa", "oa", "t1"},
        where={"id": "@rubric:posted"},
        values={"title": "Renamed"},
    ),
    W(
        "rubric-draft-change",
        "update",
        "assignment_rubrics",
        {"sa", "oa", "t1"},
        where={"id": "@rubric:draft"},
        values={"title": "Renamed"},
    ),
    W(
        "rubric-c2-change",
        "update",
        "assignment_rubrics",
        {"sa", "oa", "t2"},
        where={"id": "@rubric:c2"},
        values={"title": "Renamed"},
    ),
    W(
        "rubric-cB-change",
        "update",
        "assignment_rubrics",
        {"sa", "oaB", "tB"},
        where={"id": "@rubric:cB"},
        values={"title": "Renamed"},
    ),
    W("rubric-draft-delete", "delete", "assignment_rubrics", {"sa", "oa", "t1"}, where={"id": "@rubric:draft"}),
    W(
        "criterion-create",
        "insert",
        "assignment_rubric_criteria",
        {"sa", "oa", "t1"},
        values={"organization_id": A, "rubric_id": "@rubric:posted", "position": 9, "title": "New", "max_points": 2},
    ),
    W(
        "criterion-c2-create",
        "insert",
        "assignment_rubric_criteria",
        {"sa", "oa", "t2"},
        values={"organization_id": A, "rubric_id": "@rubric:c2", "position": 9, "title": "New", "max_points": 2},
    ),
    W(
        "criterion-change",
        "update",
        "assignment_rubric_criteria",
        {"sa", "oa", "t1"},
        where={"id": "@criterion:posted"},
        values={"title": "Renamed", "max_points": 9},
    ),
    W(
        "criterion-cB-change",
        "update",
        "assignment_rubric_criteria",
        {"sa", "oaB", "tB"},
        where={"id": "@criterion:cB"},
        values={"title": "Renamed"},
    ),
    W("criterion-delete", "delete", "assignment_rubric_criteria", {"sa", "oa", "t1"}, where={"id": "@criterion:draft"}),
    # assignment_submissions: S creates and changes own until it is graded or the
    # assignment closes; T returns, excuses, marks missing.
    W(
        "s1-submits-open",
        "insert",
        "assignment_submissions",
        {"sa", "s1"},
        values=submission("open", attempt=3, body="Attempt three", status="submitted"),
    ),
    W(
        "s1-drafts-open",
        "insert",
        "assignment_submissions",
        {"sa", "s1"},
        values=submission("open", attempt=3, body="Not yet", status="draft"),
    ),
    W(
        "s1-drafts-closed",
        "insert",
        "assignment_submissions",
        {"sa"},
        values=submission("closed", attempt=2, body="Too late", status="draft"),
    ),
    W(
        "s1-drafts-unpublished",
        "insert",
        "assignment_submissions",
        {"sa"},
        values=submission("draft", body="Too early", status="draft"),
    ),
    W(
        "s2-submits-c2",
        "insert",
        "assignment_submissions",
        {"sa", "s2"},
        values=submission("c2", "s2", "c2", attempt=2, status="submitted"),
        setup=[("update public.assignments set allowed_attempts = 2 where id = :id", {"id": "@assignment:c2"})],
    ),
    W(
        "s2-submits-in-c1",
        "insert",
        "assignment_submissions",
        {"sa", "s2"},  # s1 does not submit for a classmate
        values=submission("open", "s2", status="submitted"),
        setup=[SEED_S2_IN_C1],
    ),
    W(
        "sB-submits-cB",
        "insert",
        "assignment_submissions",
        {"sa", "sB"},
        values=submission("cB", "sB", "cB", "B", attempt=2, status="draft"),
    ),
    W(
        "t1-marks-missing",
        "insert",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        values=submission("open", attempt=3, status="missing"),
    ),
    W(
        "t1-excuses",
        "insert",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        values=submission("open", attempt=3, status="excused"),
    ),
    W(
        "t1-writes-work",
        "insert",
        "assignment_submissions",
        {"sa"},  # a missing row carries no work
        values=submission("open", attempt=3, status="missing", body="Written by the teacher"),
    ),
    W(
        "t1-grades-status",
        "insert",
        "assignment_submissions",
        {"sa"},
        values=submission("open", attempt=3, status="graded"),
    ),
    W(
        "t2-marks-c2-missing",
        "insert",
        "assignment_submissions",
        {"sa", "oa", "t2"},
        values=submission("c2", "s2", "c2", attempt=2, status="missing"),
        setup=[("update public.assignments set allowed_attempts = 2 where id = :id", {"id": "@assignment:c2"})],
    ),
    W(
        "s1-edits-open",
        "update",
        "assignment_submissions",
        {"sa", "s1"},
        where={"id": "@submission:open"},
        values={"body": "Edited", "links": Sql("array['https://example.org/work']")},
    ),
    W(
        "s1-submits-draft",
        "update",
        "assignment_submissions",
        {"sa", "s1"},
        where={"id": "@submission:open-draft"},
        values={"status": "submitted", "body": "Done"},
    ),
    W(
        "s1-edits-closed",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:closed"},
        values={"body": "After closing"},
    ),
    W(
        "s1-edits-graded",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:unposted"},
        values={"body": "After grading"},
    ),
    W(
        "s1-edits-returned",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:posted"},
        values={"body": "After return"},
    ),
    W(
        "s1-edits-after-close-time",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:open"},
        values={"body": "After the close time"},
        setup=[
            (
                "update public.assignments set close_at = now() - interval '1 second' where id = :id",
                {"id": "@assignment:open"},
            )
        ],
    ),
    W(
        "s1-sets-graded",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:open"},
        values={"status": "graded"},
    ),
    W(
        "t1-returns-ungraded",
        "update",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        where={"id": "@submission:open"},
        values={"status": "returned"},
    ),
    W(
        "s1-moves-draft-to-closed",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:open-draft"},
        values={"assignment_id": "@assignment:closed", "attempt": 2},
    ),
    W(
        "s1-gives-away",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:open"},
        values={"student_id": "@user:s2"},
        setup=[SEED_S2_IN_C1],
    ),
    W(
        "t1-returns",
        "update",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        where={"id": "@submission:unposted"},
        values={"status": "returned"},
    ),
    W(
        "t1-excuses-existing",
        "update",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        where={"id": "@submission:open"},
        values={"status": "excused"},
    ),
    W(
        "t1-marks-existing-missing",
        "update",
        "assignment_submissions",
        {"sa", "oa", "t1"},
        where={"id": "@submission:closed"},
        values={"status": "missing"},
    ),
    W(
        "t1-rewrites-work",
        "update",
        "assignment_submissions",
        {"sa", "s1"},
        where={"id": "@submission:open"},
        values={"status": "submitted", "body": "Rewritten"},
    ),
    W(
        "t1-excuses-and-rewrites",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:open"},
        values={"status": "excused", "body": "Rewritten"},
    ),
    W(
        "t2-excuses-c2",
        "update",
        "assignment_submissions",
        {"sa", "oa", "t2"},
        where={"id": "@submission:c2"},
        values={"status": "excused"},
    ),
    W(
        "s2-edits-c2",
        "update",
        "assignment_submissions",
        {"sa"},
        where={"id": "@submission:c2"},  # graded
        values={"body": "Edited"},
    ),
    W(
        "tB-excuses-cB",
        "update",
        "assignment_submissions",
        {"sa", "oaB", "tB"},
        where={"id": "@submission:cB"},
        values={"status": "excused"},
    ),
    W("s1-discards-draft", "delete", "assignment_submissions", {"sa", "s1"}, where={"id": "@submission:open-draft"}),
    W("submitted-delete", "delete", "assignment_submissions", {"sa"}, where={"id": "@submission:open"}),
    W("graded-delete", "delete", "assignment_submissions", {"sa"}, where={"id": "@submission:posted"}),
    W("c2-delete", "delete", "assignment_submissions", {"sa"}, where={"id": "@submission:c2"}),
    # assignment_grades: OA; T; AI suggestions: service.
    W("grade-create", "insert", "assignment_grades", {"sa", "oa", "t1"}, values=grade("open", state="draft")),
    W(
        "grade-create-final-posted",
        "insert",
        "assignment_grades",
        {"sa", "oa", "t1"},
        values=grade("open", state="final", posted_at=NOW),
    ),
    W(
        "grade-create-c2",
        "insert",
        "assignment_grades",
        {"sa", "oa", "t2"},
        values=grade("c2", state="final"),
        setup=[("delete from public.assignment_grades where id = :id", {"id": "@grade:c2"})],
    ),
    W(
        "grade-create-ai-suggestion",
        "insert",
        "assignment_grades",
        SERVICE_ONLY,
        values=grade("open", source="ai", state="ai_suggested", ai_confidence=0.9),
    ),
    W(
        "grade-change",
        "update",
        "assignment_grades",
        {"sa", "oa", "t1"},
        where={"id": "@grade:unposted"},
        values={"points": 9, "feedback": "Well done"},
    ),
    W(
        "grade-post",
        "update",
        "assignment_grades",
        {"sa", "oa", "t1"},
        where={"id": "@grade:unposted"},
        values={"posted_at": NOW},
    ),
    W(
        "grade-unpost",
        "update",
        "assignment_grades",
        {"sa", "oa", "t1"},
        where={"id": "@grade:posted"},
        values={"posted_at": None},
    ),
    W(
        "grade-to-ai-suggestion",
        "update",
        "assignment_grades",
        SERVICE_ONLY,
        where={"id": "@grade:unposted"},
        values={"source": "ai", "state": "ai_suggested"},
    ),
    W(
        "ai-suggestion-accept",
        "update",
        "assignment_grades",
        {"sa", "oa", "t1"},
        where={"id": "@grade:ai"},
        values={"state": "final", "grader_id": "@user:t1"},
    ),
    W(
        "ai-suggestion-change",
        "update",
        "assignment_grades",
        SERVICE_ONLY,
        where={"id": "@grade:ai"},
        values={"points": 3, "ai_confidence": 0.5},
    ),
    W(
        "grade-c2-change",
        "update",
        "assignment_grades",
        {"sa", "oa", "t2"},
        where={"id": "@grade:c2"},
        values={"points": 9},
    ),
    W(
        "grade-cB-change",
        "update",
        "assignment_grades",
        {"sa", "oaB", "tB"},
        where={"id": "@grade:cB"},
        values={"points": 9},
    ),
    W("grade-delete", "delete", "assignment_grades", {"sa", "oa", "t1"}, where={"id": "@grade:posted"}),
    W("ai-suggestion-reject", "delete", "assignment_grades", {"sa", "oa", "t1"}, where={"id": "@grade:ai"}),
    W("grade-c2-delete", "delete", "assignment_grades", {"sa", "oa", "t2"}, where={"id": "@grade:c2"}),
    # rubric_grades: as their grade.
    W(
        "rubric-grade-create",
        "insert",
        "rubric_grades",
        {"sa", "oa", "t1"},
        values={
            "organization_id": A,
            "grade_id": "@grade:unposted",
            "criterion_id": "@criterion:unposted-2",
            "points": 1,
        },
    ),
    W(
        "rubric-grade-create-on-ai-suggestion",
        "insert",
        "rubric_grades",
        SERVICE_ONLY,
        values={"organization_id": A, "grade_id": "@grade:ai", "criterion_id": "@criterion:ai-2", "points": 1},
    ),
    W(
        "rubric-grade-change",
        "update",
        "rubric_grades",
        {"sa", "oa", "t1"},
        where={"id": "@rubric_grade:posted"},
        values={"points": 9, "comment": "Better"},
    ),
    W(
        "rubric-grade-change-on-ai-suggestion",
        "update",
        "rubric_grades",
        SERVICE_ONLY,
        where={"id": "@rubric_grade:ai"},
        values={"points": 9},
    ),
    W(
        "rubric-grade-c2-change",
        "update",
        "rubric_grades",
        {"sa", "oa", "t2"},
        where={"id": "@rubric_grade:c2"},
        values={"points": 9},
    ),
    W(
        "rubric-grade-cB-change",
        "update",
        "rubric_grades",
        {"sa", "oaB", "tB"},
        where={"id": "@rubric_grade:cB"},
        values={"points": 9},
    ),
    W("rubric-grade-delete", "delete", "rubric_grades", {"sa", "oa", "t1"}, where={"id": "@rubric_grade:posted"}),
    W(
        "rubric-grade-delete-on-ai-suggestion",
        "delete",
        "rubric_grades",
        SERVICE_ONLY,
        where={"id": "@rubric_grade:ai"},
    ),
    # grade_history: service (the trigger); nobody writes it directly, not even SA.
    W(
        "history-create",
        "insert",
        "grade_history",
        SERVICE_ONLY,
        values={"organization_id": A, "class_id": C1, "grade_id": "@grade:posted", "operation": "UPDATE"},
    ),
    W(
        "history-change",
        "update",
        "grade_history",
        SERVICE_ONLY,
        where={"grade_id": "@grade:posted"},
        values={"new_row": None},
    ),
    W("history-delete", "delete", "grade_history", SERVICE_ONLY, where={"grade_id": "@grade:posted"}),
]


def test_write_table_covers_every_grading_table_and_operation():
    """Every grading table has an insert, an update and a delete probe."""
    assert_writes_cover(WRITES, GRADING_TABLES)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Specific guarantees stated in words.


async def test_grading_tables_are_all_in_the_matrix(db):
    """A new grading table fails here until this file says who may read and write it (the
    grading periods' tables are proved in tests/academics/test_access_academics.py)."""
    tables = set()
    for pattern in ("assignment%", "%grade%", "grading%"):
        tables |= await public_tables_like(db, pattern)
    assert tables - set(ACADEMIC_TABLES) == set(GRADING_TABLES)


@pytest.mark.parametrize("status", ["graded", "returned", "missing", "excused"])
async def test_student_cannot_set_a_staff_status_on_own_submission(db, refs, status):
    """The row passes the update policy's using clause; its check is what refuses (42501)."""
    async with as_actor(db, refs, "s1") as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(
                    "update public.assignment_submissions set status = cast(:s as"
                    " public.submission_status) where id = :id"
                ),
                {"s": status, "id": refs.rows["submission"]["open"]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize("change", ["body = 'Rewritten'", "links = array['https://example.org']", "attempt = 5"])
async def test_teacher_changing_the_work_is_refused_by_the_guard(db, refs, change):
    async with as_actor(db, refs, "t1") as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(f"update public.assignment_submissions set status = 'excused', {change} where id = :id"),
                {"id": refs.rows["submission"]["open"]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


async def test_teacher_cannot_create_an_ai_suggestion(db, refs):
    async with as_actor(db, refs, "t1") as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(
                    "insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id,"
                    " student_id, points, points_possible, source, state) values (:org, :class, :assignment,"
                    " :submission, :student, 5, 10, 'ai', 'ai_suggested')"
                ),
                {
                    "org": refs.world.orgs["A"],
                    "class": refs.world.classes["c1"],
                    "assignment": refs.rows["assignment"]["open"],
                    "submission": refs.rows["submission"]["open"],
                    "student": refs.world.users["s1"],
                },
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


async def test_a_teachers_grade_change_is_recorded_by_the_trigger(db, refs):
    """T may not write grade_history, yet every change T makes to a grade lands there, as T."""
    grade_id = refs.rows["grade"]["unposted"]
    async with as_actor(db, refs, "t1") as session:
        before = await session.scalar(
            text("select count(*) from public.grade_history where grade_id = :g"), {"g": grade_id}
        )
        await session.execute(text("update public.assignment_grades set points = 6 where id = :g"), {"g": grade_id})
        row = (
            await session.execute(
                text(
                    "select operation, changed_by, old_row ->> 'points', new_row ->> 'points' from public.grade_history"
                    " where grade_id = :g order by changed_at desc, created_at desc limit 1"
                ),
                {"g": grade_id},
            )
        ).one()
        after = await session.scalar(
            text("select count(*) from public.grade_history where grade_id = :g"), {"g": grade_id}
        )
    assert after == before + 1
    assert tuple(row) == ("UPDATE", refs.world.users["t1"], "8.00", "6.00")


GRADEBOOK = text("select student_id, assignment_id, grade_id from public.class_gradebook(:class)")


@pytest.mark.parametrize("actor", ACTORS)
async def test_gradebook_shows_each_actor_what_they_may_read(db, refs, actor):
    """class_gradebook runs under the caller's RLS: its students, assignments and grades
    are exactly the rows of c1 the read table gives the actor."""
    async with as_actor(db, refs, actor) as session:
        try:
            rows = (await session.execute(GRADEBOOK, {"class": refs.world.classes["c1"]})).all()
        except DBAPIError as exc:
            assert actor == "anon" and sqlstate(exc) == INSUFFICIENT_PRIVILEGE
            return
    assert actor != "anon"

    def sees(readers):
        return actor in readers or actor == "service"

    rows_by_id = {v: k for k, v in refs.rows["assignment"].items()}
    grade_key = {v: k for k, v in refs.rows["grade"].items()}
    c1_students = {"s1"} if sees(SUBMISSION_READERS["open"]) else set()
    assert {row.student_id for row in rows} == {refs.world.users[s] for s in c1_students}
    if c1_students:  # one row per visible assignment of c1
        assert sorted(rows_by_id[row.assignment_id] for row in rows) == sorted(
            key
            for key, (cls, _, state, *_) in ASSIGNMENTS.items()
            if cls == "c1" and state != "draft" and sees(ASSIGNMENT_READERS[key])
        )  # drafts are not in a gradebook
    assert {grade_key[row.grade_id] for row in rows if row.grade_id} == {
        key for key, readers in GRADE_READERS.items() if ASSIGNMENTS[SUBMISSIONS[key][0]][0] == "c1" and sees(readers)
    }
