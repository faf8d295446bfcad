"""The student's and parent's pages in Chromium: no axe-core violations on any of them, as
the student and as the parent, at desktop and phone widths; and a student turning work in
through the browser."""

import uuid
from urllib.parse import urlsplit

import pytest

from tests.conftest import Builder, add_student
from tests.grading.support import ready
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.learning_support import school_day, soon
from tests.web.support import session_cookie


async def signed_in_context(chromium, live_server, db, settings, user_id, viewport="desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, user_id)
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_student_and_parent_pages_are_accessible(
    chromium, live_server, client, db, settings, make_school, viewport
):
    school = await make_school(time_zone="Europe/Berlin")
    day = await school_day(client, db, school)
    await add_student(db, settings, school, "s3")
    async with db.as_service() as session:  # p has two children: the overview and a child's page
        await Builder(session, uuid.uuid4().hex[:10]).guardian(school.org_id, school.people["p"], school.people["s3"])

    student = await signed_in_context(chromium, live_server, db, settings, school.people["s"], viewport)
    page = await student.new_page()
    for path in (
        "/todo",
        "/grades",
        f"/assignments/{day.ids['Graded essay']}/work",  # rubric, posted grade, attempts
        f"/assignments/{day.ids['Soon essay']}/work",  # the form
        f"/assignments/{day.ids['Missed quiz']}/work",  # refused: no late work
    ):
        await page.goto(path)
        await check_accessible(page, f"student {path} at {viewport}")
    await page.goto(f"/assignments/{day.ids['Soon essay']}/work")
    await page.get_by_label("Links", exact=True).fill("not a link")
    await page.get_by_role("button", name="Turn in").click()
    await page.wait_for_load_state()
    assert await page.locator("#error-links").is_visible()
    await check_accessible(page, f"student form errors at {viewport}")
    await student.close()

    parent = await signed_in_context(chromium, live_server, db, settings, school.people["p"], viewport)
    page = await parent.new_page()
    for path in ("/children", f"/children/{school.people['s']}", f"/children/{school.people['s3']}"):
        await page.goto(path)
        await check_accessible(page, f"parent {path} at {viewport}")
    await parent.close()


async def test_a_student_turns_work_in_through_the_browser(chromium, live_server, client, db, settings, make_school):
    school = await make_school()
    a = await ready(client, school, title="Field notes", due_at=soon(2), allowed_attempts=2)
    context = await signed_in_context(chromium, live_server, db, settings, school.people["s"], "phone")
    page = await context.new_page()
    await page.goto("/todo")
    await page.get_by_role("link", name="Field notes").click()
    await page.wait_for_url(lambda url: urlsplit(url).path == f"/assignments/{a['id']}/work")
    await page.get_by_label("Your work", exact=True).fill("Saw three herons by the river.")
    await page.get_by_label("Links", exact=True).fill("https://example.org/photos")
    await page.get_by_role("button", name="Turn in").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("status").inner_text() == "Turned in (attempt 1)."
    assert await page.get_by_role("heading", name="Turn in again").is_visible()
    attempt = page.locator(".attempts li").first
    assert "Saw three herons by the river." in await attempt.inner_text()
    assert await attempt.get_by_role("link", name="https://example.org/photos").is_visible()
    await page.goto("/todo")
    assert "Field notes" not in await page.locator("main").inner_text()  # turned in: nothing left to do
    await context.close()
