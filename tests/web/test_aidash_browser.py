"""The AI pages in Chromium: no axe-core violations on the AI settings page (with and without
errors) and on the usage dashboard as org admin, teacher and student, at desktop and phone
widths; and the issue's flow: the admin lowers the AI budget below what was spent, and the
teacher's next AI call (a grading suggestion) is refused with the reason on the page."""

from urllib.parse import urlsplit

import pytest

from tests.ai.support import message
from tests.grading.ai_support import make_work
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie


async def context_of(chromium, live_server, db, settings, user_id, viewport: str = "desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, user_id)
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context


async def some_calls(client, school) -> None:
    for who, text, extra in [
        ("s", "s asks [[tokens:100000,20000]]", {}),
        ("s", "s fails [[status:500]]", {}),
        ("t", "t grades [[tokens:40000,4000]]", {"feature": "grading_assistance"}),
        ("p", "p asks", {}),
    ]:
        await client.post("/ai/messages", json=message(text, **extra), headers=school.headers[who])


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_ai_pages_are_accessible(chromium, live_server, client, db, settings, make_school, viewport):
    school = await make_school()
    empty = await make_school()
    await some_calls(client, school)
    admin = await context_of(chromium, live_server, db, settings, school.people["oa"], viewport)
    page = await admin.new_page()
    await page.goto("/admin/ai")
    await check_accessible(page, f"the AI settings at {viewport}")
    await page.get_by_label("Monthly budget (US dollars)").fill("-5")
    await page.get_by_label("Requests per hour").fill("")
    await page.get_by_role("button", name="Save AI settings").click()
    await page.get_by_role("alert").first.wait_for()
    assert await page.get_by_text("Enter a whole number.").first.is_visible()
    await check_accessible(page, f"the AI settings with errors at {viewport}")
    await page.goto("/ai-dashboard")
    assert await page.get_by_role("heading", name="Monthly budget").is_visible()
    await check_accessible(page, f"the AI dashboard as org admin at {viewport}")
    await page.goto("/ai-dashboard?tolerance=x")
    await check_accessible(page, f"the AI dashboard with a wrong tolerance at {viewport}")
    await admin.close()
    for who, org in (("t", school), ("s", school), ("oa", empty)):
        context = await context_of(chromium, live_server, db, settings, org.people[who], viewport)
        page = await context.new_page()
        await page.goto("/")
        await page.get_by_role("link", name="AI usage").click()
        await page.wait_for_url(lambda u: urlsplit(u).path == "/ai-dashboard")
        await check_accessible(page, f"the AI dashboard as {who} at {viewport}")
        await context.close()


async def test_a_lowered_budget_refuses_the_teachers_next_ai_call(
    chromium, live_server, client, db, settings, make_school
):
    school = await make_school()
    await some_calls(client, school)  # about $0.42 spent
    work = await make_work(db, school)
    admin = await context_of(chromium, live_server, db, settings, school.people["oa"])
    page = await admin.new_page()
    await page.goto("/admin/ai")
    await page.get_by_label("Monthly budget (US dollars)").fill("0.10")
    await page.get_by_role("button", name="Save AI settings").click()
    await page.wait_for_url(lambda u: urlsplit(u).path == "/admin/ai")
    assert "AI settings saved" in await page.get_by_role("status").inner_text()
    await page.goto("/ai-dashboard")
    assert "The budget is spent" in await page.locator("#budget-text").inner_text()

    teacher = await context_of(chromium, live_server, db, settings, school.people["t"])
    marking = await teacher.new_page()
    url = f"/teach/submissions/{work.submissions['s']}"
    await marking.goto(url)
    await marking.get_by_role("button", name="Ask AI for a suggestion").click()
    refusal = marking.get_by_role("alert")
    await refusal.wait_for()
    assert "AI budget exhausted" in await refusal.inner_text()
    assert not await marking.get_by_role("heading", name="AI suggestion Not a grade yet: review it").count()
    await check_accessible(marking, "the refused AI suggestion")

    await page.reload()  # the refusal is on the dashboard, by its reason
    denied = page.locator("#denied tr[data-key=over_budget]")
    assert await denied.locator("td").inner_text() == "1"
    assert "Monthly budget spent" in await denied.inner_text()
    await admin.close()
    await teacher.close()
