"""Scheduling: no two live bookings of a room overlap, and the 409 names the session in the way."""

import asyncio

from tests.conftest import assert_problem
from tests.meetings.support import at, book, invite, make_room, make_session, ts


def in_the_way(body: dict) -> dict:
    return {k: (ts(v) if k.endswith("_at") else v) for k, v in body["conflicting_session"].items()}


async def test_overlap_is_refused_with_409_naming_the_session(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    first = await make_session(client, school, room["id"], at("10:00"), at("11:00"), title="Algebra review")

    for who in ("t", "oa"):  # the host, and an org admin who did not book it
        response = await book(client, school, room["id"], at("10:30"), at("11:30"), who=who)
        body = assert_problem(response, 409, "session-overlap")
        assert in_the_way(body) == {
            "id": first["id"],
            "title": "Algebra review",
            "starts_at": ts(at("10:00")),
            "ends_at": ts(at("11:00")),
        }
        assert "Algebra review" in body["detail"] and first["id"] in body["detail"]

    # A session inside, and one around, the booked hour are refused too.
    assert_problem(await book(client, school, room["id"], at("10:15"), at("10:45")), 409, "session-overlap")
    assert_problem(await book(client, school, room["id"], at("09:00"), at("12:00")), 409, "session-overlap")


async def test_adjacent_sessions_are_allowed(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    await make_session(client, school, room["id"], at("11:00"), at("12:00"))
    await make_session(client, school, room["id"], at("09:00"), at("10:00"))
    # The same hour in another room is free.
    other = await make_room(client, school)
    await make_session(client, school, other["id"], at("10:00"), at("11:00"))
    listed = await client.get(f"/meeting-rooms/{room['id']}/sessions", headers=school.headers["t"])
    assert [ts(s["starts_at"]).hour for s in listed.json()["items"]] == [9, 10, 11]  # schedule order


async def test_a_cancelled_session_does_not_block_the_room(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    first = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    response = await client.patch(
        f"/meeting-sessions/{first['id']}", json={"state": "cancelled"}, headers=school.headers["t"]
    )
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    await make_session(client, school, room["id"], at("10:00"), at("11:00"), title="Replacement")
    # A cancelled session stays cancelled: it cannot come back over the replacement.
    response = await client.patch(
        f"/meeting-sessions/{first['id']}", json={"state": "scheduled"}, headers=school.headers["t"]
    )
    assert_problem(response, 409, "invalid-transition")


async def test_the_session_in_the_way_is_named_only_if_the_caller_may_see_it(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    await make_session(client, school, room["id"], at("13:00"), at("14:00"), who="oa", title="Board meeting")
    response = await book(client, school, room["id"], at("13:30"), at("14:30"), who="t")
    body = assert_problem(response, 409, "session-overlap")
    assert in_the_way(body) == {"starts_at": ts(at("13:00")), "ends_at": ts(at("14:00"))}
    assert "Board meeting" not in response.text


async def test_rescheduling_into_a_booked_slot_is_refused(client, make_school):
    school = await make_school()
    room, other = await make_room(client, school), await make_room(client, school)
    first = await make_session(client, school, room["id"], at("10:00"), at("11:00"), title="First")
    second = await make_session(client, school, room["id"], at("11:00"), at("12:00"), title="Second")
    url, headers = f"/meeting-sessions/{second['id']}", school.headers["t"]

    body = assert_problem(await client.patch(url, json={"starts_at": at("10:30")}, headers=headers), 409)
    assert in_the_way(body)["id"] == first["id"]
    # Moving within its own slot (the session does not collide with itself), or to a free room, works.
    response = await client.patch(url, json={"ends_at": at("12:30"), "title": "Second, longer"}, headers=headers)
    assert response.status_code == 200, response.text
    assert ts(response.json()["ends_at"]) == ts(at("12:30")) and response.json()["title"] == "Second, longer"
    response = await client.patch(
        url, json={"room_id": other["id"], "starts_at": at("10:00"), "ends_at": at("11:00")}, headers=headers
    )
    assert response.status_code == 200 and response.json()["room_id"] == other["id"]
    # The refused attempt left nothing behind.
    got = await client.get(f"/meeting-sessions/{first['id']}", headers=headers)
    assert ts(got.json()["starts_at"]) == ts(at("10:00"))


async def test_two_concurrent_bookings_of_one_slot(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    responses = await asyncio.gather(
        book(client, school, room["id"], at("15:00"), at("16:00"), who="t", title="T's"),
        book(client, school, room["id"], at("15:30"), at("16:30"), who="oa", title="OA's"),
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert_problem(refused, 409, "session-overlap")


async def test_state_moves_scheduled_live_ended(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    url, headers = f"/meeting-sessions/{session['id']}", school.headers["t"]

    assert_problem(await client.patch(url, json={"state": "ended"}, headers=headers), 409, "invalid-transition")
    assert (await client.patch(url, json={"state": "live"}, headers=headers)).json()["state"] == "live"
    assert (await client.patch(url, json={"state": "ended"}, headers=headers)).json()["state"] == "ended"
    assert_problem(await client.patch(url, json={"state": "live"}, headers=headers), 409, "invalid-transition")
    assert_problem(await client.patch(url, json={"starts_at": at("09:00")}, headers=headers), 409, "session-closed")
    assert_problem(await client.patch(url, json={"state": "cancelled"}, headers=headers), 409, "invalid-transition")


async def test_who_schedules_and_changes_sessions(client, make_school):
    school = await make_school()
    room = await make_room(client, school, who="oa")
    # A student or a parent may not host.
    for who in ("s", "p"):
        assert_problem(await book(client, school, room["id"], at("08:00"), at("09:00"), who=who), 403)
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"), class_id=str(school.class_id))
    assert session["host_id"] == str(school.people["t"]) and session["class_id"] == str(school.class_id)
    await invite(client, school, session["id"], "s2")
    url = f"/meeting-sessions/{session['id']}"
    # A participant sees the session but may not change or delete it.
    assert (await client.get(url, headers=school.headers["s2"])).status_code == 200
    assert_problem(await client.patch(url, json={"title": "Mine"}, headers=school.headers["s2"]), 403, "forbidden")
    assert_problem(await client.delete(url, headers=school.headers["s2"]), 403, "forbidden")
    # The parent sees nothing of it.
    assert_problem(await client.get(url, headers=school.headers["p"]), 404, "not-found")
    # Lists: mine (host and participant), the class's.
    for who in ("t", "s2"):
        mine = await client.get("/me/meeting-sessions", headers=school.headers[who])
        assert [s["id"] for s in mine.json()["items"]] == [session["id"]]
    in_class = await client.get(f"/classes/{school.class_id}/meeting-sessions", headers=school.headers["t"])
    assert [s["id"] for s in in_class.json()["items"]] == [session["id"]]
    # The org admin changes it, and the host deletes it.
    response = await client.patch(url, json={"title": "Renamed", "class_id": None}, headers=school.headers["oa"])
    assert response.status_code == 200 and response.json()["class_id"] is None
    assert (await client.delete(url, headers=school.headers["t"])).status_code == 204
    assert_problem(await client.get(url, headers=school.headers["t"]), 404, "not-found")


async def test_schedule_pages_follow_the_clock(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    for hour in (14, 9, 11):  # booked out of order
        await make_session(client, school, room["id"], at(f"{hour:02}:00"), at(f"{hour:02}:45"))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(f"/meeting-rooms/{room['id']}/sessions", params=params, headers=school.headers["t"])
        ).json()
        seen += [ts(s["starts_at"]).hour for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [9, 11, 14]
    since = await client.get(
        f"/meeting-rooms/{room['id']}/sessions",
        params={"since": at("10:00"), "until": at("14:00")},
        headers=school.headers["t"],
    )
    assert [ts(s["starts_at"]).hour for s in since.json()["items"]] == [11]
