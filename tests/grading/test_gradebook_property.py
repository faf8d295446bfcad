"""public.class_gradebook equals a plain-Python reference computation.

Hypothesis draws a class: 1-4 categories (weights summing to at most 100, drop-lowest
0-2), 1-6 assignments (integer points possible, some late with a penalty, some closed
or still drafts), 1-4 students, and for every student and assignment one cell: no
submission, a draft, an ungraded submission, a grade (any points up to the possible,
in any non-AI state), an AI suggestion, excused (with or without a grade) or missing,
sometimes after an earlier attempt. Each example is built as ``service_role``
(through the server's login role) in one transaction that is rolled back, and the
function's answer is compared with ``reference`` below, which restates the rules
in Python with exact arithmetic:

- the cell is the student's latest attempt, a draft only when there is no other;
- excused work and work without a grade (or with only an AI suggestion) does not
  count; missing work without a grade counts as 0; a grade counts its final points
  (points less the late penalty);
- per category, the ``drop_lowest`` lowest percentages are dropped (ties: the lower
  assignment id first), keeping at least one; the category scores earned / possible;
- the course percentage is the weighted mean of the scores of the categories that
  have counted items, rounded half away from zero to 2 decimals; none when there are
  no such categories or their weights are all 0; drafts are not in the gradebook.

Points possible are whole numbers, so every ratio below 1 that PostgreSQL divides has
the same scale, and equal ratios compare equal there as they do here.
"""

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schoolbase.db.rls import SERVICE, apply_identity_sync

CENT = Decimal("0.01")
KINDS = ("none", "draft", "ungraded", "graded", "ai", "excused", "excused_graded", "missing")
# Grades and missing work are what drop-lowest works on: drawn more often.
CELL_KINDS = (*KINDS, "graded", "graded", "graded", "missing")
GRADE_STATES = ("draft", "final", "posted")


@dataclass(frozen=True)
class Category:
    weight: Decimal
    drop_lowest: int


@dataclass(frozen=True)
class Assignment:
    category: int
    possible: int
    state: str  # published | closed | draft
    late_days: int  # 0: on time; d: submitted in the d-th day after the due time
    penalty_per_day: Decimal
    floor: Decimal


@dataclass(frozen=True)
class Attempt:
    kind: str  # one of KINDS but "none"
    points: Decimal  # of the grade, where there is one
    grade_state: str  # draft | final | posted (for "graded")


@dataclass(frozen=True)
class Example:
    categories: list[Category]
    assignments: list[Assignment]
    # cells[student][assignment]: the attempts in order, empty for no submission
    cells: list[list[list[Attempt]]]


def _round_fraction(value: Fraction) -> Decimal:
    """Rounded half away from zero to 2 decimals, like PostgreSQL's round(numeric, 2) (for values >= 0)."""
    hundredths = (value * 100 * 2 + 1) // 2  # floor(x * 100 + 1/2): half up, x >= 0
    return Decimal(hundredths) / 100


@st.composite
def examples(draw) -> Example:
    n_categories = draw(st.integers(1, 4))
    categories, budget = [], 10000  # in hundredths of a percent
    for _ in range(n_categories):
        weight = draw(st.integers(0, budget))
        budget -= weight
        categories.append(Category(Decimal(weight) / 100, draw(st.integers(0, 2))))
    assignments = [
        Assignment(
            category=draw(st.integers(0, n_categories - 1)),
            possible=draw(st.integers(1, 200)),
            state=draw(st.sampled_from(("published", "published", "closed", "draft"))),
            late_days=draw(st.sampled_from((0, 0, 1, 3))),
            penalty_per_day=Decimal(draw(st.sampled_from((0, 10, 12.5, 40)))),
            floor=Decimal(draw(st.sampled_from((0, 50)))),
        )
        for _ in range(draw(st.integers(1, 6)))
    ]

    def attempt(possible: int, kinds) -> Attempt:
        return Attempt(
            kind=draw(st.sampled_from(kinds)),
            points=Decimal(draw(st.integers(0, possible * 100))) / 100,
            grade_state=draw(st.sampled_from(GRADE_STATES)),
        )

    cells = []
    for _ in range(draw(st.integers(1, 4))):
        row = []
        for a in assignments:
            kind = draw(st.sampled_from(CELL_KINDS))
            if kind == "none":
                row.append([])
                continue
            earlier = [attempt(a.possible, ("ungraded", "graded"))] if draw(st.integers(0, 2)) == 0 else []
            row.append([*earlier, attempt(a.possible, (kind,))])
        cells.append(row)
    return Example(categories, assignments, cells)


# ---------------------------------------------------------------------------
# The reference.


