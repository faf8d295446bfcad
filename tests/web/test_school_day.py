"""One school day in Chromium, through the pages only: the teacher creates an assignment with a
rubric and publishes it, a student turns work in, the teacher asks the AI for a suggestion,
edits and accepts it and posts the grades; the parent sees the posted grade and not a grade
that is not posted yet."""

import re
from urllib.parse import urlsplit

from tests.grading.support import grade, ready, turn_in
from tests.web.browser import PHONE, check_accessible
from tests.web.support import session_cookie


async def person_page(chromium, live_server, db, settings, user_id, viewport=None):
    context = await chromium.new_context(viewport=viewport or {"width": 1280, "height": 900}, base_url=live_server)
    cookie = await session_cookie(db, settings, user_id)
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context, await context.new_page()


def at(path: str):
    return lambda url: urlsplit(url).path == path


async def teacher_publishes_an_assignment_with_a_rubric(page) -> str:
    await page.goto("/teach")
    await page.get_by_role("link", name="AI class", exact=True).click()
    adding = page.get_by_role("group", name="Add a category")
    await adding.get_by_label("Name").fill("Lab work")
    await adding.get_by_label("Weight (%)").fill("50")
    await page.get_by_role("button", name="Add category").click()
    await page.get_by_role("link", name="New assignment").click()
    await page.get_by_label("Title (required)").fill("Plant growth lab")
    await page.get_by_label("Category").select_option(label="Lab work")
    await page.get_by_label("Points possible").fill("10")
    await page.get_by_label("Due").fill("2035-05-04T09:00")
    for number, (title, points) in enumerate((("Method", "6"), ("Conclusion", "4")), start=1):
        await page.get_by_role("button", name="Add a criterion").click()
        criterion = page.get_by_role("group", name=f"Criterion {number}", exact=True)
        await criterion.get_by_label("Criterion title").fill(title)
        await criterion.get_by_label("Maximum points").fill(points)
    await page.get_by_role("button", name="Create assignment").click()
    await page.get_by_role("button", name="Publish").click()
    assert "is published" in await page.get_by_role("status").inner_text()
    return urlsplit(page.url).path.split("/")[3]


async def student_turns_it_in(page) -> None:
    await page.goto("/todo")
    await page.get_by_role("link", name="Plant growth lab").click()
    # The local AI upstream reads its answer from the work: a score of 70% with 80% confidence.
    await page.get_by_label("Your work", exact=True).fill("Light helps plants grow. [[score:0.7]] [[confidence:0.8]]")
    await page.get_by_role("button", name="Turn in").click()
    assert await page.get_by_role("status").inner_text() == "Turned in (attempt 1)."


async def teacher_reviews_the_ai_suggestion_and_posts(page, assignment_id: str) -> None:
    await page.goto(f"/teach/assignments/{assignment_id}")
    await page.get_by_role("link", name=re.compile(r"^Grade s ")).click()
    await page.get_by_role("button", name="Ask AI for a suggestion").click()
    assert await page.get_by_role("heading", name="AI suggestion Not a grade yet: review it").is_visible()
    await page.get_by_role("link", name="Edit suggestion").click()
    await page.get_by_label("Points for Conclusion").fill("3")
    await page.get_by_role("button", name="Save as final grade").click()
    assert await page.get_by_role("status").inner_text() == "You edited the AI suggestion: it is your grade now."
    await page.goto(f"/teach/assignments/{assignment_id}")
    await page.get_by_role("button", name="Post grades").click()
    assert "posted" in (await page.get_by_role("status").inner_text()).lower()


async def test_a_school_day(chromium, live_server, client, db, settings, make_school):
    school = await make_school()
    teacher, teacher_page = await person_page(chromium, live_server, db, settings, school.people["t"])
    student, student_page = await person_page(chromium, live_server, db, settings, school.people["s"], PHONE)
    parent, parent_page = await person_page(chromium, live_server, db, settings, school.people["p"], PHONE)

    assignment_id = await teacher_publishes_an_assignment_with_a_rubric(teacher_page)
    await student_turns_it_in(student_page)
    await teacher_reviews_the_ai_suggestion_and_posts(teacher_page, assignment_id)

    # A second assignment, graded but not posted (set up through the API).
    quiz = await ready(client, school, title="Pop quiz", points_possible="5")
    quiz_work = await turn_in(client, school, quiz["id"], body="Answers")
    await grade(client, school, quiz_work["id"], points="4", state="final", feedback="Nearly all right")

    await parent_page.goto("/children")
    text = await parent_page.get_by_role("main").inner_text()
    # The AI suggested 70% of each criterion (4.2 of 6, 2.8 of 4); the teacher gave 3 for the conclusion.
    assert "Plant growth lab" in text and "7.2 / 10" in text
    assert "Pop quiz" not in text.split("Posted grades")[1] and "Nearly all right" not in text and "4 / 5" not in text
    await check_accessible(parent_page, "the parent's page after the school day")
    for context in (teacher, student, parent):
        await context.close()
