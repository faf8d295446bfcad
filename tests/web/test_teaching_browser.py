"""The teacher's pages in Chromium: no axe-core violations on any of them (with errors shown
too) at desktop and phone widths, and a teacher creating an assignment with a two-criterion
rubric and publishing it, found by the labels a person reads."""

from urllib.parse import urlsplit

import pytest

from tests.grading.support import assignment, category, grade, ok, turn_in
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie

TZ = "Europe/Berlin"


async def teacher_context(chromium, live_server, db, settings, school, viewport="desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, school.people["t"])
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_teachers_pages_are_accessible(chromium, live_server, db, settings, client, make_school, viewport):
    school = await make_school(time_zone=TZ)
    cat = await category(client, school, "Homework", 40, drop_lowest=1)
    work = await assignment(client, school, cat["id"], title="Reading log", instructions="Read chapter 3.")
    turned_in = await turn_in(client, school, work["id"], body="I read it.\nIt was good.")
    await grade(client, school, turned_in["id"], points="90", state="final")
    rubric = {
        "title": "Log",
        "criteria": [{"title": "Detail", "max_points": "100", "levels": [{"title": "All", "points": "100"}]}],
    }
    ok(await client.put(f"/assignments/{work['id']}/rubric", json=rubric, headers=school.headers["t"]))
    context = await teacher_context(chromium, live_server, db, settings, school, viewport)
    page = await context.new_page()
    for path in (
        "/teach",
        f"/teach/classes/{school.class_id}",
        f"/teach/classes/{school.class_id}/assignments/new",
        f"/teach/assignments/{work['id']}",
        f"/teach/assignments/{work['id']}/edit",
    ):
        await page.goto(path)
        await check_accessible(page, f"{path} at {viewport}")
    # The rubric builder with rows, and the editor's errors.
    await page.get_by_role("button", name="Add a level to criterion 1").click()
    await page.get_by_role("button", name="Add a criterion").click()
    await check_accessible(page, f"the rubric builder at {viewport}")
    await page.get_by_label("Points possible").fill("")
    await page.get_by_role("button", name="Save changes").click()
    assert await page.get_by_role("alert").is_visible()
    await check_accessible(page, f"the editor's errors at {viewport}")
    # A category refused, and a refused move on the submissions page.
    await page.goto(f"/teach/classes/{school.class_id}")
    adding = page.get_by_role("group", name="Add a category")
    await adding.get_by_label("Name").fill("Tests")
    await adding.get_by_label("Weight (%)").fill("90")
    await page.get_by_role("button", name="Add category").click()
    assert "100" in await page.get_by_role("alert").inner_text()
    await check_accessible(page, f"a refused category at {viewport}")
    await page.goto(f"/teach/assignments/{work['id']}")
    ok(await client.post(f"/assignments/{work['id']}/close", headers=school.headers["t"]))  # meanwhile, elsewhere
    await page.get_by_role("button", name="Close", exact=True).click()
    assert "the assignment is closed" in await page.get_by_role("alert").inner_text()
    await check_accessible(page, f"a refused move at {viewport}")
    await context.close()


async def test_a_teacher_creates_an_assignment_with_a_rubric_and_publishes_it(
    chromium, live_server, db, settings, client, make_school
):
    school = await make_school(time_zone=TZ)
    await category(client, school, "Projects", 60)
    context = await teacher_context(chromium, live_server, db, settings, school)
    page = await context.new_page()
    await page.goto("/teach")
    await page.get_by_role("link", name="AI class", exact=True).click()
    await page.get_by_role("link", name="New assignment").click()
    await page.get_by_label("Title (required)").fill("Volcano model")
    await page.get_by_label("Type").select_option(label="Project")
    await page.get_by_label("Category").select_option(label="Projects")
    await page.get_by_label("Points possible").fill("30")
    await page.get_by_label("Due").fill("2030-05-04T09:00")
    await page.get_by_label("Allowed attempts").fill("2")

    await page.get_by_role("button", name="Add a criterion").click()
    first = page.get_by_role("group", name="Criterion 1", exact=True)
    assert await first.get_by_label("Criterion title").evaluate("field => field === document.activeElement")
    await first.get_by_label("Criterion title").fill("Science")
    await first.get_by_label("Maximum points").fill("20")
    await page.get_by_role("button", name="Add a criterion").click()
    second = page.get_by_role("group", name="Criterion 2", exact=True)
    await second.get_by_label("Criterion title").fill("Presentation")
    await second.get_by_label("Maximum points").fill("10")
    await page.get_by_role("button", name="Add a level to criterion 2").click()
    level = page.get_by_role("group", name="Criterion 2, level 1")
    await level.get_by_label("Level title").fill("Polished")
    await level.get_by_label("Level points").press_sequentially("10")
    await level.get_by_label("Level points").press("Enter")  # Enter saves, it never adds or removes a row

    await page.wait_for_url(lambda url: urlsplit(url).path.startswith("/teach/assignments/"))
    assert "saved as a draft" in await page.get_by_role("status").inner_text()
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_load_state()
    assert "is published" in await page.get_by_role("status").inner_text()
    assignment_id = urlsplit(page.url).path.removeprefix("/teach/assignments/")
    await context.close()

    stored = ok(await client.get(f"/assignments/{assignment_id}", headers=school.headers["t"]))
    assert (stored["title"], stored["type"], stored["state"]) == ("Volcano model", "project", "published")
    assert stored["due_at"] == "2030-05-04T07:00:00Z" and stored["allowed_attempts"] == 2
    rubric = ok(await client.get(f"/assignments/{assignment_id}/rubric", headers=school.headers["t"]))
    assert [(c["title"], c["max_points"]) for c in rubric["criteria"]] == [
        ("Science", "20.00"),
        ("Presentation", "10.00"),
    ]
    assert rubric["criteria"][1]["levels"] == [{"title": "Polished", "points": "10.00", "description": None}]
