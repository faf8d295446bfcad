"""The gradebook page over HTTP, on the hand-computed class of tests/grading/test_gradebook.py
(rows s, s2, s3; columns H1, H2, H3, T1, T2): the grid and course percentages are the API's,
grades saved a cell at a time (the page's script) and all at once (the plain form) land where
the API sees them, bad values are said beside their cells, only the class's staff get in, and
the CSV is the API's file."""

import re
from decimal import Decimal

from schoolbase.web.formatting import percent
from tests.conftest import assert_problem
from tests.grading.support import grade, ok, rubric_assignment, turn_in
from tests.grading.test_gradebook import build_class, by_student
from tests.web.support import as_person, form_token

FIELD = re.compile(r'<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"')
COURSE = re.compile(r'id="course(\d+)">([^<]*) <span class="letter">([^<]*)</span>')
MARK = re.compile(r'<span class="mark" id="m(\d+_\d+)">([^<]*)</span>')
ERROR = re.compile(r'<span class="cell-error" id="e(\d+_\d+)">([^<]*)</span>')
ROWS = {"s": 0, "s2": 1, "s3": 2}
COLUMNS = {"H1": 0, "H2": 1, "H3": 2, "T1": 3, "T2": 4}


def cell(who: str, column: str) -> str:
    """A cell's key (``row_column``) in the grid."""
    return f"{ROWS[who]}_{COLUMNS[column]}"


def fields(html: str) -> dict[str, str]:
    """The form's inputs as a browser would send them."""
    return dict(FIELD.findall(html))


async def teacher_book(client, school) -> dict:
    return ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["t"]))


async def opened(app, db, settings, school, who: str = "t"):
    return await as_person(app, db, settings, school.people[who])


