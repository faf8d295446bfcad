"""Grading through the API as teacher, student and parent: assignments from draft to
closed, handing work in, grading, posting, and the student's and parent's view."""

import uuid

from tests.conftest import add_student, assert_problem
from tests.grading.support import assignment, category, due_ago, enroll, grade, ok, ready, turn_in


async def test_assignment_lifecycle(client, make_school):
    school = await make_school()
    t, s, p = (school.headers[who] for who in ("t", "s", "p"))
    cat = await category(client, school)
    other_class_cat = str(uuid.uuid4())
    url = f"/classes/{school.class_id}/assignments"
    assert_problem(
        await client.post(url, json={"category_id": other_class_cat, "title": "X", "points_possible": "5"}, headers=t),
        422,
        "invalid-reference",
    )
    assert_problem(
        await client.post(
            url,
            json={
                "category_id": cat["id"],
                "title": "X",
                "points_possible": "5",
                "due_at": "2030-01-02T00:00:00Z",
                "close_at": "2030-01-01T00:00:00Z",
            },
            headers=t,
        ),
        422,
        "validation",
    )
    assert_problem(
        await client.post(
            url,
            json={"category_id": cat["id"], "title": "X", "points_possible": "5", "due_at": "2030-01-02T00:00:00"},
            headers=t,
        ),
        422,
        "validation",
    )
    assert_problem(
        await client.post(url, json={"category_id": cat["id"], "title": "X", "points_possible": "5"}, headers=s),
        403,
        "forbidden",
    )
    assert_problem(
        await client.post(url, json={"category_id": cat["id"], "title": "X\u0000", "points_possible": "5"}, headers=t),
        422,
        "invalid-value",
    )
    assert_problem(
        await client.post(url, json={"category_id": cat["id"], "title": "X", "points_possible": "NaN"}, headers=t),
        422,
        "validation",
    )

    a = await assignment(
        client, school, cat["id"], publish=False, title="Lab report", type="project", due_at="2030-01-02T00:00:00Z"
    )
    assert (a["state"], a["type"], a["created_by"]) == ("draft", "project", str(school.people["t"]))
    # Drafts are staff only.
    assert [x["id"] for x in ok(await client.get(url, headers=t))["items"]] == [a["id"]]
    assert ok(await client.get(url, headers=s))["items"] == []
    assert_problem(await client.get(f"/assignments/{a['id']}", headers=p), 404, "not-found")
    assert_problem(await client.post(f"/assignments/{a['id']}/close", headers=t), 409, "assignment-state")

    published = ok(await client.post(f"/assignments/{a['id']}/publish", headers=t))
    assert published["state"] == "published"
    assert ok(await client.get(f"/assignments/{a['id']}", headers=s))["title"] == "Lab report"
    assert ok(await client.get(f"/assignments/{a['id']}", headers=p))["title"] == "Lab report"
    assert_problem(await client.post(f"/assignments/{a['id']}/publish", headers=t), 409, "assignment-state")
    assert_problem(await client.post(f"/assignments/{a['id']}/close", headers=s), 403, "forbidden")
    assert_problem(await client.patch(f"/assignments/{a['id']}", json={"title": "Mine"}, headers=s), 403, "forbidden")
    assert_problem(await client.delete(f"/assignments/{a['id']}", headers=p), 403, "forbidden")
    # A stranger from another school sees nothing.
    stranger = await make_school()
    assert_problem(await client.get(f"/assignments/{a['id']}", headers=stranger.headers["t"]), 404, "not-found")
    assert_problem(await client.get(url, headers=stranger.headers["oa"]), 404, "not-found")

    changed = ok(
        await client.patch(
            f"/assignments/{a['id']}",
            headers=t,
            json={"title": "Lab report 2", "allowed_attempts": 3, "due_at": None, "late_penalty_percent_per_day": "5"},
        )
    )
    assert (changed["title"], changed["allowed_attempts"], changed["due_at"]) == ("Lab report 2", 3, None)
    assert_problem(await client.patch(f"/assignments/{a['id']}", json={"title": None}, headers=t), 422, "validation")
    assert_problem(
        await client.patch(
            f"/assignments/{a['id']}",
            headers=t,
            json={"available_from": "2031-01-01T00:00:00Z", "due_at": "2030-01-01T00:00:00Z"},
        ),
        422,
        "constraint-violation",
    )
    assert ok(await client.post(f"/assignments/{a['id']}/close", headers=t))["state"] == "closed"
    assert ok(await client.get(url, params={"state": "closed"}, headers=s))["items"][0]["id"] == a["id"]
    assert ok(await client.post(f"/assignments/{a['id']}/publish", headers=t))["state"] == "published"  # reopened

    # A category with assignments cannot go; an empty one can.
    cat_url = f"/classes/{school.class_id}/assignment-categories/{cat['id']}"
    assert_problem(await client.delete(cat_url, headers=t), 409, "category-in-use")
    assert_problem(await client.delete(cat_url, headers=s), 403, "forbidden")
    assert (await client.delete(f"/assignments/{a['id']}", headers=t)).status_code == 204
    assert (await client.delete(cat_url, headers=t)).status_code == 204
    assert_problem(await client.get(cat_url, headers=t), 404, "not-found")


