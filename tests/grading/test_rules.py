"""The grading rules the database enforces (revision 20250924_163800), each through the API
where the API reaches it and directly in SQL where only the database can be asked."""

import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from tests.conftest import assert_problem
from tests.grading.support import (
    RUBRIC,
    assignment,
    category,
    due_ago,
    grade,
    ok,
    ready,
    rubric_assignment,
    sql,
    turn_in,
)


async def refused_submission(
    client, school, assignment_id: str, submit: bool = True, status: int = 422, kind: str = "rule-violation"
) -> dict:
    """``s`` turns in (or saves a draft of) work for the assignment and is refused: the problem."""
    path = f"/assignments/{assignment_id}/submissions"
    return assert_problem(await client.post(path, json={"submit": submit}, headers=school.headers["s"]), status, kind)


# Category weights


async def test_category_weights_may_not_exceed_100_percent(client, make_school):
    school = await make_school()
    homework = await category(client, school, "Homework", 60)
    await category(client, school, "Tests", "39.5")
    url = f"/classes/{school.class_id}/assignment-categories"
    body = assert_problem(
        await client.post(url, json={"name": "Quizzes", "weight_percent": "1"}, headers=school.headers["t"]),
        422,
        "constraint-violation",
    )
    assert "100.50 %" in body["detail"] and "more than 100" in body["detail"]
    assert body["constraint"] == "assignment_categories_weights"
    ok(await client.post(url, json={"name": "Quizzes", "weight_percent": "0.5"}, headers=school.headers["t"]), 201)

    # An update that pushes the total over is refused too; one that stays within passes.
    body = assert_problem(
        await client.patch(f"{url}/{homework['id']}", json={"weight_percent": "60.01"}, headers=school.headers["t"]),
        422,
        "constraint-violation",
    )
    assert "100.01 %" in body["detail"]
    changed = ok(
        await client.patch(f"{url}/{homework['id']}", json={"weight_percent": "50"}, headers=school.headers["oa"])
    )
    assert changed["weight_percent"] == "50.00"
    # Out of range and unknown fields never reach the database.
    assert_problem(
        await client.post(url, json={"name": "X", "weight_percent": "101"}, headers=school.headers["t"]),
        422,
        "validation",
    )


# Submissions


async def test_submitted_at_is_stamped_by_the_server(db, make_school):
    school = await make_school()
    async with db.as_service() as session:
        cat = (
            await session.execute(
                text(
                    "insert into assignment_categories (organization_id, class_id, name, weight_percent) "
                    "values (:o, :c, 'HW', 10) returning id"
                ),
                {"o": school.org_id, "c": school.class_id},
            )
        ).scalar_one()
        a = (
            await session.execute(
                text(
                    "insert into assignments (organization_id, class_id, category_id, title, points_possible, state) "
                    "values (:o, :c, :cat, 'A', 10, 'published') returning id"
                ),
                {"o": school.org_id, "c": school.class_id, "cat": cat},
            )
        ).scalar_one()
        row = (
            await session.execute(
                text(
                    "insert into assignment_submissions (organization_id, class_id, assignment_id, student_id, status, submitted_at)"
                    " values (:o, :c, :a, :s, 'draft', '2000-01-01') returning submitted_at, status, now() as now"
                ),
                {"o": school.org_id, "c": school.class_id, "a": a, "s": school.people["s"]},
            )
        ).one()
    assert row.submitted_at == row.now and row.status == "submitted"  # a given time means "submit now"


