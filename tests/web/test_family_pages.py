"""The parent's pages over HTTP, read as the parent under row-level security: a child's
classes with the course percentage the API gradebook shows the parent, posted grades visible
to parents (never an unposted grade, nor anything of an assignment hidden from parents),
missing and upcoming work; several children; and nobody else's child."""

import uuid

from schoolbase.web.formatting import percent
from tests.conftest import Builder, add_person, add_student
from tests.grading.support import ok
from tests.web.learning_support import school_day, section, text_of
from tests.web.support import as_person


async def add_child(db, school, parent: str, child: str) -> None:
    async with db.as_service() as session:
        await Builder(session, uuid.uuid4().hex[:10]).guardian(
            school.org_id, school.people[parent], school.people[child]
        )


async def test_a_parent_sees_posted_grades_missing_and_upcoming_work(app, client, db, settings, make_school):
    school = await make_school()
    await school_day(client, db, school)
    async with await as_person(app, db, settings, school.people["p"]) as http:
        page = await http.get("/children")
    assert page.status_code == 200
    html, text = page.text, text_of(page.text)
    assert "<h1>s " in html  # the one child's own page, headed by their name
    # The course percentage as the API's gradebook shows the parent.
    book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["p"]))
    (child,) = book["students"]
    assert child["course_percentage"] is not None
    classes = text_of(section(html, "classes"))
    assert "AI class" in classes and percent(child["course_percentage"]) in classes
    # The posted grade; not the unposted one, nor anything of the assignment hidden from parents.
    grades = text_of(section(html, "grades"))
    assert "Graded essay" in grades and "8.5 / 10" in grades and "Well argued overall" in grades
    assert "Unposted test" not in text and "77 / 100" not in text and "Not posted yet" not in text
    assert "Hidden diary" not in text and "61" not in grades and "Private feedback" not in text
    missing = text_of(section(html, "missing"))
    assert "Missed quiz" in missing and "Marked missing" in missing and "Late lab" in missing
    assert "Still accepted late." in missing and "Sent late" not in missing  # turned in, late
    upcoming = text_of(section(html, "upcoming"))
    assert "Soon essay" in upcoming and "Done on time" in upcoming and "Turned in" in upcoming
    assert "Far project" not in upcoming  # 30 days away
    # The student sees the hidden assignment's grade; the parent's gradebook leaves it out.
    mine = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["s"]))
    assert mine["students"][0]["course_percentage"] != child["course_percentage"]


async def test_a_parent_of_several_children_sees_a_card_each(app, client, db, settings, make_school):
    school = await make_school()
    await school_day(client, db, school)
    await add_student(db, settings, school, "s3")
    await add_child(db, school, "p", "s3")
    async with await as_person(app, db, settings, school.people["p"]) as http:
        overview = await http.get("/children")
        one = await http.get(f"/children/{school.people['s3']}")
        first = await http.get(f"/children/{school.people['s']}")
    assert overview.status_code == 200 and "<h1>My children</h1>" in overview.text
    for who in ("s", "s3"):
        assert f'href="/children/{school.people[who]}"' in overview.text
    assert "3 missing" in text_of(overview.text)  # s: Missed quiz, Marked missing, Late lab
    # s3 joined the class today: none of the work is theirs, no grade is.
    assert one.status_code == 200 and "No grades posted yet." in one.text
    assert "Sent late" in section(one.text, "missing") and "Sent late" not in section(first.text, "missing")
    assert 'href="/children"' in one.text
    assert "Graded essay" in first.text and "Unposted test" not in first.text


async def test_a_parent_sees_no_other_familys_child(app, client, db, settings, make_school):
    school = await make_school()
    await school_day(client, db, school)
    elsewhere = await make_school()
    await add_person(db, settings, school, "p2", "parent")
    async with await as_person(app, db, settings, school.people["p"]) as http:
        for student_id in (school.people["s2"], elsewhere.people["s"], uuid.uuid4()):
            assert (await http.get(f"/children/{student_id}")).status_code == 404
    async with await as_person(app, db, settings, school.people["p2"]) as http:  # no children
        page = await http.get("/children")
        assert "No children are linked to your account" in page.text
        assert (await http.get(f"/children/{school.people['s']}")).status_code == 404
    async with await as_person(app, db, settings, school.people["s"]) as http:
        refused = await http.get("/children")
        assert refused.status_code == 403 and "This page is for parents" in refused.text