async def test_the_grid_shows_the_apis_grades_and_course_percentages(app, client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    book = await teacher_book(client, school)
    async with await opened(app, db, settings, school) as http:
        page = await http.get(f"/teach/classes/{school.class_id}/gradebook")
    assert page.status_code == 200, page.text
    html = page.text
    values, marks = fields(html), dict(MARK.findall(html))
    # Rows and columns carry the API's ids, in the API's order.
    assert [values[f"s{i}"] for i in range(3)] == [str(school.people[w]) for w in ("s", "s2", "s3")]
    assert [values[f"a{j}"] for j in range(5)] == [c["assignment_id"] for c in book["assignments"]]
    # Course percentage and letter as the API computes them.
    rows = by_student(book)
    shown = {int(i): (pct, letter) for i, pct, letter in COURSE.findall(html)}
    for who, i in ROWS.items():
        row = rows[str(school.people[who])]
        expected = percent(Decimal(row["course_percentage"])) if row["course_percentage"] else "—"
        assert shown[i] == (expected, row["course_letter"] or "")
    assert shown[0] == ("81.3%", "B") and shown[1] == ("42.0%", "F")
    # Points in the inputs; status marks; no input where nothing can be graded here.
    assert [values[f"c{cell('s', c)}"] for c in ("H1", "H2", "H3", "T1")] == ["10", "4", "15", "40"]
    assert f"c{cell('s', 'T2')}" not in values and "excused" in html  # excused
    assert values[f"c{cell('s2', 'H1')}"] == "" and marks[cell("s2", "H1")] == "missing"
    assert values[f"c{cell('s3', 'H3')}"] == "" and marks[cell("s3", "H3")] == "to grade"
    assert f"c{cell('s3', 'H1')}" not in values and "not turned in" in html
    # Category weights above the grid, the columns labelled with category, points and due date.
    assert "<strong>Homework</strong> 40.0%" in html and "lowest 1 dropped" in html
    assert "<strong>Tests</strong> 60.0%" in html
    assert '<span class="meta">Tests</span><span class="meta">100 pts · no due date</span>' in html
    assert '<caption id="gradebook-caption">' in html and 'scope="row"' in html and 'tabindex="0"' in html


async def test_a_cell_saved_by_the_script_answers_the_new_course_percentage(app, client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    url = f"/teach/classes/{school.class_id}/gradebook"
    async with await opened(app, db, settings, school) as http:
        token = form_token((await http.get(url)).text)
        post = {"csrf_token": token, "student_id": str(school.people["s3"]), "assignment_id": a["H3"]["id"]}
        response = await http.post(f"{url}/cell", data={**post, "points": "18", "state": "final"})
        assert response.status_code == 200, response.text
        answer = response.json()
        row = by_student(await teacher_book(client, school))[str(school.people["s3"])]
        [h3] = [c for c in row["cells"] if c["assignment_id"] == a["H3"]["id"]]
        assert (h3["points"], h3["grade_state"], h3["status"]) == ("18.00", "final", "graded")
        assert answer == {
            "value": "18",
            "mark": "",
            "course": percent(Decimal(row["course_percentage"])),
            "letter": "A",
        }
        # A draft grade stays a draft and keeps its feedback when its points change here.
        work = await turn_in(client, school, a["T1"]["id"], who="s3")
        await grade(client, school, work["id"], points="20", state="draft", feedback="Show your steps")
        post["assignment_id"] = a["T1"]["id"]
        response = await http.post(f"{url}/cell", data={**post, "points": "30", "state": "final"})
        assert response.json()["mark"] == "draft"
        stored = ok(await client.get(f"/submissions/{work['id']}/grade", headers=school.headers["t"]))
        assert (stored["points"], stored["state"], stored["feedback"]) == ("30.00", "draft", "Show your steps")
        # Extra credit above the points possible is allowed, as in the API.
        response = await http.post(f"{url}/cell", data={**post, "points": "55"})
        assert response.status_code == 200 and response.json()["value"] == "55"


async def test_the_plain_form_saves_every_changed_cell(app, client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    url = f"/teach/classes/{school.class_id}/gradebook"
    async with await opened(app, db, settings, school) as http:
        values = fields((await http.get(url)).text)
        # Meanwhile another teacher regrades s's H2: the form, which still shows 4 there, keeps theirs.
        regraded = ok(await client.get(f"/assignments/{a['H2']['id']}/submissions", headers=school.headers["t"]))
        [h2] = [w for w in regraded["items"] if w["student_id"] == str(school.people["s"])]
        await grade(client, school, h2["id"], points="6", state="final")
        values |= {f"c{cell('s2', 'H2')}": "9", f"c{cell('s2', 'H1')}": "5", f"c{cell('s', 'H1')}": "10.00"}
        # A 30 x 40 class posts more than 1,000 fields (Starlette's default limit of a form).
        blank = {f"c99_{j}": "" for j in range(1200)}
        response = await http.post(url, data={**values, **blank, "state": "draft"})
        assert (response.status_code, response.headers.get("location")) == (303, url), response.text
        assert "Saved 2 grades." in (await http.get(url)).text
        assert (await http.post(url, data=fields((await http.get(url)).text))).status_code == 303
        assert "No changes to save." in (await http.get(url)).text
    rows = by_student(await teacher_book(client, school))
    assert [c["points"] for c in rows[str(school.people["s"])]["cells"]][:2] == ["10.00", "6.00"]
    got = {c["assignment_id"]: (c["points"], c["grade_state"]) for c in rows[str(school.people["s2"])]["cells"]}
    assert got[a["H2"]["id"]] == ("9.00", "final")  # a final grade stays final
    assert got[a["H1"]["id"]] == ("5.00", "draft")  # a new grade takes the chosen state


async def test_bad_values_are_said_beside_their_cells(app, client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    before = await teacher_book(client, school)
    url = f"/teach/classes/{school.class_id}/gradebook"
    bad = {cell("s2", "H2"): "-1", cell("s", "H1"): "1000000", cell("s", "H3"): "ten", cell("s", "T1"): "1.234"}
    async with await opened(app, db, settings, school) as http:
        values = fields((await http.get(url)).text)
        values |= {f"c{key}": text for key, text in bad.items()} | {f"c{cell('s2', 'H3')}": "7"}
        response = await http.post(url, data=values)
        assert response.status_code == 422, response.text
        html = response.text
        errors, shown = dict(ERROR.findall(html)), fields(html)
        assert set(errors) == set(bad)
        assert all(message.startswith("Enter points from 0") for message in errors.values())
        assert all(shown[f"c{key}"] == text for key, text in bad.items())  # as typed, to fix
        assert f'href="#c{cell("s", "H3")}"' in html and "Saved 1 grade." in html
        # The script's endpoint answers the same way, as JSON; refusals of the service too.
        post = {"csrf_token": form_token(html), "student_id": str(school.people["s"])}
        for assignment, points, status, start in (
            ("H1", "abc", 422, "Enter points from 0"),
            ("T2", "5", 409, "Excused work is not graded"),
            ("H1", "", 422, "Enter points from 0"),
        ):
            response = await http.post(
                f"{url}/cell", data={**post, "assignment_id": a[assignment]["id"], "points": points}
            )
            assert response.status_code == status and response.json()["error"].startswith(start), response.text
        post["student_id"] = str(school.people["s3"])
        response = await http.post(f"{url}/cell", data={**post, "assignment_id": a["H1"]["id"], "points": "5"})
        assert (response.status_code, response.json()["error"]) == (
            409,
            "Nothing was turned in: mark it missing on the assignment's page to grade it",
        )
    after = by_student(await teacher_book(client, school))
    for who in ("s", "s3"):
        assert after[str(school.people[who])] == by_student(before)[str(school.people[who])]
    assert {c["assignment_id"]: c["points"] for c in after[str(school.people["s2"])]["cells"]}[a["H3"]["id"]] == "7.00"


async def test_rubric_columns_are_graded_on_the_submissions_page(app, client, db, settings, make_school):
    school = await make_school()
    assignment, _ = await rubric_assignment(client, school)
    await turn_in(client, school, assignment["id"])
    url = f"/teach/classes/{school.class_id}/gradebook"
    async with await opened(app, db, settings, school) as http:
        html = (await http.get(url)).text
        assert "c0_0" not in fields(html) and "by rubric" in html
        post = {"csrf_token": form_token(html), "student_id": str(school.people["s"]), "points": "5"}
        response = await http.post(f"{url}/cell", data={**post, "assignment_id": assignment["id"]})
        assert response.status_code == 422 and "graded by its rubric" in response.json()["error"]


async def test_only_the_classs_staff_open_the_gradebook(app, client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    other = await make_school()
    url = f"/teach/classes/{school.class_id}/gradebook"
    async with await opened(app, db, settings, school, "oa") as http:
        assert (await http.get(url)).status_code == 200  # the organization's admin
        token = form_token((await http.get(url)).text)
    for who, people, status in (("s", school, 403), ("p", school, 403), ("t", other, 404), ("oa", other, 404)):
        async with await opened(app, db, settings, people, who) as http:
            token = form_token((await http.get("/account/sessions")).text)
            cell_post = {"csrf_token": token, "student_id": str(school.people["s"]), "assignment_id": a["H1"]["id"]}
            for response in (
                await http.get(url),
                await http.get(f"{url}.csv"),
                await http.post(url, data={"csrf_token": token, "s0": str(school.people["s"]), "a0": a["H1"]["id"]}),
                await http.post(f"{url}/cell", data={**cell_post, "points": "1"}),
            ):
                assert response.status_code == status, (who, response.text)
                assert 'id="gradebook-form"' not in response.text and "student_id" not in response.text
    assert_problem(await client.get(f"/classes/{school.class_id}/gradebook", headers=other.headers["t"]), 404)
    async with await opened(app, db, settings, school) as http:
        missing = await http.get(url.replace(str(school.class_id), "00000000-0000-0000-0000-000000000000"))
        assert missing.status_code == 404


async def test_the_csv_download_is_the_apis_file(app, client, db, settings, make_school):
    school, _ = await build_class(client, db, settings, make_school)
    api = await client.get(f"/classes/{school.class_id}/gradebook.csv", headers=school.headers["t"])
    async with await opened(app, db, settings, school) as http:
        page = await http.get(f"/teach/classes/{school.class_id}/gradebook")
        assert f'href="/teach/classes/{school.class_id}/gradebook.csv"' in page.text
        response = await http.get(f"/teach/classes/{school.class_id}/gradebook.csv")
    assert response.status_code == 200 and api.status_code == 200
    assert response.headers["content-type"] == api.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == api.headers["content-disposition"]
    assert response.content == api.content and "81.33" in response.text


async def test_an_empty_class_says_what_is_missing(app, db, settings, make_school):
    school = await make_school()
    async with await opened(app, db, settings, school) as http:
        page = await http.get(f"/teach/classes/{school.class_id}/gradebook")
    assert page.status_code == 200
    assert "No published assignments yet." in page.text and "No categories yet." in page.text
