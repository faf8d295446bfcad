"""The marking pages in Chromium: no axe-core violations on the grading page (by points and by
rubric, with errors, with an AI suggestion, editing it) and the bulk AI grading pages, at
desktop and phone widths; the bulk run's progress updates live until it has finished."""

from urllib.parse import urlsplit

import pytest

from tests.grading.ai_support import make_work
from tests.grading.support import ok, ready, turn_in
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie

RUBRIC = {
    "title": "Lab report rubric",
    "criteria": [
        {
            "title": "Hypothesis",
            "description": "States what the experiment tests and predicts an outcome.",
            "max_points": "4",
            "levels": [
                {"title": "Clear", "points": "4", "description": "Testable and tied to the question."},
                {"title": "Vague", "points": "2", "description": "Present but not testable."},
                {"title": "Missing", "points": "0"},
            ],
        },
        {"title": "Data", "description": "Tables and units.", "max_points": "6"},
    ],
}


async def teacher_context(chromium, live_server, db, settings, school, viewport: str):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, school.people["t"])
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context


async def rubric_work(client, school) -> str:
    """A published lab report with a rubric (levels with descriptions, and a criterion without
    levels), turned in by ``s``: the submission's id."""
    assignment = await ready(client, school, title="Lab report", points_possible="10", instructions="Write it up.")
    ok(await client.put(f"/assignments/{assignment['id']}/rubric", json=RUBRIC, headers=school.headers["t"]))
    body = "Hypothesis: plants grow faster in light.\nData: 3 cm vs 1 cm. [[score:0.5]] [[confidence:0.64]]"
    return (await turn_in(client, school, assignment["id"], body=body))["id"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_marking_pages_are_accessible(chromium, live_server, client, db, settings, make_school, viewport):
    school = await make_school()
    by_rubric = await rubric_work(client, school)
    by_points = await turn_in(client, school, (await ready(client, school, title="Quiz"))["id"], body="42")
    context = await teacher_context(chromium, live_server, db, settings, school, viewport)
    page = await context.new_page()

    await page.goto(f"/teach/submissions/{by_points['id']}")
    await check_accessible(page, f"grading by points at {viewport}")
    await page.get_by_label("Points (out of 100)").fill("-3")
    await page.get_by_role("button", name="Save final grade").click()
    await page.get_by_role("alert").first.wait_for()
    await check_accessible(page, f"grading errors at {viewport}")

    url = f"/teach/submissions/{by_rubric}"
    await page.goto(url)
    await check_accessible(page, f"grading by rubric at {viewport}")
    await page.get_by_label("Clear · 4 points").check()
    await page.get_by_label("Points for Data").fill("9")
    await page.get_by_role("button", name="Save as draft").click()
    assert await page.get_by_text("Data: at most 6 points.").first.is_visible()
    await check_accessible(page, f"rubric errors at {viewport}")

    await page.goto(url)
    await page.get_by_role("button", name="Ask AI for a suggestion").click()
    await page.wait_for_url(lambda u: urlsplit(u).path == url)
    assert await page.get_by_role("heading", name="AI suggestion Not a grade yet: review it").is_visible()
    assert await page.get_by_text("64.0%").is_visible()
    await check_accessible(page, f"the AI suggestion at {viewport}")
    await page.get_by_role("link", name="Edit suggestion").click()
    await page.wait_for_url(lambda u: urlsplit(u).path == f"{url}/suggestion/edit")
    await check_accessible(page, f"editing the AI suggestion at {viewport}")
    await page.get_by_label("Vague · 2 points").check()
    await page.get_by_role("button", name="Save as final grade").click()
    await page.wait_for_url(lambda u: urlsplit(u).path == url)
    assert await page.get_by_role("status").inner_text() == "You edited the AI suggestion: it is your grade now."
    await check_accessible(page, f"a graded submission with history at {viewport}")
    await context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_bulk_progress_updates_live_until_finished(
    chromium, live_server, db, settings, make_school, gate, viewport
):
    school = await make_school()
    work = await make_work(db, school, {"s": f"an essay {gate.tag}"})
    context = await teacher_context(chromium, live_server, db, settings, school, viewport)
    page = await context.new_page()
    await page.goto(f"/teach/assignments/{work.assignment_id}/ai-grading")
    assert await page.get_by_text("1 submission is waiting for a grade.").is_visible()
    await check_accessible(page, f"starting bulk AI grading at {viewport}")
    await page.get_by_role("button", name="Start AI grading").click()
    await page.wait_for_url(lambda u: urlsplit(u).path.startswith("/teach/ai-grading-jobs/"))
    await gate.wait_held(1)
    summary = page.locator("[aria-live=polite]")
    outcome = page.locator(f'[data-item="{work.submissions["s"]}"] [data-outcome]')
    await page.wait_for_function("o => o.textContent === 'Being graded'", arg=await outcome.element_handle())
    assert "0 of 1" in await summary.inner_text()
    assert await page.get_by_role("link", name="Refresh").is_visible()
    await check_accessible(page, f"bulk progress while running at {viewport}")
    await page.evaluate("window.stillThisPage = true")  # no reload: the script updates the page

    gate.release()
    await page.wait_for_function(
        "document.querySelector('[aria-live=polite]').textContent.startsWith('Finished')", timeout=20000
    )
    assert await page.evaluate("window.stillThisPage") is True
    assert await page.locator("progress").evaluate("bar => [bar.value, bar.max]") == [1, 1]
    assert await page.locator('[data-count="done"]').inner_text() == "1"
    assert await outcome.inner_text() == "Suggested"
    assert not await page.get_by_role("link", name="Refresh").is_visible()
    review = page.get_by_role("link", name="Review the suggestions in the submissions")
    assert await review.is_visible()
    assert await review.get_attribute("href") == f"/teach/assignments/{work.assignment_id}"
    await check_accessible(page, f"bulk progress finished at {viewport}")
    await page.reload()
    await check_accessible(page, f"a finished run at {viewport}")
    await context.close()
