"""Grade integrity: points possible fixed once graded, one history row per change, and a
student's (or parent's) status says "graded" only once the grade is posted."""

from decimal import Decimal

import pytest
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import sqlstate
from tests.conftest import assert_problem
from tests.grading.support import due_ago, grade, ok, ready, rubric_assignment, sql, turn_in

# Points possible


async def test_points_possible_are_fixed_once_graded(client, db, make_school):
    school = await make_school()
    t = school.headers["t"]
    a = await ready(client, school, points_possible="20")
    # Before any grade the points may change freely.
    a = ok(await client.patch(f"/assignments/{a['id']}", json={"points_possible": "10"}, headers=t))
    assert Decimal(a["points_possible"]) == 10
    work = await turn_in(client, school, a["id"])
    g = await grade(client, school, work["id"], points="10", state="final")
    assert Decimal(g["percentage"]) == 100

    body = assert_problem(
        await client.patch(f"/assignments/{a['id']}", json={"points_possible": "4"}, headers=t), 409, "points-locked"
    )
    assert "1 grade(s)" in body["detail"] and "out of 10" in body["detail"]
    # Nothing changed: the cell and the course percentage agree (no 250 %).
    assert Decimal(ok(await client.get(f"/assignments/{a['id']}", headers=t))["points_possible"]) == 10
    book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=t))
    (row,) = [r for r in book["students"] if r["student_id"] == str(school.people["s"])]
    (cell,) = [c for c in row["cells"] if c["assignment_id"] == a["id"]]
    assert [Decimal(x) for x in (cell["points_possible"], cell["percentage"], row["course_percentage"])] == [
        10,
        100,
        100,
    ]
    # The same value, or any other column, is still fine.
    ok(await client.patch(f"/assignments/{a['id']}", json={"points_possible": "10", "title": "Renamed"}, headers=t))

    # The database refuses it from every writer, not only the API.
    with pytest.raises(DBAPIError) as refused:
        await sql(db, "update assignments set points_possible = 4 where id = :a", a=a["id"])
    assert sqlstate(refused.value) == "23514"
    assert "already has grades" in str(refused.value)

    # Without grades the points unlock again.
    ok(await client.delete(f"/submissions/{work['id']}/grade", headers=t), 204)
    changed = ok(await client.patch(f"/assignments/{a['id']}", json={"points_possible": "4"}, headers=t))
    assert Decimal(changed["points_possible"]) == 4


