"""The student's pages over HTTP: the to-do groups, the assignment page (turning work in,
resubmitting, refusals with their reasons, the posted grade with rubric scores and
feedback), my grades with the API gradebook's course percentage; and what a student may
not see (another class's or student's assignment, drafts, teachers' pages)."""

import uuid
from datetime import datetime

from schoolbase.web.formatting import percent, when
from tests.conftest import add_student
from tests.grading.support import assignment, category, ok, ready, sql, turn_in
from tests.web.learning_support import other_class, school_day, section, soon, text_of
from tests.web.support import as_person, submit


def work_url(assignment_id) -> str:
    return f"/assignments/{assignment_id}/work"


async def test_the_to_do_list_sorts_my_work(app, client, db, settings, make_school):
    school = await make_school(time_zone="America/Chicago")
    day = await school_day(client, db, school)
    async with await as_person(app, db, settings, school.people["s"]) as http:
        page = await http.get("/todo")
    assert page.status_code == 200
    html = page.text
    groups = {key: text_of(section(html, f"todo-{key}")) for key in ("missing", "late", "due_soon", "later")}
    assert "Missed quiz" in groups["missing"] and "Marked missing" in groups["missing"]
    assert "still accepted late" in groups["missing"]  # marked missing, late work accepted
    assert "Late lab" in groups["late"] and "Sent late" in groups["late"]
    assert "Soon essay" in groups["due_soon"] and "Hidden diary" not in groups["due_soon"]  # turned in
    assert "Far project" in groups["later"]
    for done in ("Done on time", "Graded essay", "Unposted test", "Hidden diary", "Unpublished draft"):
        assert done not in html
    # Due times in the organization's time zone; attempts left; a link to each assignment page.
    soon_essay = ok(await client.get(f"/assignments/{day.ids['Soon essay']}", headers=school.headers["s"]))
    due = when(datetime.fromisoformat(soon_essay["due_at"]), "America/Chicago")
    assert due in groups["due_soon"] and "3 of 3" in groups["due_soon"]
    assert "1 of 2" in groups["late"]  # Sent late: one of two attempts used
    assert f'href="{work_url(day.ids["Soon essay"])}"' in html
    assert "Closed" in groups["missing"]  # Missed quiz takes no late work


async def test_the_to_do_list_when_there_is_nothing_to_do(app, client, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["s"]) as http:
        assert "Nothing to do: you are all caught up." in (await http.get("/todo")).text
    async with await as_person(app, db, settings, school.people["s2"]) as http:
        assert "You are not in any classes" in (await http.get("/todo")).text
        assert "You are not in any classes" in (await http.get("/grades")).text
    a = await ready(client, school, due_at=soon(2))
    await turn_in(client, school, a["id"])
    async with await as_person(app, db, settings, school.people["s"]) as http:
        assert "Nothing to do" in (await http.get("/todo")).text
    async with await as_person(app, db, settings, school.people["t"]) as http:
        for path in ("/todo", "/grades"):
            refused = await http.get(path)
            assert refused.status_code == 403 and "This page is for students" in refused.text


async def test_a_student_turns_in_and_resubmits_through_the_form(app, client, db, settings, make_school):
    school = await make_school()
    a = await ready(
        client,
        school,
        title="Poem",
        allowed_attempts=2,
        instructions="Write a poem\nabout autumn.",
        due_at=soon(5),
        late_penalty_percent_per_day="10",
        late_penalty_floor_percent="50",
    )
    url = work_url(a["id"])
    async with await as_person(app, db, settings, school.people["s"]) as http:
        page = (await http.get(url)).text
        assert "Write a poem\nabout autumn." in page and "0 of 2 used" in page
        assert "10.0% of the points taken off per day late" in page and "below 50.0% of the points" in page
        assert "Turn in your work" in page and "You have not turned anything in yet." in page

        refused = await submit(
            http, url, url, {"body": "Leaves", "links": "https://ok.example/a\nnot a link", "action": "submit"}
        )
        assert refused.status_code == 422
        assert 'id="error-links"' in refused.text and "Link 2:" in refused.text
        assert ">Leaves</textarea>" in refused.text  # what was typed stays

        draft = await submit(http, url, url, {"body": "Leaves fall", "links": "", "action": "draft"})
        assert (draft.status_code, draft.headers["location"]) == (303, url)
        page = (await http.get(url)).text
        assert "Draft saved. It is not turned in yet." in page and "You have a draft saved" in page
        assert ">Leaves fall</textarea>" in page

        first = await submit(
            http, url, url, {"body": "Leaves fall down", "links": "https://ok.example/poem", "action": "submit"}
        )
        assert first.status_code == 303
        page = (await http.get(url)).text
        assert "Turned in (attempt 1)." in page and "1 of 2 used" in page and "Turn in again" in page
        assert 'href="https://ok.example/poem"' in page

        second = await submit(http, url, url, {"body": "Leaves fall softly", "links": "", "action": "submit"})
        assert second.status_code == 303
        page = (await http.get(url)).text
        assert "Turned in (attempt 2)." in page and "No attempts left" in page and 'name="action"' not in page

        # Posted anyway (an old tab): the database refuses, and the page says why.
        third = await submit(http, url, url, {"body": "Once more", "links": "", "action": "submit"})
        assert third.status_code == 422 and "allows 2 attempt(s)" in third.text
    mine = ok(await client.get("/me/submissions", params={"assignment_id": a["id"]}, headers=school.headers["s"]))
    assert [(m["attempt"], m["body"], m["links"]) for m in mine["items"]] == [
        (1, "Leaves fall down", ["https://ok.example/poem"]),
        (2, "Leaves fall softly", []),
    ]


