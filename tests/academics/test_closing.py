"""Closing a grading period: every API that changes grades of its assignments answers 409
period-closed (never 500) until an org admin reopens it, with a reason kept in the history;
teachers override period grades meanwhile."""

import uuid
from decimal import Decimal

from tests.academics.support import close, reopen, school_year
from tests.conftest import assert_problem
from tests.grading.support import RUBRIC, grade, ok, ready, sql, turn_in

IN_Q1 = "2030-09-20T15:00:00Z"
IN_Q3 = "2031-02-20T15:00:00Z"


def closed(response) -> None:
    body = assert_problem(response, 409, "period-closed")
    assert 'grading period "Q1" is closed' in body["detail"], body
    assert body["constraint"] == "grading_period_closed"


async def _graded(client, school, due_at: str = IN_Q1, **fields) -> tuple[dict, dict, dict]:
    """A published assignment due then, the student's work, and its final grade of 8."""
    a = await ready(client, school, points_possible="10", due_at=due_at, **fields)
    work = await turn_in(client, school, a["id"])
    return a, work, await grade(client, school, work["id"], points="8", state="final")


async def test_every_grade_change_is_refused_while_closed(client, db, make_school):
    school = await make_school()
    t, oa = school.headers["t"], school.headers["oa"]
    y = await school_year(client, school)
    a, work, _ = await _graded(client, school)
    rubric_a = await ready(client, school, points_possible="10", due_at=IN_Q1)
    rubric = ok(await client.put(f"/assignments/{rubric_a['id']}/rubric", json=RUBRIC, headers=t))
    rubric_work = await turn_in(client, school, rubric_a["id"])
    ungraded_a = await ready(client, school, points_possible="10", due_at=IN_Q1)
    ungraded = await turn_in(client, school, ungraded_a["id"])
    ai_a = await ready(client, school, points_possible="10", due_at=IN_Q1)
    ai_work = await turn_in(client, school, ai_a["id"])
    [ai_grade] = await sql(
        db,
        """insert into assignment_grades (organization_id, class_id, assignment_id, submission_id, student_id,
           points, points_possible, source, state) values (:o, :c, :a, :s, :st, 5, 10, 'ai', 'ai_suggested')
           returning id""",
        o=school.org_id,
        c=school.class_id,
        a=ai_a["id"],
        s=ai_work["id"],
        st=school.people["s"],
    )
    later, later_work, _ = await _graded(client, school, due_at=IN_Q3)
    nothing_in = await ready(client, school, points_possible="10", due_at=IN_Q1)

    await close(client, school, y.q1["id"])
    scores = [{"criterion_id": c["id"], "points": "2"} for c in rubric["criteria"]]
    closed(await client.put(f"/submissions/{work['id']}/grade", json={"points": "9", "state": "final"}, headers=t))
    closed(await client.put(f"/submissions/{rubric_work['id']}/grade", json={"rubric": scores}, headers=t))
    closed(await client.put(f"/submissions/{ungraded['id']}/grade", json={"points": "1"}, headers=t))
    closed(await client.delete(f"/submissions/{work['id']}/grade", headers=t))
    closed(await client.post(f"/assignments/{a['id']}/post-grades", headers=t))
    closed(await client.post(f"/grades/{ai_grade['id']}/accept", headers=t))
    closed(await client.put(f"/grades/{ai_grade['id']}", json={"points": "6"}, headers=t))
    closed(await client.delete(f"/grades/{ai_grade['id']}", headers=t))
    # Moving a graded assignment out of the period (or changing what its grades are worth), or deleting it.
    closed(await client.patch(f"/assignments/{a['id']}", json={"due_at": IN_Q3}, headers=oa))
    closed(await client.delete(f"/assignments/{a['id']}", headers=t))
    # ... and into it.
    closed(await client.patch(f"/assignments/{later['id']}", json={"due_at": IN_Q1}, headers=t))
    # Excusing and marking missing change what the period grade counts: refused too.
    student = school.people["s"]
    closed(await client.post(f"/assignments/{ungraded_a['id']}/students/{student}/excuse", headers=t))
    closed(await client.post(f"/assignments/{nothing_in['id']}/students/{student}/missing", headers=t))
    # Other periods are open; an ungraded assignment may still move.
    await grade(client, school, later_work["id"], points="9", state="final")
    ok(await client.patch(f"/assignments/{ungraded_a['id']}", json={"title": "Renamed"}, headers=t))

    assert_problem(await client.post(f"/academic-sessions/{y.q1['id']}/reopen", json={}, headers=oa), 422)
    reopened = await reopen(client, school, y.q1["id"], reason="Missed a regrade")
    assert reopened["state_note"] == "Missed a regrade" and reopened["closed_at"] is None
    assert Decimal((await grade(client, school, work["id"], points="9", state="final"))["points"]) == 9


