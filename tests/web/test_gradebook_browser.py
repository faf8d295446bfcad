"""The gradebook in Chromium: no axe-core violations at desktop and phone widths (with status
marks, read-only cells and an error beside a cell), and grades entered with the keyboard only:
Tab to a cell, type the points, Enter moves down and the grade is saved where the API sees it,
with the course percentage updated on the page."""

import pytest

from schoolbase.web.cookies import SESSION_COOKIE
from tests.conftest import add_student
from tests.grading.support import assignment, category, ok, turn_in
from tests.grading.test_gradebook import build_class, by_student
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie


async def teacher_context(chromium, live_server, db, settings, school, viewport: str = "desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, school.people["t"])
    await context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])
    return context


async def status_says(page, text: str) -> None:
    await page.wait_for_function(
        "text => document.getElementById('gradebook-status').textContent.includes(text)", arg=text
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_gradebook_is_accessible(chromium, live_server, client, db, settings, make_school, viewport):
    school, _ = await build_class(client, db, settings, make_school)
    context = await teacher_context(chromium, live_server, db, settings, school, viewport)
    page = await context.new_page()
    await page.goto(f"/teach/classes/{school.class_id}/gradebook")
    assert await page.get_by_role("heading", name="Gradebook: AI class").is_visible()
    await check_accessible(page, f"the gradebook at {viewport}")
    # An error beside a cell (from the page's script) is accessible too.
    cell = page.locator("#c2_2")
    await cell.fill("ten")
    await cell.press("Enter")
    await status_says(page, "Enter points from 0")
    assert await cell.get_attribute("aria-invalid") == "true"
    assert (await cell.get_attribute("aria-describedby")).split() == ["e2_2", "m2_2"]
    assert (await page.locator("#e2_2").inner_text()).startswith("Enter points from 0")
    await check_accessible(page, f"the gradebook with an error at {viewport}")
    # The grid scrolls sideways inside its region at a phone's width, not the page.
    if viewport == "phone":
        wrap = page.locator(".gradebook-wrap")
        assert await wrap.evaluate("el => el.scrollWidth > el.clientWidth")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await context.close()


async def test_grades_are_entered_with_the_keyboard(chromium, live_server, client, db, settings, make_school):
    school = await make_school()
    await add_student(db, settings, school, "s2b")
    cat = await category(client, school, "All", 100)
    quiz = await assignment(client, school, cat["id"], title="Quiz 1", points_possible="10")
    for who in ("s", "s2b"):
        await turn_in(client, school, quiz["id"], who=who)
    context = await teacher_context(chromium, live_server, db, settings, school)
    page = await context.new_page()
    await page.goto(f"/teach/classes/{school.class_id}/gradebook")
    # Keyboard only: Tab from the top of the page to the first cell.
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "c0_0":
            break
    else:
        pytest.fail("Tab never reached the first cell")
    await page.keyboard.type("8")
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "c1_0"  # Enter moved down
    await status_says(page, "Saved 8 for")
    assert (await page.locator("#course0").inner_text()).split() == ["80.0%", "B"]
    row = by_student(ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["t"])))
    [saved] = row[str(school.people["s"])]["cells"]
    assert (saved["points"], saved["grade_state"], row[str(school.people["s"])]["course_percentage"]) == (
        "8.00",
        "final",
        "80.00",
    )
    # Escape undoes a change before it is saved; arrow keys move back up.
    await page.keyboard.type("3")
    await page.keyboard.press("Escape")
    assert await page.locator("#c1_0").input_value() == ""
    await status_says(page, "Undone")
    await page.keyboard.press("ArrowUp")
    assert await page.evaluate("document.activeElement.id") == "c0_0"
    await page.keyboard.type("9.5")
    await page.keyboard.press("ArrowDown")
    await status_says(page, "Saved 9.5 for")
    assert (await page.locator("#course0").inner_text()).split() == ["95.0%", "A"]
    await context.close()