async def test_categories_are_read_by_the_class_and_written_by_staff(client, make_school):
    school = await make_school()
    cat = await category(client, school, "Quizzes", 25, drop_lowest=2, who="oa")
    url = f"/classes/{school.class_id}/assignment-categories"
    for who in ("t", "s", "p", "oa"):
        assert [c["id"] for c in ok(await client.get(url, headers=school.headers[who]))["items"]] == [cat["id"]]
    assert_problem(await client.get(url, headers=school.headers["s2"]), 404, "not-found")  # not in the class
    for who in ("s", "p"):
        assert_problem(
            await client.post(url, json={"name": "Mine", "weight_percent": "1"}, headers=school.headers[who]),
            403,
            "forbidden",
        )
        assert_problem(
            await client.patch(f"{url}/{cat['id']}", json={"drop_lowest": 0}, headers=school.headers[who]),
            403,
            "forbidden",
        )
    assert_problem(
        await client.post(url, json={"name": "Quizzes", "weight_percent": "1"}, headers=school.headers["t"]),
        409,
        "conflict",
    )
    other = await make_school()
    assert_problem(
        await client.get(f"/classes/{other.class_id}/assignment-categories/{cat['id']}", headers=other.headers["t"]),
        404,
        "not-found",
    )


async def test_student_drafts_submits_and_resubmits(client, make_school):
    school = await make_school()
    a = await ready(client, school, allowed_attempts=2)
    s = school.headers["s"]
    url = f"/assignments/{a['id']}/submissions"

    draft = ok(await client.post(url, json={"body": "First go", "links": ["https://example.org/doc"]}, headers=s), 201)
    assert (draft["status"], draft["attempt"], draft["submitted_at"]) == ("draft", 1, None)
    assert draft["links"] == ["https://example.org/doc"]
    # Posting again fills in the open draft; PATCH edits it.
    same = ok(await client.post(url, json={"body": "Second go"}, headers=s), 200)
    assert (same["id"], same["body"], same["attempt"]) == (draft["id"], "Second go", 1)
    edited = ok(await client.patch(f"/submissions/{draft['id']}", json={"links": []}, headers=s))
    assert (edited["body"], edited["links"]) == ("Second go", [])
    # Only the student edits their work.
    assert_problem(
        await client.patch(f"/submissions/{draft['id']}", json={"body": "x"}, headers=school.headers["t"]),
        403,
        "forbidden",
    )
    assert_problem(await client.post(url, json={"submit": True}, headers=school.headers["p"]), 403, "forbidden")
    assert_problem(await client.post(url, json={"submit": True}, headers=school.headers["t"]), 403, "forbidden")
    assert_problem(await client.post(url, json={"submit": True}, headers=school.headers["s2"]), 404, "not-found")

    submitted = ok(await client.patch(f"/submissions/{draft['id']}", json={"submit": True}, headers=s))
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    assert_problem(
        await client.patch(f"/submissions/{draft['id']}", json={"body": "later"}, headers=s), 409, "already-submitted"
    )
    assert_problem(await client.delete(f"/submissions/{draft['id']}", headers=s), 403, "forbidden")

    second = ok(await client.post(url, json={"body": "Resubmitted", "submit": True}, headers=s), 201)
    assert (second["attempt"], second["status"]) == (2, "submitted")
    assert_problem(await client.post(url, json={"submit": True}, headers=s), 422, "rule-violation")

    mine = ok(await client.get("/me/submissions", params={"assignment_id": a["id"]}, headers=s))["items"]
    assert [m["attempt"] for m in mine] == [1, 2]
    staff_view = ok(await client.get(url, headers=school.headers["t"]))["items"]
    assert [m["id"] for m in staff_view] == [draft["id"], second["id"]]
    assert [m["id"] for m in ok(await client.get(url, params={"status": "submitted"}, headers=s))["items"]] == [
        draft["id"],
        second["id"],
    ]
    # The parent sees the child's work (the assignment is visible to parents).
    assert len(ok(await client.get(url, headers=school.headers["p"]))["items"]) == 2
    assert ok(await client.get(f"/submissions/{second['id']}", headers=school.headers["p"]))["body"] == "Resubmitted"

    # A draft may be discarded.
    other = await ready(client, school)
    throwaway = await turn_in(client, school, other["id"], submit=False)
    assert (await client.delete(f"/submissions/{throwaway['id']}", headers=s)).status_code == 204


