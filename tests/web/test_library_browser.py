"""The resource portal in Chromium: no axe-core violations on any of its pages, as a teacher, a
student and an org admin, at desktop and phone widths; and the issue's flow: a teacher
generates a worksheet, the admin approves it in the queue, a student finds it by search and
reviews it."""

from urllib.parse import urlsplit

import pytest

from tests.resources.conftest import Portal
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.test_learning_browser import signed_in_context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_every_library_page_is_accessible(chromium, live_server, client, db, settings, make_school, viewport):
    school = await make_school()
    portal = Portal(client, school)
    science = await portal.category("Science")
    await portal.category("Biology", science["id"])
    shown = await portal.approved(
        title="Leaf worksheet", description="Leaves and light.", category_id=science["id"], subject="Biology"
    )
    await portal.ok("POST", f"/resources/{shown['id']}/reviews", "s", 201, json={"rating": 4, "comment": "Good"})
    waiting = await portal.resource(state="pending_review", title="Waiting one")
    rejected = await portal.resource(state="pending_review", title="Rejected one")
    await portal.ok("POST", f"/resources/{rejected['id']}/reject", "oa", json={"note": "Needs answers"})
    await portal.resource(title="My draft")

    pages = {
        "t": [
            "/library",
            "/library?q=leaf&type=worksheet",
            "/library?q=nothingmatches",
            "/library?min_rating=9",
            f"/library/resources/{shown['id']}",
            f"/library/resources/{waiting['id']}",
            f"/library/resources/{rejected['id']}/edit",
            "/library/new",
            "/library/upload",
            "/library/generate",
            "/library/mine",
        ],
        "s": ["/library", "/library?q=leaves", f"/library/resources/{shown['id']}"],
        "oa": [
            "/library",
            "/library/review",
            f"/library/resources/{waiting['id']}",
            f"/library/resources/{shown['id']}/edit",
        ],
    }
    for who, paths in pages.items():
        context = await signed_in_context(chromium, live_server, db, settings, school.people[who], viewport)
        page = await context.new_page()
        for path in paths:
            await page.goto(path)
            await check_accessible(page, f"{who} {path} at {viewport}")
        await context.close()
    # A form shown again with its errors.
    context = await signed_in_context(chromium, live_server, db, settings, school.people["t"], viewport)
    page = await context.new_page()
    await page.goto("/library/new")
    await page.get_by_label("Title").fill("Nothing in it")  # neither a link nor a text
    await page.get_by_role("button", name="Send for approval").click()
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").is_visible()
    await check_accessible(page, f"teacher form errors at {viewport}")
    await context.close()


async def test_generate_approve_find_and_review(chromium, live_server, client, db, settings, make_school):
    school = await make_school()
    teacher = await signed_in_context(chromium, live_server, db, settings, school.people["t"])
    page = await teacher.new_page()
    await page.goto("/library")
    await page.get_by_role("link", name="Generate with AI").click()
    await page.get_by_label("Kind").select_option("worksheet")
    await page.get_by_label("Topic").fill("Volcanoes")
    await page.get_by_label("Grade").fill("6")
    await page.get_by_label("Number of items").fill("5")
    await page.get_by_label("Subject").fill("Geology")
    await page.get_by_role("button", name="Generate").click()
    await page.wait_for_url(lambda url: urlsplit(url).path.startswith("/library/resources/"))
    assert "waiting for approval" in await page.get_by_role("status").inner_text()
    assert await page.get_by_role("heading", name="Worksheet: Volcanoes").is_visible()
    await teacher.close()

    student = await signed_in_context(chromium, live_server, db, settings, school.people["s"], "phone")
    page = await student.new_page()
    await page.goto("/library?q=volcanoes")
    assert "No resources match this search" in await page.locator("main").inner_text()  # not approved yet

    admin = await signed_in_context(chromium, live_server, db, settings, school.people["oa"])
    queue = await admin.new_page()
    await queue.goto("/library")
    await queue.get_by_role("link", name="Approval queue").click()
    item = queue.locator("section.queue-item", has_text="Worksheet: Volcanoes")
    await item.get_by_label("Note to the author").fill("Checked the answer key.")
    await item.get_by_role("button", name="Approve").click()
    await queue.wait_for_load_state()
    assert "Approved: Worksheet: Volcanoes." in await queue.get_by_role("status").inner_text()
    await admin.close()

    await page.goto("/library")
    await page.get_by_label("Words to find").fill("volcano")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url(lambda url: "q=volcano" in url)
    assert await page.locator(".results mark").first.inner_text() == "Volcanoes"
    await page.get_by_role("link", name="Worksheet: Volcanoes").click()
    await page.get_by_label("Rating").select_option("5")
    await page.get_by_label("Comment (optional)").fill("Clear and fun.")
    await page.get_by_role("button", name="Post my review").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("status").inner_text() == "Your review is saved."
    assert "Rated 5.0 of 5 by 1 person." in await page.locator("#reviews").inner_text()
    await check_accessible(page, "student after reviewing")
    await student.close()
