"""Schools, academic sessions and courses through the API: org admins write, members read,
and what the database would refuse is answered at the edge with what to fix."""

from tests.academics.support import school_year, session
from tests.conftest import assert_problem
from tests.grading.support import ok


async def test_schools_and_courses(client, make_school):
    school = await make_school()
    oa, t, s = (school.headers[w] for w in ("oa", "t", "s"))
    url = f"/organizations/{school.org_id}"
    north = ok(await client.post(f"{url}/schools", json={"name": " North High ", "identifier": "NH"}, headers=oa), 201)
    assert north["name"] == "North High"
    assert_problem(await client.post(f"{url}/schools", json={"name": "South"}, headers=t), 403, "forbidden")
    assert_problem(await client.post(f"{url}/schools", json={"name": ""}, headers=oa), 422, "validation")
    assert_problem(await client.post(f"{url}/schools", json={"name": "x" * 201}, headers=oa), 422, "validation")
    ok(await client.post(f"{url}/schools", json={"name": "South"}, headers=oa), 201)
    first = ok(await client.get(f"{url}/schools", params={"limit": 1}, headers=s))
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = ok(await client.get(f"{url}/schools", params={"cursor": first["next_cursor"]}, headers=s))
    assert {x["name"] for x in first["items"] + rest["items"]} == {"North High", "South"}

    year = await session(
        client, school, title="2030", type="school_year", start_date="2030-08-01", end_date="2031-06-30"
    )
    course = ok(
        await client.post(
            f"{url}/courses",
            json={
                "title": "Algebra I",
                "code": "ALG1",
                "school_id": north["id"],
                "school_year_id": year["id"],
                "subjects": ["Math"],
                "grade_levels": ["09"],
            },
            headers=oa,
        ),
        201,
    )
    assert course["subjects"] == ["Math"] and course["grade_levels"] == ["09"]
    assert_problem(
        await client.post(f"{url}/courses", json={"title": "X", "school_year_id": north["id"]}, headers=oa),
        422,
        "validation",
    )
    assert_problem(await client.post(f"{url}/courses", json={"title": "X"}, headers=t), 403, "forbidden")
    assert ok(await client.get(f"/courses/{course['id']}", headers=s))["code"] == "ALG1"
    assert ok(await client.patch(f"/courses/{course['id']}", json={"code": "A1"}, headers=oa))["code"] == "A1"
    assert_problem(await client.patch(f"/courses/{course['id']}", json={"title": None}, headers=oa), 422)
    assert_problem(await client.patch(f"/courses/{course['id']}", json={"code": "B"}, headers=t), 403, "forbidden")
    listed = ok(await client.get(f"{url}/courses", params={"school_id": north["id"]}, headers=t))
    assert [c["id"] for c in listed["items"]] == [course["id"]]

    # The class: its school, course, code and terms, at once.
    body = {"school_id": north["id"], "course_id": course["id"], "class_code": "ALG1-01", "term_ids": [year["id"]]}
    assert_problem(await client.put(f"/classes/{school.class_id}/academics", json=body, headers=t), 403, "forbidden")
    linked = ok(await client.put(f"/classes/{school.class_id}/academics", json=body, headers=oa))
    assert linked == {**body, "class_id": str(school.class_id)}
    assert ok(await client.get(f"/classes/{school.class_id}/academics", headers=s)) == linked
    shown = ok(await client.get(f"/classes/{school.class_id}", headers=s))
    assert (shown["school_id"], shown["course_id"], shown["class_code"]) == (north["id"], course["id"], "ALG1-01")
    bad = {**body, "term_ids": [north["id"]]}
    assert_problem(await client.put(f"/classes/{school.class_id}/academics", json=bad, headers=oa), 422, "validation")

    # In use: neither the school, the course nor the year goes while something belongs to it.
    assert_problem(await client.delete(f"/schools/{north['id']}", headers=oa), 409, "in-use")
    assert_problem(await client.delete(f"/courses/{course['id']}", headers=oa), 409, "in-use")
    assert_problem(await client.delete(f"/academic-sessions/{year['id']}", headers=oa), 409, "in-use")
    ok(await client.put(f"/classes/{school.class_id}/academics", json={}, headers=oa))
    assert_problem(await client.delete(f"/courses/{course['id']}", headers=t), 403, "forbidden")
    assert ok(await client.delete(f"/courses/{course['id']}", headers=oa), 204) is None
    assert ok(await client.delete(f"/schools/{north['id']}", headers=oa), 204) is None
    assert_problem(await client.get(f"/schools/{north['id']}", headers=oa), 404, "not-found")


