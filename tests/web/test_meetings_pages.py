"""The meetings pages over HTTP: my week in the organization's time zone, rooms, scheduling
(and the session in the way named), join and leave, attendance, action items; and what other
organizations and people who may not get instead (403/404)."""

import re
import uuid

from tests.meetings.support import at, invite, make_room, make_session, set_presence
from tests.web.support import as_person, submit

TZ = "America/Chicago"  # UTC-6 in January


async def person(app, db, settings, school, who: str):
    return await as_person(app, db, settings, school.people[who])


def days(html: str) -> dict[str, str]:
    """Each day of the calendar (its heading, e.g. "Mon 7 Jan") → its part of the page."""
    found = {}
    for chunk in html.split('<li class="day')[1:]:
        heading = re.search(r"<h3>([^<]*)", chunk).group(1).strip()
        found[heading] = chunk.split("</ul>")[0] if "</ul>" in chunk else chunk
    return found


async def test_my_week_shows_my_sessions_on_their_days_in_the_organizations_zone(
    app, db, settings, client, make_school
):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school, name="Library")
    # Tue 8 Jan 03:00 UTC is Mon 7 Jan 21:00 in Chicago; Mon 14 Jan 05:30 UTC is Sun 13 Jan 23:30.
    monday = await make_session(
        client, school, room["id"], at("03:00", "2030-01-08"), at("04:00", "2030-01-08"), title="Evening review"
    )
    await invite(client, school, monday["id"], "s")
    await make_session(
        client, school, room["id"], at("05:30", "2030-01-14"), at("05:45", "2030-01-14"), title="Late call"
    )
    # Mon 7 Jan 05:00 UTC is Sun 6 Jan 23:00 in Chicago: the week before.
    await make_session(client, school, room["id"], at("05:00"), at("05:30"), title="Sunday night")

    async with await person(app, db, settings, school, "t") as http:
        page = await http.get("/meetings?week=2030-01-09")
    assert page.status_code == 200
    shown = days(page.text)
    assert list(shown) == [
        "Mon 7 Jan",
        "Tue 8 Jan",
        "Wed 9 Jan",
        "Thu 10 Jan",
        "Fri 11 Jan",
        "Sat 12 Jan",
        "Sun 13 Jan",
    ]
    assert "Evening review" in shown["Mon 7 Jan"] and "21:00–22:00" in shown["Mon 7 Jan"]
    assert "Late call" in shown["Sun 13 Jan"] and "23:30–23:45" in shown["Sun 13 Jan"]
    assert "Sunday night" not in page.text
    assert 'href="/meetings?week=2029-12-31"' in page.text and 'href="/meetings?week=2030-01-14"' in page.text
    assert 'href="/meetings"' in page.text  # in the navigation

    async with await person(app, db, settings, school, "t") as http:
        before = await http.get("/meetings?week=2030-01-06")
    assert "Sunday night" in days(before.text)["Sun 6 Jan"]

    async with await person(app, db, settings, school, "s") as http:
        mine = await http.get("/meetings?week=2030-01-07")
    assert "Evening review" in days(mine.text)["Mon 7 Jan"] and "Late call" not in mine.text

    async with await person(app, db, settings, school, "t") as http:
        today = await http.get("/meetings")
        nonsense = await http.get("/meetings?week=not-a-date")
    assert today.text.count('aria-current="date"') == 1 and nonsense.status_code == 200


