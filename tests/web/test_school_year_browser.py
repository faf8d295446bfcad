"""The School year pages and the gradebook per grading period in Chromium: no axe-core
violations at desktop and phone widths, with a period closed and reopened by its forms,
an override set from the gradebook, and refused forms showing their errors."""

import pytest

from tests.academics.support import school_year
from tests.academics.test_closing import IN_Q1
from tests.grading.support import grade, ready, turn_in
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.test_admin_browser import signed_in_context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_school_year_and_period_gradebook_are_accessible(
    chromium, live_server, client, db, settings, make_school, viewport
):
    school = await make_school()
    y = await school_year(client, school)
    a = await ready(client, school, points_possible="10", due_at=IN_Q1, title="Early essay")
    await grade(client, school, (await turn_in(client, school, a["id"]))["id"], points="7", state="final")

    oa = school.headers["oa"]
    course = (
        await client.post(f"/organizations/{school.org_id}/courses", json={"title": "Algebra"}, headers=oa)
    ).json()
    context = await signed_in_context(chromium, live_server, db, settings, school.people["oa"], viewport)
    page = await context.new_page()
    await page.goto(f"/admin/school-year/courses/{course['id']}")
    await page.get_by_label("Title").fill("")
    await page.get_by_role("button", name="Save").click()
    await check_accessible(page, f"course edit errors at {viewport}")
    period = f"/admin/school-year/sessions/{y.q1['id']}"
    await page.goto("/admin/school-year")
    await check_accessible(page, f"school year at {viewport}")
    await page.get_by_role("button", name="Add course").click()
    await check_accessible(page, f"course form errors at {viewport}")
    await page.goto(period)
    await check_accessible(page, f"open period at {viewport}")
    await page.get_by_label("Note").fill("End of quarter")
    await page.get_by_role("button", name="Close grading period").click()
    await page.wait_for_url(f"**{period}")
    await check_accessible(page, f"closed period at {viewport}")
    await page.get_by_role("button", name="Reopen grading period").click()
    await check_accessible(page, f"reopen without a reason at {viewport}")
    await context.close()

    context = await signed_in_context(chromium, live_server, db, settings, school.people["t"], viewport)
    page = await context.new_page()
    await page.goto(f"/teach/classes/{school.class_id}/gradebook")
    await page.get_by_label("Grading period").select_option(label="Q1 (2030-09-01 to 2030-10-31), closed")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**gradebook?period=*")
    await check_accessible(page, f"period gradebook at {viewport}")
    await page.locator("input[name=percent]").first.fill("91")
    await page.locator("input[name=reason]").first.fill("Project redone")
    await page.get_by_role("button", name="Save period grade", exact=False).first.click()
    await page.wait_for_url("**gradebook?period=*")
    await check_accessible(page, f"period gradebook with an override at {viewport}")
    await context.close()