async def test_ai_suggestions_and_drafts_lock_the_points_too(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    work = await turn_in(client, school, a["id"])
    await grade(client, school, work["id"], points="50")  # a draft grade
    assert_problem(
        await client.patch(f"/assignments/{a['id']}", json={"points_possible": "50"}, headers=school.headers["t"]),
        409,
        "points-locked",
    )


# History


async def history(client, school, grade_id: str) -> list[dict]:
    return ok(await client.get(f"/grades/{grade_id}/history", headers=school.headers["t"]))


async def test_one_history_row_per_change_with_the_true_before_and_after(client, make_school):
    school = await make_school()
    a, rubric = await rubric_assignment(client, school)
    thesis, evidence = (c["id"] for c in rubric["criteria"])
    work = await turn_in(client, school, a["id"])

    # Graded by rubric: the grade is written, then each score re-sums it; one INSERT row.
    g = await grade(
        client,
        school,
        work["id"],
        rubric=[{"criterion_id": thesis, "points": "3"}, {"criterion_id": evidence, "points": "4"}],
    )
    rows = await history(client, school, g["id"])
    assert [(r["operation"], r["old_row"], r["new_row"]["points"]) for r in rows] == [("INSERT", None, 7)]

    # Re-graded by points: the old scores go (which re-sums to 0 on the way), then the points are set.
    g = await grade(client, school, work["id"], points="9", state="final")
    rows = await history(client, school, g["id"])
    assert len(rows) == 2
    change = rows[1]
    assert change["operation"] == "UPDATE"
    assert (change["old_row"]["points"], change["new_row"]["points"]) == (7, 9)
    assert (change["old_row"]["state"], change["new_row"]["state"]) == ("draft", "final")
    assert change["changed_by"] == str(school.people["t"])

    # A rubric re-score again: one row, 9 → 3 + 4.
    g = await grade(
        client,
        school,
        work["id"],
        rubric=[{"criterion_id": thesis, "points": "3"}, {"criterion_id": evidence, "points": "4"}],
        state="final",
    )
    rows = await history(client, school, g["id"])
    assert [(r["operation"], r["old_row"]["points"], r["new_row"]["points"]) for r in rows[1:]] == [
        ("UPDATE", 7, 9),
        ("UPDATE", 9, 7),
    ]
    # No made-up score anywhere.
    assert all(r["new_row"]["points"] != 0 for r in rows)


async def test_history_of_a_removed_grade(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    work = await turn_in(client, school, a["id"])
    g = await grade(client, school, work["id"], points="60")
    ok(await client.delete(f"/submissions/{work['id']}/grade", headers=school.headers["t"]), 204)
    rows = await sql(
        db,
        "select operation, old_row ->> 'points' as before from grade_history where grade_id = :g order by changed_at",
        g=g["id"],
    )
    assert [(r["operation"], r["before"]) for r in rows] == [("INSERT", None), ("DELETE", "60.00")]


# Status before posting


async def test_students_and_parents_see_graded_only_once_posted(client, db, make_school):
    school = await make_school()
    t, s, p = (school.headers[who] for who in ("t", "s", "p"))
    a = await ready(client, school, title="On time", due_at="2999-01-01T00:00:00Z")
    late = await ready(client, school, title="Late", due_at="2999-02-01T00:00:00Z")
    work = await turn_in(client, school, a["id"])
    await due_ago(db, late["id"], "1 day")
    late_work = await turn_in(client, school, late["id"])
    assert late_work["status"] == "late"
    await grade(client, school, work["id"], points="80", state="final")
    await grade(client, school, late_work["id"], points="70", state="final")

    # Staff see the grades and "graded".
    assert ok(await client.get(f"/submissions/{work['id']}", headers=t))["status"] == "graded"
    staff = ok(await client.get(f"/assignments/{a['id']}/submissions", headers=t))["items"]
    assert [x["status"] for x in staff] == ["graded"]

    # The student and the parent see the work as turned in, on every view.
    expected = {work["id"]: "submitted", late_work["id"]: "late"}
    for who in (s, p):
        for sub_id, status in expected.items():
            seen = ok(await client.get(f"/submissions/{sub_id}", headers=who))
            assert (seen["status"], seen["grade"]) == (status, None)
    mine = ok(await client.get("/me/submissions", headers=s))["items"]
    assert {x["id"]: x["status"] for x in mine} == expected
    assigned = ok(await client.get("/me/assignments", headers=s))["items"]
    assert {x["title"]: (x["status"], x["submission"]["status"]) for x in assigned} == {
        "On time": ("submitted", "submitted"),
        "Late": ("late", "late"),
    }
    child = ok(await client.get("/me/assignments", params={"student_id": str(school.people["s"])}, headers=p))
    assert {x["title"]: x["status"] for x in child["items"]} == {"On time": "submitted", "Late": "late"}
    for who in (s, p):
        book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=who))
        (row,) = book["students"]
        assert {c["assignment_id"]: c["status"] for c in row["cells"]} == {a["id"]: "submitted", late["id"]: "late"}
    teacher_book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=t))
    (row,) = [r for r in teacher_book["students"] if r["student_id"] == str(school.people["s"])]
    assert {c["status"] for c in row["cells"]} == {"graded"}

    # Once posted, the student sees the grade and the work handed back.
    ok(await client.post(f"/assignments/{a['id']}/post-grades", headers=t))
    seen = ok(await client.get(f"/submissions/{work['id']}", headers=s))
    assert (seen["status"], Decimal(seen["grade"]["final_points"])) == ("returned", 80)
    assert ok(await client.get(f"/submissions/{late_work['id']}", headers=s))["status"] == "late"