async def test_teacher_returns_excuses_and_marks_missing(client, db, make_school):
    school = await make_school()
    await enroll(db, school, "s2")
    t = school.headers["t"]
    a = await ready(client, school)
    work = await turn_in(client, school, a["id"])
    assert_problem(
        await client.post(f"/submissions/{work['id']}/return", headers=school.headers["s"]), 403, "forbidden"
    )
    assert_problem(await client.post(f"/submissions/{work['id']}/missing", headers=t), 409, "submission-state")
    returned = ok(await client.post(f"/submissions/{work['id']}/return", headers=t))
    assert returned["status"] == "returned"
    assert_problem(await client.post(f"/submissions/{work['id']}/return", headers=t), 409, "submission-state")
    excused = ok(await client.post(f"/submissions/{work['id']}/excuse", headers=t))
    assert excused["status"] == "excused"
    assert_problem(await client.post(f"/submissions/{work['id']}/excuse", headers=t), 409, "submission-state")
    assert_problem(
        await client.put(f"/submissions/{work['id']}/grade", json={"points": "1"}, headers=t), 409, "excused"
    )

    # Per student, with no submission yet.
    s2 = school.people["s2"]
    missing = ok(await client.post(f"/assignments/{a['id']}/students/{s2}/missing", headers=t))
    assert (missing["student_id"], missing["status"], missing["attempt"]) == (str(s2), "missing", 1)
    assert ok(await client.post(f"/assignments/{a['id']}/students/{s2}/excuse", headers=t))["status"] == "excused"
    assert ok(await client.post(f"/submissions/{missing['id']}/missing", headers=t))["status"] == "missing"
    assert_problem(
        await client.post(f"/assignments/{a['id']}/students/{uuid.uuid4()}/excuse", headers=t), 404, "not-found"
    )
    # A missing piece of work can be graded (usually 0), which moves it to graded.
    g = await grade(client, school, missing["id"], points="0", state="final")
    assert g["letter_grade"] == "F"
    assert ok(await client.get(f"/submissions/{missing['id']}", headers=t))["status"] == "graded"