async def test_rooms_are_created_changed_and_deleted_by_org_admins(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    async with await person(app, db, settings, school, "oa") as http:
        made = await submit(
            http, "/meetings/rooms", "/meetings/rooms", {"name": "Hall", "capacity": "30", "active": "on"}
        )
        assert made.status_code == 303
        room_url = made.headers["location"]
        room = await http.get(room_url)
        assert "<h1>Hall</h1>" in room.text and "Holds 30 people" in room.text
        bad = await submit(http, room_url, room_url, {"name": "", "capacity": "-1"})
        assert bad.status_code == 422 and 'id="error-capacity"' in bad.text
        renamed = await submit(http, room_url, room_url, {"name": "Great hall", "capacity": "", "active": "on"})
        assert renamed.status_code == 303
        listed = await http.get("/meetings/rooms")
        assert "Great hall" in listed.text and "No limit on people" in listed.text
    async with await person(app, db, settings, school, "s") as http:
        seen = await http.get(room_url)
        assert seen.status_code == 200 and "Change this room" not in seen.text
        listed = await http.get("/meetings/rooms")
        assert "Great hall" in listed.text and "Add a room" not in listed.text
        refused = await http.post(
            f"{room_url}/delete",
            data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', seen.text).group(1)},
        )
        assert refused.status_code in (403, 404)
    async with await person(app, db, settings, school, "oa") as http:
        gone = await submit(http, room_url, f"{room_url}/delete", {})
        assert gone.status_code == 303 and (await http.get(room_url)).status_code == 404


async def test_scheduling_names_the_session_in_the_way(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school, name="Studio")
    # 16:00–17:00 UTC is 10:00–11:00 in Chicago.
    await make_session(client, school, room["id"], at("16:00"), at("17:00"), title="Algebra review")
    new = f"/meetings/rooms/{room['id']}/new"
    form = {"title": "Parents evening", "starts_at": "2030-01-07T10:30", "ends_at": "2030-01-07T11:30", "class_id": ""}
    async with await person(app, db, settings, school, "t") as http:
        taken = await submit(http, new, new, form)
        assert taken.status_code == 409
        assert "Studio is already booked then" in taken.text
        assert "“Algebra review”" in taken.text
        assert "Mon 7 Jan 2030, 10:00" in taken.text and "Mon 7 Jan 2030, 11:00" in taken.text
        assert 'value="Parents evening"' in taken.text and 'value="2030-01-07T10:30"' in taken.text

        wrong = await submit(http, new, new, {**form, "ends_at": "2030-01-07T09:00"})
        assert wrong.status_code == 422 and 'id="error-ends_at"' in wrong.text

        form |= {
            "starts_at": "2030-01-07T11:00",
            "ends_at": "2030-01-07T12:00",
            "class_id": str(school.class_id),
            "invite_class": "on",
        }
        made = await submit(http, new, new, form)
        assert made.status_code == 303
        shown = await http.get(made.headers["location"])
    assert "Parents evening" in shown.text and "Mon 7 Jan 2030, 11:00 to Mon 7 Jan 2030, 12:00" in shown.text
    session_id = made.headers["location"].rsplit("/", 1)[1]
    stored = (await client.get(f"/meeting-sessions/{session_id}", headers=school.headers["t"])).json()
    assert stored["starts_at"].startswith("2030-01-07T17:00:00") and stored["class_id"] == str(school.class_id)
    people = (await client.get(f"/meeting-sessions/{session_id}/participants", headers=school.headers["t"])).json()
    assert [p["user_id"] for p in people["items"]] == [str(school.people["s"])]  # the class's student


async def test_a_student_cannot_schedule(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school)
    new = f"/meetings/rooms/{room['id']}/new"
    async with await person(app, db, settings, school, "s") as http:
        assert (await http.get(new)).status_code == 403
        rooms = await http.get("/meetings/rooms")
        token = re.search(r'name="csrf_token" value="([^"]+)"', rooms.text).group(1)
        form = {"csrf_token": token, "title": "Mine", "starts_at": "2030-01-07T10:00", "ends_at": "2030-01-07T11:00"}
        refused = await http.post(new, data=form)
    assert refused.status_code == 403 and 'value="Mine"' in refused.text
    listed = await client.get(f"/meeting-rooms/{room['id']}/sessions", headers=school.headers["oa"])
    assert listed.json()["items"] == []


async def test_join_leave_attendance_and_action_items(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    room = await make_room(client, school)
    meeting = await make_session(
        client, school, room["id"], at("16:00"), at("17:00"), title="Project check-in", class_id=str(school.class_id)
    )
    await invite(client, school, meeting["id"], "s")
    url = f"/meetings/sessions/{meeting['id']}"
    async with await person(app, db, settings, school, "s") as http:
        joined = await submit(http, url, f"{url}/join", {})
        assert joined.status_code == 303
        page = await http.get(url)
        assert "You are in this session" in page.text and "Leave the session" in page.text
        left = await submit(http, url, f"{url}/leave", {})
        assert left.status_code == 303
        page = await http.get(url)
        assert "You joined at" in page.text and "Join the session" in page.text
    await set_presence(db, meeting["id"], school.people["s"], at("16:10"), at("16:40"))

    async with await person(app, db, settings, school, "t") as http:
        page = await http.get(url)
        student_name = re.search(r'<th scope="row" data-label="Person">([^<]+)</th>', page.text).group(1)
        assert student_name.startswith("s ") and "Mon 7 Jan 2030, 10:10" in page.text and ">30<" in page.text
        added = await submit(
            http,
            url,
            f"{url}/action-items",
            {"title": "Draft outline", "assignee_id": str(school.people["s"]), "due_date": "2030-01-10"},
        )
        assert added.status_code == 303
        nobody = await submit(http, url, f"{url}/action-items", {"title": "", "assignee_id": ""})
        assert nobody.status_code == 422 and 'id="error-title"' in nobody.text
        report = await http.get(f"/meetings/classes/{school.class_id}/attendance")
        assert (
            report.status_code == 200
            and student_name in report.text
            and "1 of 1" in report.text
            and ">30<" in report.text
        )

    async with await person(app, db, settings, school, "s") as http:
        week = await http.get("/meetings")
        assert 'data-label="Action item">Draft outline' in week.text and "Project check-in" in week.text
        page = await http.get(url)
        item_id = re.search(r'action="/meetings/action-items/([^"]+)"', page.text).group(1)
        assert "Add an action item" not in page.text
        done = await submit(
            http,
            url,
            f"/meetings/action-items/{item_id}",
            {f"item-{item_id}-state": "in_progress", f"item-{item_id}-progress_percent": "150"},
        )
        assert done.status_code == 422 and f'id="error-item-{item_id}-progress_percent"' in done.text
        done = await submit(
            http,
            url,
            f"/meetings/action-items/{item_id}",
            {f"item-{item_id}-state": "done", f"item-{item_id}-progress_percent": "40"},
        )
        assert done.status_code == 303
        assert 'data-label="Action item">Draft outline' not in (await http.get("/meetings")).text
        assert (await http.get(f"/meetings/classes/{school.class_id}/attendance")).status_code == 403
    item = (await client.get(f"/meeting-action-items/{item_id}", headers=school.headers["t"])).json()
    assert (item["state"], item["progress_percent"]) == ("done", 100)

    async with await person(app, db, settings, school, "s2") as http:  # not invited
        page = await http.get(url)
        assert page.status_code == 404
        assert (await http.post(f"{url}/join", data={"csrf_token": "x"})).status_code == 403  # the form token


async def test_another_organizations_rooms_sessions_and_classes_are_not_there(app, db, settings, client, make_school):
    school = await make_school(time_zone=TZ)
    other = await make_school()
    room = await make_room(client, other, who="oa")
    meeting = await make_session(client, other, room["id"], at("10:00"), at("11:00"), who="oa")
    async with await person(app, db, settings, school, "oa") as http:
        for path in (
            f"/meetings/rooms/{room['id']}",
            f"/meetings/rooms/{room['id']}/new",
            f"/meetings/sessions/{meeting['id']}",
            f"/meetings/classes/{other.class_id}/attendance",
            f"/meetings/rooms/{uuid.uuid4()}",
        ):
            assert (await http.get(path)).status_code == 404, path
        token = re.search(r'name="csrf_token" value="([^"]+)"', (await http.get("/meetings")).text).group(1)
        for path in (
            f"/meetings/rooms/{room['id']}/new",
            f"/meetings/sessions/{meeting['id']}/join",
            f"/meetings/rooms/{room['id']}/delete",
        ):
            answer = await http.post(
                path,
                data={
                    "csrf_token": token,
                    "title": "x",
                    "starts_at": "2030-01-07T10:00",
                    "ends_at": "2030-01-07T11:00",
                },
            )
            assert answer.status_code == 404, path
