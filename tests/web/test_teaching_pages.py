"""The teacher's pages over HTTP: my classes, the class page (roster, categories, assignments),
the assignment editor with its rubric builder, an assignment's submissions and the teacher's
moves; and what students, parents and other organizations' teachers get instead (403/404)."""

import re
import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import add_person, add_student
from tests.grading.support import assignment, category, grade, ok, turn_in
from tests.web.support import as_person, form_token, submit

TZ = "America/Chicago"


async def teacher(app, db, settings, school, who: str = "t"):
    return await as_person(app, db, settings, school.people[who])


def editor_data(category_id: str, **changes) -> dict:
    """A complete editor form: a quiz with a two-criterion rubric (the second with two levels)."""
    data = {
        "action": "save",
        "title": "Fractions quiz",
        "type": "quiz",
        "category_id": category_id,
        "points_possible": "20",
        "instructions": "Show your work.",
        "available_from": "2030-03-01T08:00",
        "due_at": "2030-03-08T15:30",
        "close_at": "",
        "accept_late": "on",
        "late_penalty_percent_per_day": "10",
        "late_penalty_floor_percent": "50",
        "allowed_attempts": "2",
        "rubric_title": "Quiz rubric",
        "criteria-0-title": "Accuracy",
        "criteria-0-max_points": "12",
        "criteria-0-description": "Right answers",
        "criteria-1-title": "Working",
        "criteria-1-max_points": "8",
        "criteria-1-description": "",
        "criteria-1-levels-0-title": "Clear",
        "criteria-1-levels-0-points": "8",
        "criteria-1-levels-0-description": "Every step shown",
        "criteria-1-levels-1-title": "Some",
        "criteria-1-levels-1-points": "4",
        "criteria-1-levels-1-description": "",
    }
    return {**data, **changes}


def error_beside(html: str, field: str) -> str:
    """The error message shown beside ``field`` (and tied to it by aria-describedby)."""
    found = re.search(rf'<p class="field-error" id="error-{re.escape(field)}">([^<]*)</p>', html)
    assert found, f"no error beside {field}"
    assert re.search(rf'id="field-{re.escape(field)}"[^>]*aria-describedby="[^"]*error-{re.escape(field)}', html)
    return found.group(1)


# My classes