async def test_close_and_reopen_are_org_admins_with_history(client, make_school):
    school = await make_school()
    y = await school_year(client, school)
    await close(client, school, y.q1["id"], who="t", status=403)
    assert_problem(
        await client.post(f"/academic-sessions/{y.fall['id']}/close", json={}, headers=school.headers["oa"]), 422
    )
    shut = await close(client, school, y.q1["id"])
    assert shut["closed_at"] and shut["closed_by"] == str(school.people["oa"])
    assert_problem(
        await client.post(f"/academic-sessions/{y.q1['id']}/close", json={}, headers=school.headers["oa"]),
        409,
        "invalid-state",
    )
    await reopen(client, school, y.q1["id"], reason="  ", status=422)
    await reopen(client, school, y.q1["id"], reason="Regrade")
    await reopen(client, school, y.q1["id"], status=409)
    url = f"/academic-sessions/{y.q1['id']}/history"
    history = ok(await client.get(url, headers=school.headers["oa"]))["items"]
    assert [(h["action"], h["reason"], h["actor_id"]) for h in history] == [
        ("reopened", "Regrade", str(school.people["oa"])),
        ("closed", None, str(school.people["oa"])),
    ]
    assert len(ok(await client.get(url, headers=school.headers["t"]))["items"]) == 2
    assert ok(await client.get(url, headers=school.headers["s"]))["items"] == []


async def test_overrides_are_staffs_and_seen_by_the_family_once_closed(client, make_school):
    school = await make_school()
    t, s, p = (school.headers[w] for w in ("t", "s", "p"))
    y = await school_year(client, school)
    url = f"/classes/{school.class_id}/grading-periods/{y.q1['id']}/overrides"
    me = f"{url}/{school.people['s']}"
    assert_problem(await client.put(me, json={"percent": "91"}, headers=t), 422, "validation")
    assert_problem(await client.put(me, json={"reason": "Because"}, headers=t), 422, "validation")
    assert_problem(await client.put(me, json={"percent": "91", "reason": "x"}, headers=s), 403, "forbidden")
    assert_problem(
        await client.put(f"{url}/{school.people['s2']}", json={"percent": "91", "reason": "x"}, headers=t),
        422,
        "not-a-member",
    )
    not_a_period = f"/classes/{school.class_id}/grading-periods/{y.fall['id']}/overrides/{school.people['s']}"
    assert_problem(await client.put(not_a_period, json={"percent": "1", "reason": "x"}, headers=t), 422)
    assert_problem(
        await client.put(f"{url}/{uuid.uuid4()}", json={"percent": "1", "reason": "x"}, headers=t), 422, "not-a-member"
    )

    await close(client, school, y.q1["id"])
    first = ok(await client.put(me, json={"percent": "91.5", "reason": "Project redone"}, headers=t))
    assert Decimal(first["percent"]) == Decimal("91.5") and first["set_by"] == str(school.people["t"])
    changed = ok(await client.put(me, json={"letter": "A-", "reason": "Letter instead"}, headers=school.headers["oa"]))
    assert changed["id"] == first["id"] and changed["percent"] is None and changed["letter"] == "A-"
    for who in (s, p):
        assert [o["letter"] for o in ok(await client.get(url, headers=who))["items"]] == ["A-"]
    await reopen(client, school, y.q1["id"])
    for who in (s, p):
        assert ok(await client.get(url, headers=who))["items"] == []
    assert_problem(await client.delete(me, params={"reason": " "}, headers=t), 422)
    assert ok(await client.delete(me, params={"reason": "Grades fixed instead"}, headers=t), 204) is None
    assert_problem(await client.delete(me, params={"reason": "again"}, headers=t), 404, "not-found")
    history = ok(await client.get(f"/academic-sessions/{y.q1['id']}/history", headers=t))["items"]
    overrides = {(h["action"], h["reason"]) for h in history if h["action"].startswith("override")}
    # Removing first records the reason on the override, so the removal row carries it.
    assert overrides == {
        ("override_set", "Project redone"),
        ("override_changed", "Letter instead"),
        ("override_changed", "Grades fixed instead"),
        ("override_removed", "Grades fixed instead"),
    }
    # A period goes with its overrides and history.
    ok(await client.put(me, json={"percent": "70", "reason": "Again"}, headers=t))
    assert ok(await client.delete(f"/academic-sessions/{y.year['id']}", headers=school.headers["oa"]), 204) is None
    assert_problem(await client.get(url, headers=t), 404, "not-found")
