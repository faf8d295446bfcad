"""The org admin's "School year" pages over HTTP: schools, sessions as a tree, courses; a
grading period closed and reopened (with a reason) and its history; refused forms come
back with why, other roles are refused."""

import pytest

from tests.academics.support import school_year
from tests.web.learning_support import text_of
from tests.web.support import as_person, submit

BASE = "/admin/school-year"


@pytest.mark.parametrize("who", ["t", "s", "p"])
async def test_other_roles_are_refused(app, db, settings, make_school, who):
    school = await make_school()
    async with await as_person(app, db, settings, school.people[who]) as http:
        assert (await http.get(BASE)).status_code == 403


async def test_the_admin_builds_a_year(app, client, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        empty = await http.get(BASE)
        assert empty.status_code == 200 and "No school year yet" in empty.text
        assert 'aria-current="page"' in empty.text and 'href="/admin/school-year"' in empty.text
        added = await submit(http, BASE, f"{BASE}/schools", {"name": "North High", "identifier": "N1"})
        assert added.status_code == 303
        year = await submit(
            http,
            BASE,
            f"{BASE}/sessions",
            {"title": "2030–31", "type": "school_year", "start_date": "2030-08-15", "end_date": "2031-06-30"},
        )
        assert year.status_code == 303
        page = await http.get(BASE)
        year_id = page.text.split('href="/admin/school-year/sessions/', 1)[1].split('"', 1)[0]
        refused = await submit(
            http,
            BASE,
            f"{BASE}/sessions",
            {
                "title": "Q1",
                "type": "grading_period",
                "parent_id": year_id,
                "start_date": "2030-08-01",
                "end_date": "2030-10-31",
            },
        )
        assert refused.status_code == 422 and "must lie within 2030–31" in refused.text
        assert 'value="Q1"' in refused.text  # what was typed comes back
        ok = await submit(
            http,
            BASE,
            f"{BASE}/sessions",
            {
                "title": "Q1",
                "type": "grading_period",
                "parent_id": year_id,
                "start_date": "2030-08-15",
                "end_date": "2030-10-31",
            },
        )
        assert ok.status_code == 303
        course = await submit(
            http,
            BASE,
            f"{BASE}/courses",
            {"title": "Algebra I", "code": "ALG1", "school_year_id": year_id, "subjects": "Math, Logic"},
        )
        assert course.status_code == 303
        no_title = await submit(http, BASE, f"{BASE}/courses", {"title": ""})
        assert no_title.status_code == 422
        text = text_of((await http.get(BASE)).text)
        assert "North High" in text and "Algebra I" in text and "Math, Logic" in text and "Q1" in text


async def test_closing_and_reopening_a_period_with_its_history(app, client, db, settings, make_school):
    school = await make_school()
    y = await school_year(client, school)
    url = f"{BASE}/sessions/{y.q1['id']}"
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        opened = await http.get(url)
        assert opened.status_code == 200 and "Close grading period" in opened.text
        closed = await submit(http, url, f"{url}/close", {"note": "End of quarter"})
        assert closed.status_code == 303
        page = await http.get(url)
        assert "Reopen grading period" in page.text and "Closed" in text_of(page.text)
        no_reason = await submit(http, url, f"{url}/reopen", {"reason": " "})
        assert no_reason.status_code == 422 and 'aria-invalid="true"' in no_reason.text
        reopened = await submit(http, url, f"{url}/reopen", {"reason": "A late regrade"})
        assert reopened.status_code == 303
        text = text_of((await http.get(url)).text)
        assert "Reopened" in text and "A late regrade" in text and "Closed" in text
        edited = await submit(
            http, url, url, {"title": "Quarter 1", "start_date": "2030-09-01", "end_date": "2031-09-01"}
        )
        assert edited.status_code == 422 and "must lie within Fall" in edited.text
        semester = await http.get(f"{BASE}/sessions/{y.fall['id']}")
        assert semester.status_code == 200 and "Close grading period" not in semester.text


async def test_schools_and_courses_are_edited(app, client, db, settings, make_school):
    school = await make_school()
    y = await school_year(client, school)
    oa = school.headers["oa"]
    north = (await client.post(f"/organizations/{school.org_id}/schools", json={"name": "North"}, headers=oa)).json()
    course = (
        await client.post(f"/organizations/{school.org_id}/courses", json={"title": "Algebra"}, headers=oa)
    ).json()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        listed = await http.get(BASE)
        assert f'href="{BASE}/schools/{north["id"]}"' in listed.text
        assert f'href="{BASE}/courses/{course["id"]}"' in listed.text
        url = f"{BASE}/schools/{north['id']}"
        assert (await submit(http, url, url, {"name": ""})).status_code == 422
        assert (await submit(http, url, url, {"name": "North High", "identifier": "N1"})).status_code == 303
        url = f"{BASE}/courses/{course['id']}"
        page = await http.get(url)
        assert page.status_code == 200 and "Course: Algebra" in page.text
        saved = await submit(
            http,
            url,
            url,
            {"title": "Algebra I", "school_id": north["id"], "school_year_id": y.year["id"], "grade_levels": "09, 10"},
        )
        assert saved.status_code == 303
        wrong_year = await submit(http, url, url, {"title": "Algebra I", "school_year_id": y.q1["id"]})
        assert wrong_year.status_code == 422 and "no such school year" in wrong_year.text
    stored = (await client.get(f"/courses/{course['id']}", headers=oa)).json()
    assert (stored["title"], stored["school_id"], stored["grade_levels"]) == ("Algebra I", north["id"], ["09", "10"])
    other = await make_school()
    async with await as_person(app, db, settings, other.people["oa"]) as http:
        assert (await http.get(f"{BASE}/courses/{course['id']}")).status_code == 404


async def test_the_admin_places_a_class_in_its_school_course_and_terms(app, client, db, settings, make_school):
    school = await make_school()
    year = await school_year(client, school)
    oa = school.headers["oa"]
    north = (
        await client.post(f"/organizations/{school.org_id}/schools", json={"name": "North High"}, headers=oa)
    ).json()
    course = (
        await client.post(
            f"/organizations/{school.org_id}/courses", json={"title": "Biology", "code": "BIO"}, headers=oa
        )
    ).json()
    page_url = f"/admin/classes/{school.class_id}"
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        shown = await http.get(page_url)
        assert "School, course and terms" in shown.text and "North High" in shown.text and "Biology (BIO)" in shown.text
        placed = await submit(
            http,
            page_url,
            f"{page_url}/academics",
            {
                "school_id": north["id"],
                "course_id": course["id"],
                "class_code": "BIO-1",
                "term_ids": [year.fall["id"], year.spring["id"]],
            },
        )
        assert placed.status_code == 303
        refused = await submit(http, page_url, f"{page_url}/academics", {"school_id": "not a school"})
        assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    found = (await client.get(f"/classes/{school.class_id}/academics", headers=oa)).json()
    assert found["school_id"] == north["id"] and found["course_id"] == course["id"] and found["class_code"] == "BIO-1"
    assert sorted(found["term_ids"]) == sorted([year.fall["id"], year.spring["id"]])