async def test_sessions_nest_within_their_parents(client, make_school):
    school = await make_school()
    oa, t = school.headers["oa"], school.headers["t"]
    y = await school_year(client, school)
    assert y.q1["school_year"] is None and y.q1["closed_at"] is None
    assert_problem(
        await client.post(
            f"/organizations/{school.org_id}/academic-sessions",
            json={"title": "Y", "type": "school_year", "start_date": "2030-01-01", "end_date": "2030-01-01"},
            headers=t,
        ),
        403,
        "forbidden",
    )
    bad = [
        # end before start
        {"title": "Y", "type": "school_year", "start_date": "2030-02-01", "end_date": "2030-01-01"},
        # not a type
        {"title": "Y", "type": "decade", "start_date": "2030-01-01", "end_date": "2030-02-01"},
        # a school year has no parent; the others need one
        {
            "title": "Y",
            "type": "school_year",
            "start_date": "2030-09-01",
            "end_date": "2030-10-01",
            "parent_id": y.year["id"],
        },
        {"title": "S", "type": "semester", "start_date": "2030-09-01", "end_date": "2030-10-01"},
        # a semester sits in a school year, not in a semester or period
        {
            "title": "S",
            "type": "semester",
            "start_date": "2030-09-01",
            "end_date": "2030-10-01",
            "parent_id": y.fall["id"],
        },
        {
            "title": "G",
            "type": "grading_period",
            "start_date": "2030-09-01",
            "end_date": "2030-09-02",
            "parent_id": y.q1["id"],
        },
        # outside the parent's days
        {
            "title": "G",
            "type": "grading_period",
            "start_date": "2030-12-01",
            "end_date": "2031-01-20",
            "parent_id": y.fall["id"],
        },
        # too long a title, an unknown parent
        {"title": "x" * 201, "type": "school_year", "start_date": "2030-01-01", "end_date": "2030-01-02"},
        {
            "title": "G",
            "type": "term",
            "start_date": "2030-09-01",
            "end_date": "2030-09-02",
            "parent_id": str(school.class_id),
        },
    ]
    for body in bad:
        response = await client.post(f"/organizations/{school.org_id}/academic-sessions", json=body, headers=oa)
        assert_problem(response, 422, "validation")
    # New dates stay within the parent's and hold the children's.
    q1 = f"/academic-sessions/{y.q1['id']}"
    assert_problem(await client.patch(q1, json={"end_date": "2031-02-01"}, headers=oa), 422, "validation")
    assert_problem(await client.patch(q1, json={"end_date": "2030-08-01"}, headers=oa), 422, "validation")
    fall = f"/academic-sessions/{y.fall['id']}"
    assert_problem(await client.patch(fall, json={"start_date": "2030-09-15"}, headers=oa), 422, "validation")
    assert ok(await client.patch(q1, json={"title": "Quarter 1", "end_date": "2030-11-01"}, headers=oa))["title"] == (
        "Quarter 1"
    )
    assert_problem(await client.patch(q1, json={"title": "Q"}, headers=t), 403, "forbidden")
    periods = ok(
        await client.get(
            f"/organizations/{school.org_id}/academic-sessions",
            params={"type": "grading_period"},
            headers=school.headers["s"],
        )
    )
    assert {p["title"] for p in periods["items"]} == {"Quarter 1", "Q3"}
    children = ok(
        await client.get(
            f"/organizations/{school.org_id}/academic-sessions", params={"parent_id": y.year["id"]}, headers=t
        )
    )
    assert {p["title"] for p in children["items"]} == {"Fall", "Spring"}
    # Deleting a semester takes its grading periods along.
    assert ok(await client.delete(fall, headers=oa), 204) is None
    assert_problem(await client.get(q1, headers=oa), 404, "not-found")


async def test_other_organizations_see_nothing(client, make_school):
    school, other = await make_school(), await make_school()
    y = await school_year(client, school)
    for path in (f"/academic-sessions/{y.year['id']}", f"/classes/{school.class_id}/academics"):
        assert_problem(await client.get(path, headers=other.headers["oa"]), 404, "not-found")
    listed = ok(await client.get(f"/organizations/{school.org_id}/academic-sessions", headers=other.headers["oa"]))
    assert listed["items"] == []
    body = {"title": "X", "type": "school_year", "start_date": "2030-01-01", "end_date": "2030-01-02"}
    response = await client.post(
        f"/organizations/{school.org_id}/academic-sessions", json=body, headers=other.headers["oa"]
    )
    assert response.status_code in (403, 404), response.text