async def test_mark_missing_after_the_due_date(client, db, settings, make_school):
    school = await make_school()
    await enroll(db, school, "s2")
    await add_student(db, settings, school, "s3")  # hands in nothing at all
    t = school.headers["t"]
    no_due = await ready(client, school)
    assert_problem(await client.post(f"/assignments/{no_due['id']}/mark-missing", headers=t), 422, "rule-violation")
    a = await ready(client, school, due_at="2999-01-01T00:00:00Z")
    assert_problem(await client.post(f"/assignments/{a['id']}/mark-missing", headers=t), 409, "not-due-yet")
    assert_problem(
        await client.post(f"/assignments/{a['id']}/mark-missing", headers=school.headers["s"]), 403, "forbidden"
    )

    handed_in = await turn_in(client, school, a["id"], who="s")
    draft = await turn_in(client, school, a["id"], who="s2", submit=False)
    await due_ago(db, a["id"], "1 second")
    marked = ok(await client.post(f"/assignments/{a['id']}/mark-missing", headers=t))
    assert marked["marked"] == 2
    assert set(marked["student_ids"]) == {str(school.people["s2"]), str(school.people["s3"])}
    rows = {r["student_id"]: r for r in ok(await client.get(f"/assignments/{a['id']}/submissions", headers=t))["items"]}
    assert rows[str(school.people["s"])]["status"] == "submitted"
    assert rows[str(school.people["s2"])]["id"] == draft["id"] and rows[str(school.people["s2"])]["status"] == "missing"
    assert rows[str(school.people["s2"])]["body"] == "My work"  # the draft's text is kept
    assert rows[str(school.people["s3"])]["status"] == "missing"
    assert ok(await client.post(f"/assignments/{a['id']}/mark-missing", headers=t))["marked"] == 0  # idempotent
    # Late work is still accepted: the student turns in the work that was marked missing.
    late = ok(await client.patch(f"/submissions/{draft['id']}", json={"submit": True}, headers=school.headers["s2"]))
    assert late["status"] == "late"
    assert handed_in["status"] == "submitted"

    unpublished = await assignment(client, school, a["category_id"], publish=False, due_at="2000-01-01T00:00:00Z")
    assert_problem(
        await client.post(f"/assignments/{unpublished['id']}/mark-missing", headers=t), 409, "assignment-state"
    )