async def test_my_classes_are_the_classes_i_teach_in_this_organization(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    await add_student(db, settings, school, "s3")
    async with await teacher(app, db, settings, school) as http:
        page = await http.get("/teach")
    assert page.status_code == 200
    assert "<h1>My classes</h1>" in page.text
    assert f'href="/teach/classes/{school.class_id}"' in page.text
    assert f'href="/teach/classes/{school.class_id}/gradebook"' in page.text
    assert re.search(r"<dt>Students</dt><dd>2</dd>", page.text)
    other = await make_school()
    assert str(other.class_id) not in page.text

    await add_person(db, settings, school, "t-new", "teacher")
    async with await teacher(app, db, settings, school, "t-new") as http:
        empty = await http.get("/teach")
    assert empty.status_code == 200 and "You do not teach any classes" in empty.text


async def test_students_parents_and_other_organizations_get_no_teacher_page(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    cat = await category(client, school)
    published = await assignment(client, school, cat["id"], title="Published one")
    draft = await assignment(client, school, cat["id"], title="Draft one", publish=False)
    other = await make_school()
    pages = [
        f"/teach/classes/{school.class_id}",
        f"/teach/classes/{school.class_id}/assignments/new",
        f"/teach/assignments/{published['id']}",
        f"/teach/assignments/{published['id']}/edit",
    ]
    for who in ("s", "p"):
        async with await as_person(app, db, settings, school.people[who]) as http:
            assert (await http.get("/teach")).status_code == 403
            for url in pages:
                response = await http.get(url)
                assert response.status_code in (403, 404), (who, url)
                assert "Published one" not in response.text
            assert (await http.get(f"/teach/assignments/{draft['id']}")).status_code == 404
            refused = await submit(http, "/account/sessions", f"/teach/assignments/{published['id']}/post-grades", {})
            assert refused.status_code == 403 and "only the class" in refused.text
    async with await teacher(app, db, settings, other) as http:
        for url in pages + [f"/teach/assignments/{draft['id']}"]:
            response = await http.get(url)
            assert response.status_code == 404, url
            assert "Published one" not in response.text and "AI class" not in response.text
        refused = await submit(http, "/teach", f"/teach/assignments/{published['id']}/publish", {})
        assert refused.status_code == 404
        refused = await submit(http, "/teach", f"/teach/classes/{school.class_id}/categories", {"new-name": "X"})
        assert refused.status_code == 404


# The class page


async def test_the_class_page_shows_roster_categories_and_assignments_by_due_date(
    app, db, settings, client, make_school
):
    school = await make_school(time_zone=TZ)
    await add_student(db, settings, school, "aaron")
    homework = await category(client, school, "Homework", 40, drop_lowest=1)
    await category(client, school, "Tests", 50)
    now = datetime.now(UTC)
    later = await assignment(
        client, school, homework["id"], title="Later", due_at=(now + timedelta(days=9)).isoformat()
    )
    sooner = await assignment(
        client, school, homework["id"], title="Sooner", due_at=(now - timedelta(days=1)).isoformat()
    )
    await assignment(client, school, homework["id"], title="Undated draft", publish=False)
    work = await turn_in(client, school, sooner["id"])
    await grade(client, school, work["id"], points="7", state="final")
    async with await teacher(app, db, settings, school) as http:
        page = (await http.get(f"/teach/classes/{school.class_id}")).text
    roster = re.findall(r"<li>([^<]+)</li>", page.split('id="roster-heading"')[1])
    assert len(roster) == 2 and roster == sorted(roster, key=str.lower) and roster[0].startswith("aaron")
    assert "Weight 40%" in page and "drops the lowest 1 score" in page and "Weight 50%" in page
    assert "The weights add up to 90%" in page
    assert page.index("Sooner") < page.index("Later") < page.index("Undated draft")
    assert f'href="/teach/assignments/{later["id"]}"' in page
    row = page[page.index("Sooner") : page.index("Later")]
    assert "1 of 2" in row and re.search(r'data-label="Graded" class="number">1<', row)
    assert "status-published" in row
    assert f'href="/teach/classes/{school.class_id}/assignments/new"' in page


async def test_categories_are_added_changed_and_deleted_through_forms(app, db, settings, client, make_school):
    school = await make_school()
    url = f"/teach/classes/{school.class_id}"
    async with await teacher(app, db, settings, school) as http:
        no_category = await http.get(f"{url}/assignments/new")
        assert "this class has none yet" in no_category.text and 'name="title"' not in no_category.text
        added = await submit(
            http, url, f"{url}/categories", {"new-name": "Quizzes", "new-weight_percent": "30", "new-drop_lowest": "1"}
        )
        assert added.status_code == 303 and added.headers["location"] == f"{url}#categories"
        page = await http.get(url)
        assert "Category “Quizzes” saved." in page.text and "Weight 30%" in page.text
        (cat,) = ok(
            await client.get(f"{url.removeprefix('/teach')}/assignment-categories", headers=school.headers["t"])
        )["items"]

        bad = await submit(http, url, f"{url}/categories", {"new-name": " ", "new-weight_percent": "120"})
        assert bad.status_code == 422
        assert error_beside(bad.text, "new-weight_percent") == "Input should be less than or equal to 100"
        assert error_beside(bad.text, "new-name")
        assert 'value="120"' in bad.text  # what was typed stays

        too_much = await submit(http, url, f"{url}/categories", {"new-name": "Tests", "new-weight_percent": "80"})
        assert too_much.status_code == 422
        assert "100" in error_beside(too_much.text, "new-weight_percent")

        prefix = f"category-{cat['id']}-"
        changed = await submit(
            http,
            url,
            f"{url}/categories/{cat['id']}",
            {f"{prefix}name": "Quizzes and tests", f"{prefix}weight_percent": "45", f"{prefix}drop_lowest": "0"},
        )
        assert changed.status_code == 303
        stored = ok(
            await client.get(
                f"/classes/{school.class_id}/assignment-categories/{cat['id']}", headers=school.headers["t"]
            )
        )
        assert (stored["name"], stored["weight_percent"], stored["drop_lowest"]) == ("Quizzes and tests", "45.00", 0)

        await assignment(client, school, cat["id"])
        in_use = await submit(http, url, f"{url}/categories/{cat['id']}/delete", {})
        assert in_use.status_code == 409 and "move or delete them first" in in_use.text
        empty = await category(client, school, "Spare", 5)
        deleted = await submit(http, url, f"{url}/categories/{empty['id']}/delete", {})
        assert deleted.status_code == 303
        assert "Category “Spare” deleted." in (await http.get(url)).text


# The assignment editor


async def test_creating_an_assignment_with_a_rubric_through_the_editor(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    cat = await category(client, school)
    new = f"/teach/classes/{school.class_id}/assignments/new"
    async with await teacher(app, db, settings, school) as http:
        form = await http.get(new)
        assert form.status_code == 200 and 'name="criteria-0-title"' not in form.text
        token = form_token(form.text)
        # The builder's buttons add rows (and keep what was typed) without saving anything.
        one = await http.post(new, data={"csrf_token": token, **editor_data(cat["id"], action="add-criterion")})
        assert one.status_code == 200
        assert 'id="field-criteria-2-title"' in one.text and "autofocus" in one.text
        assert 'value="Fractions quiz"' in one.text and 'value="2030-03-08T15:30"' in one.text
        level = await http.post(new, data={"csrf_token": token, **editor_data(cat["id"], action="add-level-0")})
        assert 'id="field-criteria-0-levels-0-title"' in level.text
        removed = await http.post(
            new, data={"csrf_token": token, **editor_data(cat["id"], action="remove-criterion-0")}
        )
        assert 'value="Working"' in removed.text and 'value="Accuracy"' not in removed.text
        assert not ok(await client.get(f"/classes/{school.class_id}/assignments", headers=school.headers["t"]))["items"]

        created = await http.post(new, data={"csrf_token": token, **editor_data(cat["id"])})
        assert created.status_code == 303, created.text
        assignment_id = created.headers["location"].removeprefix("/teach/assignments/")
        shown = await http.get(created.headers["location"])
        assert "is saved as a draft" in shown.text and "2 criteria, 20 points" in shown.text
    stored = ok(await client.get(f"/assignments/{assignment_id}", headers=school.headers["t"]))
    assert stored["state"] == "draft" and stored["type"] == "quiz" and stored["allowed_attempts"] == 2
    assert stored["due_at"] == "2030-03-08T21:30:00Z"  # 15:30 in Chicago
    assert (stored["late_penalty_percent_per_day"], stored["late_penalty_floor_percent"]) == ("10.00", "50.00")
    assert stored["accept_late"] is True and stored["visible_to_parents"] is False and stored["close_at"] is None
    rubric = ok(await client.get(f"/assignments/{assignment_id}/rubric", headers=school.headers["t"]))
    assert rubric["title"] == "Quiz rubric" and rubric["total_points"] == "20.00"
    assert [(c["title"], c["max_points"]) for c in rubric["criteria"]] == [("Accuracy", "12.00"), ("Working", "8.00")]
    assert [level["title"] for level in rubric["criteria"][1]["levels"]] == ["Clear", "Some"]


async def test_the_editor_shows_errors_beside_the_fields(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    cat = await category(client, school)
    new = f"/teach/classes/{school.class_id}/assignments/new"
    async with await teacher(app, db, settings, school) as http:
        data = editor_data(
            cat["id"],
            title="",
            points_possible="-1",
            available_from="2030-03-09T08:00",
            close_at="not a time",
            **{"criteria-1-levels-0-points": "9", "criteria-0-max_points": ""},
        )
        response = await submit(http, new, new, data)
        assert response.status_code == 422
        assert error_beside(response.text, "title") == "This is required."
        assert error_beside(response.text, "points_possible") == "Input should be greater than 0"
        assert error_beside(response.text, "close_at") == "Enter a date and a time."
        assert error_beside(response.text, "criteria-0-max_points") == "This is required."
        assert "more than the maximum points" in error_beside(response.text, "criteria-1-max_points")
        assert 'href="#field-title"' in response.text  # the summary links to the field

        dates = await submit(http, new, new, editor_data(cat["id"], available_from="2030-03-09T08:00"))
        assert error_beside(dates.text, "due_at") == "The due date must not be before the date it opens."
        wrong_category = await submit(http, new, new, editor_data(str(uuid.uuid4())))
        assert wrong_category.status_code == 422
        assert error_beside(wrong_category.text, "category_id") == "Choose one of this class’s categories."
    assert not ok(await client.get(f"/classes/{school.class_id}/assignments", headers=school.headers["t"]))["items"]


async def test_editing_keeps_what_is_graded_and_says_why_not(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    cat = await category(client, school)
    new = f"/teach/classes/{school.class_id}/assignments/new"
    async with await teacher(app, db, settings, school) as http:
        created = await submit(http, new, new, editor_data(cat["id"], available_from="", due_at=""))
        assignment_id = created.headers["location"].removeprefix("/teach/assignments/")
        edit = f"/teach/assignments/{assignment_id}/edit"
        form = await http.get(edit)
        assert 'value="Fractions quiz"' in form.text and 'value="Accuracy"' in form.text
        assert 'value="Clear"' in form.text and 'value="2"' in form.text

        published = await submit(http, edit, f"/teach/assignments/{assignment_id}/publish", {"back": edit})
        assert (published.status_code, published.headers["location"]) == (303, edit)
        work = await turn_in(client, school, assignment_id)
        rubric = ok(await client.get(f"/assignments/{assignment_id}/rubric", headers=school.headers["t"]))
        scores = [{"criterion_id": c["id"], "points": "5"} for c in rubric["criteria"]]
        await grade(client, school, work["id"], rubric=scores, state="final")

        renamed = await submit(
            http, edit, edit, editor_data(cat["id"], title="Fractions quiz (v2)", due_at="", available_from="")
        )
        assert renamed.status_code == 303  # the rubric is unchanged, so it is not replaced
        locked = await submit(
            http, edit, edit, editor_data(cat["id"], points_possible="25", due_at="", available_from="")
        )
        assert locked.status_code == 409
        assert "before changing the points possible" in error_beside(locked.text, "points_possible")
        in_use = await submit(
            http, edit, edit, editor_data(cat["id"], due_at="", available_from="", **{"criteria-0-max_points": "11"})
        )
        assert in_use.status_code == 409 and "delete those grades before replacing the rubric" in in_use.text
    stored = ok(await client.get(f"/assignments/{assignment_id}", headers=school.headers["t"]))
    assert (stored["title"], stored["points_possible"]) == ("Fractions quiz (v2)", "20.00")


# An assignment's submissions


async def test_the_submissions_page_and_the_teachers_moves(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    await add_student(db, settings, school, "late-one")
    await add_student(db, settings, school, "nothing")
    await add_student(db, settings, school, "excused")
    cat = await category(client, school)
    due = datetime.now(UTC) + timedelta(seconds=2)
    work = await assignment(client, school, cat["id"], title="Essay", due_at=due.isoformat())
    url = f"/teach/assignments/{work['id']}"
    on_time = await turn_in(client, school, work["id"], body="Line one\nhttp://x <b>bold</b>")
    await grade(client, school, on_time["id"], points="80", state="final", feedback="Good")
    async with await teacher(app, db, settings, school) as http:
        page = await http.get(url)
        assert page.status_code == 200 and "Mark missing work" not in page.text  # not due yet
        assert f'href="/teach/submissions/{on_time["id"]}"' in page.text
        assert f'href="{url}/ai-grading"' in page.text
        assert "&lt;b&gt;bold&lt;/b&gt;" in page.text and "80 / 100" in page.text

        posted = await submit(http, url, f"{url}/post-grades", {"back": url})
        assert (posted.status_code, posted.headers["location"]) == (303, url)
        assert "1 grade is posted" in (await http.get(url)).text
        seen = ok(await client.get(f"/submissions/{on_time['id']}/grade", headers=school.headers["s"]))
        assert seen["posted_at"] is not None

        excused = school.people["excused"]
        done = await submit(http, url, f"{url}/students/{excused}/excuse", {})
        assert done.status_code == 303
        assert "is excused" in (await http.get(url)).text

        while datetime.now(UTC) <= due:
            await http.get("/teach")
        await turn_in(client, school, work["id"], who="late-one")
        marked = await submit(http, url, f"{url}/mark-missing", {})
        assert marked.status_code == 303
        page = (await http.get(url)).text
        assert "1 student is marked missing" in page
        statuses = dict(
            re.findall(
                r'<th scope="row" data-label="Student">([^ <]+)[^<]*</th>\s*<td data-label="Status"><span class="status status-(\w+)"',
                page,
            )
        )
        assert statuses == {"late-one": "late", "nothing": "missing", "excused": "excused", "s": "on_time"}
        assert "1 on time" in page and "1 late" in page and "1 missing" in page

        closed = await submit(http, url, f"{url}/close", {})
        assert closed.status_code == 303 and "is closed" in (await http.get(url)).text
        again = await submit(http, url, f"{url}/close", {})
        assert again.status_code == 409 and "the assignment is closed" in again.text
        missing_again = await submit(http, url, f"{url}/students/{school.people['s']}/missing", {})
        assert missing_again.status_code == 409 and "only work never turned in can be missing" in missing_again.text