async def test_closed_and_late_refusals_are_said_with_their_reason(app, client, db, settings, make_school):
    school = await make_school()
    closed = await ready(client, school, title="Closed one", due_at=soon(3))
    ok(await client.post(f"/assignments/{closed['id']}/close", headers=school.headers["t"]))
    no_late = await ready(client, school, title="Strict", due_at=soon(1), accept_late=False)
    await sql(db, "update assignments set due_at = now() - interval '1 day' where id = :a", a=no_late["id"])
    async with await as_person(app, db, settings, school.people["s"]) as http:
        page = (await http.get(work_url(closed["id"]))).text
        assert "This assignment is closed" in page and "Turn in</button>" not in page
        refused = await submit(http, work_url(closed["id"]), work_url(closed["id"]), {"body": "x", "action": "submit"})
        assert refused.status_code == 422 and "is not open for submissions (it is closed)" in refused.text
        page = (await http.get(work_url(no_late["id"]))).text
        assert "does not accept late work" in page and "Late work is not accepted." in page
        refused = await submit(
            http, work_url(no_late["id"]), work_url(no_late["id"]), {"body": "x", "action": "submit"}
        )
        assert refused.status_code == 422 and "does not accept late work" in refused.text


async def test_my_grade_shows_with_rubric_scores_and_feedback_once_posted(app, client, db, settings, make_school):
    school = await make_school()
    day = await school_day(client, db, school)
    async with await as_person(app, db, settings, school.people["s"]) as http:
        page = (await http.get(work_url(day.ids["Graded essay"]))).text
        unposted = (await http.get(work_url(day.ids["Unposted test"]))).text
        grades = await http.get("/grades")
    # The rubric, then the posted grade: 8.5 of 10 with each criterion's score and comment.
    assert "Essay rubric" in page and "Thesis" in page and "Clear</strong>: 4 points" in page
    grade = text_of(section(page, "my-grade"))
    assert "8.5 / 10" in grade and "85.0%" in grade
    assert "Clear" in grade and "4 / 4" in grade and "Sharp thesis" in grade
    assert "4.5 / 6" in grade and "More quotes" in grade and "Well argued overall" in grade
    # Graded but not posted: no grade, the work shows as turned in.
    assert 'id="my-grade"' not in unposted and "77" not in text_of(unposted) and "Not posted yet" not in unposted
    assert "Turned in" in unposted

    assert grades.status_code == 200
    book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["s"]))
    (me,) = book["students"]
    mine = text_of(grades.text)
    assert f"Course grade: {percent(me['course_percentage'])} ({me['course_letter']})" in mine
    assert "Graded essay" in mine and "8.5 / 10" in mine and "Well argued overall" in mine
    assert "Hidden diary" in mine and "61 / 100" in mine  # the student sees what parents may not
    assert "Unposted test" not in mine and "Not posted yet" not in mine
    assert f'href="{work_url(day.ids["Graded essay"])}"' in grades.text


async def test_other_peoples_assignments_are_not_found(app, client, db, settings, make_school):
    school = await make_school()
    day = await school_day(client, db, school)
    elsewhere = await make_school()
    theirs = await ready(client, elsewhere, title="Other school")
    home, school.class_id = school.class_id, await other_class(db, school)
    cat = await category(client, school, name="Theirs", weight=5)
    not_mine = await assignment(client, school, cat["id"], title="Not my class")
    school.class_id = home
    await add_student(db, settings, school, "s3")  # in s's class, with their own work
    essay = day.ids["Graded essay"]
    async with await as_person(app, db, settings, school.people["s2"]) as http:  # in no class
        for assignment_id in (essay, theirs["id"], not_mine["id"], uuid.uuid4()):
            assert (await http.get(work_url(assignment_id))).status_code == 404
        refused = await submit(http, "/account/sessions", work_url(essay), {"body": "x", "action": "submit"})
        assert refused.status_code == 404
    async with await as_person(app, db, settings, school.people["s"]) as http:
        assert (await http.get(work_url(day.ids["Unpublished draft"]))).status_code == 404
        forged = await http.post(work_url(day.ids["Soon essay"]), data={"body": "x", "action": "submit"})
        assert forged.status_code == 403  # no form token
        assert (await http.get(work_url(theirs["id"]))).status_code == 404
        assert "Not my class" not in (await http.get("/todo")).text
        assert "Other class" not in (await http.get("/grades")).text
    async with await as_person(app, db, settings, school.people["s3"]) as http:
        page = (await http.get(work_url(essay))).text  # the same assignment, without s's work or grade
        assert "My essay" not in page and "Well argued overall" not in page and 'id="my-grade"' not in page
    async with await as_person(app, db, settings, school.people["p"]) as http:
        assert (await http.get(work_url(essay))).status_code == 404
    async with await as_person(app, db, settings, school.people["t"]) as http:
        teacher = await http.get(work_url(essay))
        assert (teacher.status_code, teacher.headers["location"]) == (303, f"/teach/assignments/{essay}")