async def test_grades_show_to_students_and_parents_once_posted(client, make_school):
    school = await make_school()
    t, s, p = (school.headers[who] for who in ("t", "s", "p"))
    a = await ready(client, school, title="Visible", due_at="2999-01-01T00:00:00Z")
    hidden = await ready(
        client, school, title="Hidden from parents", visible_to_parents=False, due_at="2999-02-01T00:00:00Z"
    )
    work = await turn_in(client, school, a["id"])
    hidden_work = await turn_in(client, school, hidden["id"])

    g = await grade(client, school, work["id"], points="88", state="final", feedback="Well argued")
    await grade(client, school, hidden_work["id"], points="70", state="final")
    assert (g["state"], g["posted_at"], g["grader_id"], g["source"]) == (
        "final",
        None,
        str(school.people["t"]),
        "teacher",
    )
    for who in (s, p):
        assert_problem(await client.get(f"/submissions/{work['id']}/grade", headers=who), 404, "not-found")
        assert ok(await client.get(f"/submissions/{work['id']}", headers=who))["grade"] is None
    mine = ok(await client.get("/me/assignments", headers=s))["items"]
    # "graded" only once the grade is posted: until then the work shows as turned in.
    assert [(m["title"], m["status"], m["grade"]) for m in mine] == [
        ("Visible", "submitted", None),
        ("Hidden from parents", "submitted", None),
    ]
    # Students cannot grade or post.
    assert_problem(
        await client.put(f"/submissions/{work['id']}/grade", json={"points": "100"}, headers=s), 403, "forbidden"
    )
    assert_problem(await client.post(f"/assignments/{a['id']}/post-grades", headers=s), 403, "forbidden")
    assert_problem(await client.post(f"/assignments/{a['id']}/post-grades", headers=p), 403, "forbidden")

    assert ok(await client.post(f"/assignments/{a['id']}/post-grades", headers=t)) == {"posted": 1}
    assert ok(await client.post(f"/assignments/{a['id']}/post-grades", headers=t)) == {"posted": 0}
    assert ok(await client.post(f"/assignments/{hidden['id']}/post-grades", headers=t)) == {"posted": 1}
    seen = ok(await client.get(f"/submissions/{work['id']}/grade", headers=s))
    assert (seen["final_points"], seen["letter_grade"], seen["feedback"]) == ("88.00", "B", "Well argued")
    assert ok(await client.get(f"/submissions/{work['id']}/grade", headers=p))["final_points"] == "88.00"
    assert ok(await client.get(f"/submissions/{work['id']}", headers=s))["status"] == "returned"
    # The parent never sees work or grades of an assignment hidden from parents; the student does.
    assert ok(await client.get(f"/submissions/{hidden_work['id']}/grade", headers=s))["final_points"] == "70.00"
    assert_problem(await client.get(f"/submissions/{hidden_work['id']}/grade", headers=p), 404, "not-found")
    assert_problem(await client.get(f"/submissions/{hidden_work['id']}", headers=p), 404, "not-found")

    mine = ok(await client.get("/me/assignments", headers=s))["items"]
    assert [(m["title"], m["status"], m["grade"] and m["grade"]["final_points"]) for m in mine] == [
        ("Visible", "returned", "88.00"),
        ("Hidden from parents", "returned", "70.00"),
    ]
    child = ok(await client.get("/me/assignments", params={"student_id": str(school.people["s"])}, headers=p))["items"]
    assert [(m["title"], m["status"], m["grade"] and m["grade"]["final_points"]) for m in child] == [
        ("Visible", "returned", "88.00"),
        ("Hidden from parents", "not_submitted", None),
    ]
    # Someone else's child: nothing.
    assert (
        ok(await client.get("/me/assignments", params={"student_id": str(school.people["s2"])}, headers=p))["items"]
        == []
    )
    # Un-finalising a posted grade un-posts it.
    draft_again = await grade(client, school, work["id"], points="90", state="draft")
    assert draft_again["posted_at"] is None
    assert_problem(await client.get(f"/submissions/{work['id']}/grade", headers=s), 404, "not-found")


async def test_my_assignments_order_and_pages(client, make_school):
    school = await make_school()
    s = school.headers["s"]
    later = await ready(client, school, title="Later", due_at="2031-01-01T00:00:00Z")
    undated = await ready(client, school, title="Undated")
    sooner = await ready(client, school, title="Sooner", due_at="2030-01-01T00:00:00Z")
    await ready(client, school, title="Draft", publish=False)
    await turn_in(client, school, sooner["id"], submit=False)
    first = ok(await client.get("/me/assignments", params={"limit": 2}, headers=s))
    assert [(m["title"], m["status"]) for m in first["items"]] == [("Sooner", "draft"), ("Later", "not_submitted")]
    rest = ok(await client.get("/me/assignments", params={"limit": 2, "cursor": first["next_cursor"]}, headers=s))
    assert [m["id"] for m in rest["items"]] == [undated["id"]] and rest["next_cursor"] is None
    assert later["id"] == first["items"][1]["id"]
    assert ok(await client.get("/me/assignments", params={"class_id": str(uuid.uuid4())}, headers=s))["items"] == []
    assert_problem(await client.get("/me/assignments", params={"cursor": "nonsense"}, headers=s), 400, "invalid-cursor")
    assert_problem(await client.get("/me/assignments"), 401, "unauthorized")