def final_points(a: Assignment, points: Decimal) -> Decimal:
    penalty_percent = min(a.late_days * a.penalty_per_day, 100 - a.floor) if a.late_days else Decimal(0)
    penalty = (points * penalty_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(points - penalty, Decimal(0))


def earned(a: Assignment, attempts: list[Attempt]) -> Decimal | None:
    """What the cell counts (None: not counted)."""
    if not attempts:
        return None
    numbered = list(enumerate(attempts, start=1))
    _, cell = min(numbered, key=lambda item: (item[1].kind == "draft", -item[0]))  # latest, drafts last
    if cell.kind in ("excused", "excused_graded"):
        return None
    if cell.kind == "graded":
        return final_points(a, cell.points)
    if cell.kind == "missing":
        return Decimal(0)
    return None  # draft, ungraded, an AI suggestion


def reference(example: Example, assignment_ids: list[uuid.UUID]) -> list[tuple[list[bool], Decimal | None]]:
    """Per student: counted per assignment (in order), and the course percentage."""
    result = []
    for row in example.cells:
        counted, by_category = [], {}
        for i, (a, attempts) in enumerate(zip(example.assignments, row)):
            value = earned(a, attempts)
            counted.append(value is not None)
            if value is not None and a.state != "draft":
                by_category.setdefault(a.category, []).append((Fraction(value), a.possible, assignment_ids[i]))
        weighted, weights = Fraction(0), Fraction(0)
        for index, items in by_category.items():
            items.sort(key=lambda item: (item[0] / item[1], item[2]))
            kept = items[min(example.categories[index].drop_lowest, len(items) - 1) :]
            weight = Fraction(example.categories[index].weight)
            weighted += weight * sum(e for e, _, _ in kept) / sum(p for _, p, _ in kept)
            weights += weight
        result.append((counted, _round_fraction(weighted / weights * 100) if weights else None))
    return result


# ---------------------------------------------------------------------------
# The database side: one rolled-back service_role transaction per example.


@pytest.fixture(scope="module")
def conn(urls):
    with psycopg.connect(urls.service, autocommit=False) as connection:
        yield connection


def build(cur, example: Example) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """The example as rows; returns the class, its students and its assignments."""
    org, cls = uuid.uuid4(), uuid.uuid4()
    students = [uuid.uuid4() for _ in example.cells]
    categories = [uuid.uuid4() for _ in example.categories]
    assignments = [uuid.uuid4() for _ in example.assignments]
    cur.execute("insert into public.organizations (id, name, slug) values (%s, 'Property', %s)", (org, f"p-{org.hex}"))
    cur.execute("insert into public.classes (id, organization_id, name) values (%s, %s, 'Property class')", (cls, org))
    cur.executemany(
        "insert into public.users (id, email, display_name) values (%s, %s, 'Student')",
        [(s, f"{s.hex}@example.org") for s in students],
    )
    cur.executemany(
        "insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'student')",
        [(org, s) for s in students],
    )
    cur.executemany(
        "insert into public.enrollments (organization_id, class_id, user_id, role) values (%s, %s, %s, 'student')",
        [(org, cls, s) for s in students],
    )
    cur.executemany(
        "insert into public.assignment_categories (id, organization_id, class_id, name, weight_percent, drop_lowest)"
        " values (%s, %s, %s, %s, %s, %s)",
        [
            (cid, org, cls, f"Category {i}", c.weight, c.drop_lowest)
            for i, (cid, c) in enumerate(zip(categories, example.categories))
        ],
    )
    cur.executemany(
        "insert into public.assignments (id, organization_id, class_id, category_id, title, points_possible, state,"
        " due_at, late_penalty_percent_per_day, late_penalty_floor_percent, allowed_attempts)"
        " values (%s, %s, %s, %s, 'Work', %s, 'published',"
        " case when %s > 0 then now() - make_interval(days => %s - 1, hours => 12) end, %s, %s, 2)",
        [
            (aid, org, cls, categories[a.category], a.possible, a.late_days, a.late_days, a.penalty_per_day, a.floor)
            for aid, a in zip(assignments, example.assignments)
        ],
    )
    submissions, grades, excuse = [], [], []
    for student, row in zip(students, example.cells):
        for aid, attempts in zip(assignments, row):
            for number, attempt in enumerate(attempts, start=1):
                sid = uuid.uuid4()
                status = {"draft": "draft", "excused": "excused", "missing": "missing"}.get(attempt.kind, "submitted")
                submissions.append((sid, org, cls, aid, student, number, status))
                if attempt.kind in ("graded", "ai", "excused_graded"):
                    state = (
                        "ai_suggested"
                        if attempt.kind == "ai"
                        else ("final" if attempt.grade_state == "posted" else attempt.grade_state)
                    )
                    grades.append(
                        (
                            org,
                            cls,
                            aid,
                            sid,
                            student,
                            attempt.points,
                            "ai" if attempt.kind == "ai" else "teacher",
                            state,
                            attempt.grade_state == "posted" and attempt.kind != "ai",
                        )
                    )
                if attempt.kind == "excused_graded":
                    excuse.append((sid,))
    cur.executemany(
        "insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, attempt,"
        " status) values (%s, %s, %s, %s, %s, %s, %s)",
        submissions,
    )
    cur.executemany(
        "insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id, student_id,"
        " points, points_possible, source, state, posted_at)"
        " values (%s, %s, %s, %s, %s, %s, 1, %s, %s, case when %s then now() end)",
        grades,
    )
    cur.executemany("update public.assignment_submissions set status = 'excused' where id = %s", excuse)
    cur.executemany(
        "update public.assignments set state = %s where id = %s",
        [(a.state, aid) for aid, a in zip(assignments, example.assignments) if a.state != "published"],
    )
    return cls, students, assignments


def gradebook(conn, example: Example):
    with conn.cursor() as cur:
        try:
            apply_identity_sync(cur, SERVICE)
            cls, students, assignments = build(cur, example)
            cur.execute(
                "select student_id, assignment_id, counted, course_percentage, final_points"
                " from public.class_gradebook(%s)",
                (cls,),
            )
            rows = cur.fetchall()
        finally:
            conn.rollback()
    return students, assignments, rows


def check(conn, example: Example) -> None:
    students, assignments, rows = gradebook(conn, example)
    expected = reference(example, assignments)
    shown = [i for i, a in enumerate(example.assignments) if a.state != "draft"]
    got = {(s, a): (counted, course) for s, a, counted, course, _ in rows}
    assert len(rows) == len(got) == len(students) * len(shown)
    for student, (counted, course) in zip(students, expected):
        for i in shown:
            assert got[(student, assignments[i])] == (counted[i], course), (student, i)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(example=examples())
def test_gradebook_equals_the_reference(conn, example):
    check(conn, example)


def test_a_worked_example(conn):
    """The reference and the function agree with a hand computation, so neither is vacuous.

    Homework (40 %, drop 1): 5/10, 8/10, 10/10, 9/20 and one excused; the lowest
    percentage (9/20, not the fewest points) is dropped: 23/30.
    Tests (60 %, drop 2): one test, missing, counts as 0/50 (at least one is kept).
    Course: (40 x 23/30 + 60 x 0) / 100 = 30.666... = 30.67 %.
    """

    def graded(points):
        return [Attempt("graded", Decimal(points), "final")]

    example = Example(
        categories=[Category(Decimal(40), 1), Category(Decimal(60), 2)],
        assignments=[
            Assignment(0, possible, "published", 0, Decimal(0), Decimal(0)) for possible in (10, 10, 10, 20, 10)
        ]
        + [Assignment(1, 50, "published", 0, Decimal(0), Decimal(0))],
        cells=[
            [
                graded(5),
                graded(8),
                graded(10),
                graded(9),
                [Attempt("excused", Decimal(0), "final")],
                [Attempt("missing", Decimal(0), "final")],
            ]
        ],
    )
    assert reference(example, [uuid.uuid4() for _ in range(6)]) == [
        ([True, True, True, True, False, True], Decimal("30.67"))
    ]
    check(conn, example)


def test_late_penalty_and_latest_attempt(conn):
    """A grade counts its final points; a later draft does not hide a graded attempt,
    a later submission does; an AI suggestion never counts."""
    late = Assignment(0, 100, "published", 3, Decimal("12.5"), Decimal(50))  # 37.5 % off: 80 -> 50.00
    on_time = Assignment(0, 100, "published", 0, Decimal(0), Decimal(0))
    example = Example(
        categories=[Category(Decimal(100), 0)],
        assignments=[late, on_time, on_time, on_time],
        cells=[
            [
                [Attempt("graded", Decimal(80), "posted")],
                [Attempt("graded", Decimal(70), "final"), Attempt("draft", Decimal(0), "final")],
                [Attempt("graded", Decimal(90), "final"), Attempt("ungraded", Decimal(0), "final")],
                [Attempt("ai", Decimal(100), "final")],
            ]
        ],
    )
    assert final_points(late, Decimal(80)) == Decimal("50.00")
    assert reference(example, [uuid.uuid4() for _ in range(4)]) == [([True, True, False, False], Decimal("60.00"))]
    check(conn, example)