async def test_late_by_one_second(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    await due_ago(db, a["id"], "1 second")
    submission = await turn_in(client, school, a["id"])
    assert submission["status"] == "late"
    assert datetime.fromisoformat(submission["submitted_at"]) > datetime.fromisoformat(
        ok(await client.get(f"/assignments/{a['id']}", headers=school.headers["s"]))["due_at"]
    )


async def test_on_time_is_submitted(client, make_school):
    school = await make_school()
    a = await ready(client, school, due_at="2999-01-01T00:00:00Z")
    assert (await turn_in(client, school, a["id"]))["status"] == "submitted"


async def test_not_accepting_late_work(client, db, make_school):
    school = await make_school()
    a = await ready(client, school, accept_late=False)
    await due_ago(db, a["id"], "1 second")
    body = await refused_submission(client, school, a["id"])
    assert "does not accept late work" in body["detail"]
    # A draft may still be saved; turning it in is refused.
    draft = await turn_in(client, school, a["id"], submit=False)
    assert draft["status"] == "draft"
    assert_problem(
        await client.patch(f"/submissions/{draft['id']}", json={"submit": True}, headers=school.headers["s"]),
        422,
        "rule-violation",
    )


async def test_refused_after_close(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    await sql(
        db,
        "update assignments set due_at = now() - interval '2 seconds', close_at = now() - interval '1 second'"
        " where id = :a",
        a=a["id"],
    )
    body = await refused_submission(client, school, a["id"])
    assert "closed at" in body["detail"]

    closed = await ready(client, school)
    ok(await client.post(f"/assignments/{closed['id']}/close", headers=school.headers["t"]))
    body = await refused_submission(client, school, closed["id"])
    assert "not open for submissions (it is closed)" in body["detail"]


async def test_refused_before_it_opens(client, make_school):
    school = await make_school()
    a = await ready(client, school, available_from="2999-01-01T00:00:00Z")
    body = await refused_submission(client, school, a["id"])
    assert "opens at" in body["detail"]


async def test_not_yet_published(client, db, make_school):
    school = await make_school()
    cat = await category(client, school)
    draft = await assignment(client, school, cat["id"], publish=False)
    # Students do not see a draft assignment at all.
    assert_problem(await client.get(f"/assignments/{draft['id']}", headers=school.headers["s"]), 404, "not-found")
    await refused_submission(client, school, draft["id"], status=404, kind="not-found")
    # The database refuses the submission even to a writer that bypasses row-level security.
    with pytest.raises(DBAPIError) as refused:
        await sql(
            db,
            "insert into assignment_submissions (organization_id, class_id, assignment_id, student_id, status)"
            " values (:o, :c, :a, :s, 'submitted')",
            o=school.org_id,
            c=school.class_id,
            a=draft["id"],
            s=school.people["s"],
        )
    assert sqlstate(refused.value) == "P0001"
    assert "is not open for submissions (it is draft)" in str(refused.value)


async def test_attempts_exceeded(client, make_school):
    school = await make_school()
    a = await ready(client, school, allowed_attempts=2)
    first = await turn_in(client, school, a["id"])
    second = await turn_in(client, school, a["id"], body="Better")
    assert (first["attempt"], second["attempt"]) == (1, 2)
    body = await refused_submission(client, school, a["id"])
    assert "allows 2 attempt(s)" in body["detail"]
    # A draft beyond the attempts is refused as well, by the same rule.
    await refused_submission(client, school, a["id"], submit=False)


async def test_submitted_work_keeps_its_late_mark_and_attempt(db, client, make_school):
    school = await make_school()
    a = await ready(client, school, allowed_attempts=3)
    await due_ago(db, a["id"], "1 second")
    late = await turn_in(client, school, a["id"])
    async with db.as_user(user_identity(school.people["s"])) as session:
        # The student edits the text of submitted work directly: allowed, the late mark stays.
        row = (
            await session.execute(
                text(
                    "update assignment_submissions set status = 'submitted', body = 'edited' where id = :id"
                    " returning status, body"
                ),
                {"id": late["id"]},
            )
        ).one()
        assert (row.status, row.body) == ("late", "edited")
    with pytest.raises(DBAPIError) as refused:
        async with db.as_user(user_identity(school.people["s"])) as session:
            await session.execute(
                text("update assignment_submissions set attempt = 2 where id = :id"), {"id": late["id"]}
            )
    assert sqlstate(refused.value) in ("42501", "P0001")  # the column guard, or the submission rules


async def test_missing_work_can_be_turned_in_but_not_turned_into_a_draft(db, client, make_school):
    school = await make_school()
    a = await ready(client, school)
    await due_ago(db, a["id"], "1 second")
    marked = ok(await client.post(f"/assignments/{a['id']}/mark-missing", headers=school.headers["t"]))
    assert marked["student_ids"] == [str(school.people["s"])]
    [missing] = ok(await client.get("/me/submissions", headers=school.headers["s"]))["items"]
    assert missing["status"] == "missing" and missing["submitted_at"] is None
    with pytest.raises(DBAPIError) as refused:
        async with db.as_user(user_identity(school.people["s"])) as session:
            await session.execute(
                text("update assignment_submissions set status = 'draft' where id = :id"), {"id": missing["id"]}
            )
    assert sqlstate(refused.value) == "P0001"
    # Saving without turning in is refused by the API; turning in works, late, in the same attempt.
    assert_problem(
        await client.post(f"/assignments/{a['id']}/submissions", json={"body": "x"}, headers=school.headers["s"]),
        409,
        "marked-missing",
    )
    turned_in = await turn_in(client, school, a["id"], status=200)
    assert (turned_in["id"], turned_in["attempt"], turned_in["status"]) == (missing["id"], 1, "late")


# Grades: derived fields


async def test_grade_snapshots_points_possible_and_late_penalty(client, db, make_school):
    school = await make_school()
    a = await ready(client, school, points_possible="50", late_penalty_percent_per_day="10")
    # 2 days and 1 second late: 3 started days, 30 % off.
    await due_ago(db, a["id"], "2 days 1 second")
    submission = await turn_in(client, school, a["id"])
    assert submission["status"] == "late"
    g = await grade(client, school, submission["id"], points="40", state="final")
    assert g["points_possible"] == "50.00"
    assert g["late_penalty_points"] == "12.00"  # 40 × 30 %
    assert (g["final_points"], g["percentage"], g["letter_grade"]) == ("28.00", "56.00", "F")


@pytest.mark.parametrize(
    ("per_day", "floor", "late", "penalty", "final"),
    [
        ("25", "0", "1 second", "20.00", "60.00"),  # one started day
        ("25", "0", "5 days", "80.00", "0.00"),  # 125 % capped at 100 %: nothing left
        ("25", "50", "5 days", "40.00", "40.00"),  # never below half of the points
        ("25", "50", "1 day 1 second", "40.00", "40.00"),  # 2 days = 50 %, exactly the floor
        ("10", "70", "1 day 23 hours", "16.00", "64.00"),  # 2 days: 20 % off, within the 30 % the floor leaves
        ("0", "0", "30 days", "0.00", "80.00"),  # no penalty per day
    ],
)
async def test_late_penalty_and_floor(client, db, make_school, per_day, floor, late, penalty, final):
    school = await make_school()
    a = await ready(client, school, late_penalty_percent_per_day=per_day, late_penalty_floor_percent=floor)
    await due_ago(db, a["id"], late)
    submission = await turn_in(client, school, a["id"])
    g = await grade(client, school, submission["id"], points="80")
    assert (g["late_penalty_points"], g["final_points"]) == (penalty, final)


async def test_letter_from_the_default_and_a_custom_scale(client, make_school):
    school = await make_school()
    a = await ready(client, school)
    submission = await turn_in(client, school, a["id"])
    scale = ok(await client.get(f"/organizations/{school.org_id}/grading-scale", headers=school.headers["s"]))
    assert scale["is_default"] and [lvl["letter"] for lvl in scale["levels"]] == ["A", "B", "C", "D", "F"]
    for points, letter in (("90", "A"), ("89.99", "B"), ("60", "D"), ("59.99", "F"), ("0", "F")):
        assert (await grade(client, school, submission["id"], points=points))["letter_grade"] == letter

    custom = {
        "levels": [
            {"letter": "Pass", "min_percent": "65"},
            {"letter": "Fail", "min_percent": "0"},
            {"letter": "Dist", "min_percent": "85.5"},
        ]
    }
    assert_problem(
        await client.put(f"/organizations/{school.org_id}/grading-scale", json=custom, headers=school.headers["t"]),
        403,
        "forbidden",
    )
    # The existing grade (0 points: F) is re-lettered with the new scale.
    saved = ok(
        await client.put(f"/organizations/{school.org_id}/grading-scale", json=custom, headers=school.headers["oa"])
    )
    assert not saved["is_default"] and [lvl["letter"] for lvl in saved["levels"]] == ["Dist", "Pass", "Fail"]
    assert (
        ok(await client.get(f"/submissions/{submission['id']}/grade", headers=school.headers["t"]))["letter_grade"]
        == "Fail"
    )
    for points, letter in (("85.5", "Dist"), ("85.49", "Pass"), ("65", "Pass"), ("64.99", "Fail")):
        assert (await grade(client, school, submission["id"], points=points))["letter_grade"] == letter
    # An empty scale restores the default.
    assert ok(
        await client.put(
            f"/organizations/{school.org_id}/grading-scale", json={"levels": []}, headers=school.headers["oa"]
        )
    )["is_default"]
    assert (
        ok(await client.get(f"/submissions/{submission['id']}/grade", headers=school.headers["t"]))["letter_grade"]
        == "D"
    )  # 64.99 %
    # A scale must give every percentage a letter.
    assert_problem(
        await client.put(
            f"/organizations/{school.org_id}/grading-scale",
            json={"levels": [{"letter": "A", "min_percent": "50"}]},
            headers=school.headers["oa"],
        ),
        422,
        "validation",
    )


# Grades and submissions


async def test_grade_moves_the_submission(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    await due_ago(db, a["id"], "1 second")
    submission = await turn_in(client, school, a["id"])

    async def status() -> str:
        return ok(await client.get(f"/submissions/{submission['id']}", headers=school.headers["t"]))["status"]

    await grade(client, school, submission["id"], points="70")
    assert await status() == "late"  # a draft grade does not move it
    await grade(client, school, submission["id"], points="70", state="final")
    assert await status() == "graded"
    ok(await client.post(f"/assignments/{a['id']}/post-grades", headers=school.headers["t"]))
    assert await status() == "returned"
    assert (
        await client.delete(f"/submissions/{submission['id']}/grade", headers=school.headers["t"])
    ).status_code == 204
    assert await status() == "late"  # back to what it was before the grade


async def test_grade_history_for_insert_update_and_delete(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    submission = await turn_in(client, school, a["id"])
    g = await grade(client, school, submission["id"], points="60")
    await grade(client, school, submission["id"], who="oa", points="75", state="final")
    assert (
        await client.delete(f"/submissions/{submission['id']}/grade", headers=school.headers["t"])
    ).status_code == 204

    rows = await sql(
        db,
        "select operation, changed_by, old_row->>'points' as old, new_row->>'points' as new"
        " from grade_history where grade_id = :g order by changed_at, id",
        g=g["id"],
    )
    t, oa = school.people["t"], school.people["oa"]
    assert rows == [
        {"operation": "INSERT", "changed_by": t, "old": None, "new": "60.00"},
        {"operation": "UPDATE", "changed_by": oa, "old": "60.00", "new": "75.00"},
        {"operation": "DELETE", "changed_by": t, "old": "75.00", "new": None},
    ]
    # Staff read it through the API, students do not.
    history = ok(await client.get(f"/grades/{g['id']}/history", headers=school.headers["t"]))
    assert [h["operation"] for h in history] == ["INSERT", "UPDATE", "DELETE"]
    assert history[1]["new_row"]["state"] == "final"
    assert_problem(await client.get(f"/grades/{g['id']}/history", headers=school.headers["s"]), 404, "not-found")


async def test_an_organization_with_grades_can_be_deleted(client, db, make_school):
    school = await make_school()
    a = await ready(client, school)
    submission = await turn_in(client, school, a["id"])
    await grade(client, school, submission["id"], points="60")
    await sql(db, "delete from organizations where id = :o", o=school.org_id)
    assert await sql(db, "select id from grade_history where organization_id = :o", o=school.org_id) == []


# Rubrics


async def test_rubric_sum_becomes_the_points(client, make_school):
    school = await make_school()
    a, rubric = await rubric_assignment(client, school)
    assert rubric["total_points"] == "10.00" and [c["title"] for c in rubric["criteria"]] == ["Thesis", "Evidence"]
    assert rubric["criteria"][0]["levels"][1] == {"title": "Vague", "points": "2.00", "description": None}
    thesis, evidence = (c["id"] for c in rubric["criteria"])
    submission = await turn_in(client, school, a["id"])

    g = await grade(
        client,
        school,
        submission["id"],
        rubric=[
            {"criterion_id": thesis, "points": "3", "level_title": "Clear-ish"},
            {"criterion_id": evidence, "points": "4.5", "comment": "Cite more"},
        ],
        feedback="Good start",
    )
    assert (g["points"], g["percentage"], g["letter_grade"]) == ("7.50", "75.00", "C")
    assert [(s["points"], s["level_title"], s["comment"]) for s in g["rubric"]] == [
        ("3.00", "Clear-ish", None),
        ("4.50", None, "Cite more"),
    ]
    # Re-scoring one criterion re-sums; a draft may leave a criterion out.
    g = await grade(client, school, submission["id"], rubric=[{"criterion_id": evidence, "points": "6"}])
    assert g["points"] == "6.00" and len(g["rubric"]) == 1
    # A final grade scores every criterion.
    body = assert_problem(
        await client.put(
            f"/submissions/{submission['id']}/grade",
            json={"rubric": [{"criterion_id": evidence, "points": "6"}], "state": "final"},
            headers=school.headers["t"],
        ),
        422,
        "validation",
    )
    assert "Thesis" in body["detail"]
    # Grading by points afterwards drops the rubric scores.
    g = await grade(client, school, submission["id"], points="9")
    assert g["points"] == "9.00" and g["rubric"] == []


async def score_one(client, school, submission_id: str, criterion_id: str, points: str):
    """``t`` grades the submission by one criterion's score: the response."""
    body = {"rubric": [{"criterion_id": criterion_id, "points": points}]}
    return await client.put(f"/submissions/{submission_id}/grade", json=body, headers=school.headers["t"])


async def test_rubric_points_over_a_criterion_max(client, db, make_school):
    school = await make_school()
    a, rubric = await rubric_assignment(client, school)
    thesis = rubric["criteria"][0]["id"]
    submission = await turn_in(client, school, a["id"])
    body = assert_problem(
        await score_one(client, school, submission["id"], thesis, "4.01"), 422, "constraint-violation"
    )
    assert "at most 4.00 points" in body["detail"]

    # A criterion of another assignment's rubric: refused by the API, and by the database.
    other, other_rubric = await rubric_assignment(client, school)
    foreign = other_rubric["criteria"][0]["id"]
    assert_problem(await score_one(client, school, submission["id"], foreign, "1"), 422, "invalid-reference")
    g = await grade(client, school, submission["id"], points="5")
    with pytest.raises(DBAPIError) as refused:
        await sql(
            db,
            "insert into rubric_grades (organization_id, grade_id, criterion_id, points) values (:o, :g, :c, 1)",
            o=school.org_id,
            g=g["id"],
            c=foreign,
        )
    assert sqlstate(refused.value) == "23514"
    # Levels above the criterion's maximum are refused when the rubric is written.
    bad = {"title": "R", "criteria": [{"title": "C", "max_points": "2", "levels": [{"title": "L", "points": "3"}]}]}
    assert_problem(
        await client.put(f"/assignments/{other['id']}/rubric", json=bad, headers=school.headers["t"]), 422, "validation"
    )


async def test_rubric_is_replaced_only_while_unused(client, make_school):
    school = await make_school()
    a, rubric = await rubric_assignment(client, school)
    replaced = ok(
        await client.put(
            f"/assignments/{a['id']}/rubric",
            headers=school.headers["t"],
            json={"title": "Shorter", "criteria": [{"title": "Overall", "max_points": "10"}]},
        )
    )
    assert replaced["id"] == rubric["id"] and replaced["title"] == "Shorter" and len(replaced["criteria"]) == 1
    submission = await turn_in(client, school, a["id"])
    await grade(
        client, school, submission["id"], rubric=[{"criterion_id": replaced["criteria"][0]["id"], "points": "8"}]
    )
    body = assert_problem(
        await client.put(f"/assignments/{a['id']}/rubric", json=RUBRIC, headers=school.headers["t"]),
        409,
        "rubric-in-use",
    )
    assert "1 rubric score" in body["detail"]
    assert ok(await client.get(f"/assignments/{a['id']}/rubric", headers=school.headers["s"]))["title"] == "Shorter"
    assert_problem(
        await client.put(f"/assignments/{a['id']}/rubric", json=RUBRIC, headers=school.headers["s"]), 403, "forbidden"
    )
    # Once the grade is gone the rubric may change again.
    assert (
        await client.delete(f"/submissions/{submission['id']}/grade", headers=school.headers["t"])
    ).status_code == 204
    ok(await client.put(f"/assignments/{a['id']}/rubric", json=RUBRIC, headers=school.headers["t"]))
    # Without a rubric, grading by rubric is a conflict.
    plain = await ready(client, school)
    work = await turn_in(client, school, plain["id"])
    assert_problem(
        await client.put(
            f"/submissions/{work['id']}/grade",
            headers=school.headers["t"],
            json={"rubric": [{"criterion_id": str(uuid.uuid4()), "points": "1"}]},
        ),
        409,
        "no-rubric",
    )
    assert_problem(
        await client.get(f"/assignments/{plain['id']}/rubric", headers=school.headers["t"]), 404, "not-found"
    )


async def test_grade_values_are_checked(client, make_school):
    school = await make_school()
    a = await ready(client, school)
    submission = await turn_in(client, school, a["id"])
    url = f"/submissions/{submission['id']}/grade"
    for body in (
        {},
        {"points": "1", "rubric": [{"criterion_id": str(uuid.uuid4()), "points": "1"}]},
        {"points": "-1"},
        {"points": "1000000"},
        {"points": "1.234"},
        {"points": "1", "state": "posted"},
    ):
        assert_problem(await client.put(url, json=body, headers=school.headers["t"]), 422, "validation")
    # Extra credit above the points possible is allowed.
    assert (await grade(client, school, submission["id"], points="105"))["percentage"] == "105.00"
    assert Decimal((await grade(client, school, submission["id"], points="0.01"))["percentage"]) == Decimal("0.01")
