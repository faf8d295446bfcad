"""The meetings pages in Chromium: no axe-core violations on any of them as a teacher, a
student and an org admin at desktop and phone widths; and a teacher scheduling a session
over one already in the room, told which session is in the way and when."""

import pytest

from tests.meetings.support import at, invite, make_room, make_session
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie

TZ = "Europe/Berlin"  # UTC+1 in January


async def context_of(chromium, live_server, db, settings, school, who: str, viewport: str = "desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, school.people[who])
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_meetings_pages_are_accessible(chromium, live_server, db, settings, client, make_school, viewport):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school, name="Studio", capacity=20)
    meeting = await make_session(
        client,
        school,
        room["id"],
        at("09:00"),
        at("10:00"),
        title="Science fair planning",
        class_id=str(school.class_id),
    )
    await invite(client, school, meeting["id"], "s")
    item = {"title": "Bring posters", "assignee_id": str(school.people["s"]), "due_date": "2030-01-09"}
    assert (
        await client.post(f"/meeting-sessions/{meeting['id']}/action-items", json=item, headers=school.headers["t"])
    ).status_code == 201
    week = "?week=2030-01-07"
    pages = {
        "t": [
            f"/meetings{week}",
            "/meetings",
            "/meetings/rooms",
            f"/meetings/rooms/{room['id']}{week}",
            f"/meetings/rooms/{room['id']}/new",
            f"/meetings/sessions/{meeting['id']}",
            f"/meetings/classes/{school.class_id}/attendance",
        ],
        "s": [
            f"/meetings{week}",
            "/meetings/rooms",
            f"/meetings/rooms/{room['id']}{week}",
            f"/meetings/sessions/{meeting['id']}",
        ],
        "oa": [
            f"/meetings{week}",
            "/meetings/rooms",
            f"/meetings/rooms/{room['id']}{week}",
            f"/meetings/sessions/{meeting['id']}",
        ],
    }
    for who, paths in pages.items():
        context = await context_of(chromium, live_server, db, settings, school, who, viewport)
        page = await context.new_page()
        for path in paths:
            response = await page.goto(path)
            assert response.status == 200, path
            await check_accessible(page, f"{path} as {who} at {viewport}")
        await context.close()
    # An error shown: a room refused.
    context = await context_of(chromium, live_server, db, settings, school, "t", viewport)
    page = await context.new_page()
    await page.goto("/meetings/rooms")
    await page.get_by_label("Capacity").fill("100001")
    await page.get_by_label("Name (required)").fill("Tiny")
    await page.get_by_role("button", name="Add room").click()
    assert await page.get_by_role("alert").is_visible()
    await check_accessible(page, f"a refused room at {viewport}")
    await context.close()


async def test_a_teacher_is_told_which_session_is_in_the_way(chromium, live_server, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school, name="Music room")
    # 09:00–10:00 UTC is 10:00–11:00 in Berlin.
    # An org admin's session for the teacher's class: the teacher may see it, so it is named.
    class_id = str(school.class_id)
    await make_session(
        client, school, room["id"], at("09:00"), at("10:00"), who="oa", title="Choir rehearsal", class_id=class_id
    )
    context = await context_of(chromium, live_server, db, settings, school, "t")
    page = await context.new_page()
    await page.goto("/meetings")
    await page.get_by_role("link", name="Rooms").click()
    await page.get_by_role("link", name="Music room").click()
    await page.get_by_role("link", name="Schedule a session here").click()
    await page.get_by_label("Title (required)").fill("Band practice")
    await page.get_by_label("Starts (required)").fill("2030-01-07T10:30")
    await page.get_by_label("Ends (required)").fill("2030-01-07T11:30")
    await page.get_by_role("button", name="Schedule").click()
    await page.wait_for_load_state()

    alert = page.get_by_role("alert")
    said = await alert.inner_text()
    assert "Music room is already booked then" in said
    assert "“Choir rehearsal”" in said and "from Mon 7 Jan 2030, 10:00 to Mon 7 Jan 2030, 11:00" in said
    assert await page.get_by_label("Title (required)").input_value() == "Band practice"
    assert await page.get_by_label("Starts (required)").input_value() == "2030-01-07T10:30"
    await check_accessible(page, "the overlap message")

    # Moved after the rehearsal, it is scheduled.
    await page.get_by_label("Starts (required)").fill("2030-01-07T11:00")
    await page.get_by_label("Ends (required)").fill("2030-01-07T12:00")
    await page.get_by_role("button", name="Schedule").click()
    await page.wait_for_load_state()
    assert "is scheduled" in await page.get_by_role("status").inner_text()
    assert await page.get_by_role("heading", name="Band practice", level=1).is_visible()
    await context.close()
