"""Rooms, and every refusal as a problem document (never a 500)."""

import uuid

from tests.conftest import assert_problem
from tests.meetings.support import at, book, invite, make_room, make_session


async def test_rooms(client, make_school):
    school, elsewhere = await make_school(), await make_school()
    rooms_url = f"/organizations/{school.org_id}/meeting-rooms"
    room = await make_room(
        client, school, capacity=30, join_url="https://meet.example.org/r1", provider_settings={"provider": "jitsi"}
    )
    assert room["owner_id"] == str(school.people["t"]) and room["active"] is True
    admin_room = await make_room(client, school, who="oa")
    # Students and parents may not create rooms.
    for who in ("s", "p"):
        assert_problem(await client.post(rooms_url, json={"name": "Mine"}, headers=school.headers[who]), 403)
    # Every member lists and reads them; another school's people see none.
    for who in ("s", "p"):
        listed = await client.get(rooms_url, headers=school.headers[who])
        assert {r["id"] for r in listed.json()["items"]} == {room["id"], admin_room["id"]}
    assert (await client.get(rooms_url, headers=elsewhere.headers["oa"])).json()["items"] == []
    url = f"/meeting-rooms/{room['id']}"
    assert_problem(await client.get(url, headers=elsewhere.headers["t"]), 404, "not-found")
    assert_problem(await client.post(rooms_url, json={"name": "X"}, headers=elsewhere.headers["oa"]), 404)
    # The owner and the org admin change it; a student may not.
    response = await client.patch(url, json={"name": "Lab", "capacity": None}, headers=school.headers["t"])
    assert (response.json()["name"], response.json()["capacity"]) == ("Lab", None)
    response = await client.patch(url, json={"provider_settings": {"provider": "zoom"}}, headers=school.headers["oa"])
    assert response.json()["provider_settings"] == {"provider": "zoom"}
    assert_problem(await client.patch(url, json={"name": "Ours"}, headers=school.headers["s"]), 403, "forbidden")
    # The teacher does not own the admin's room.
    assert_problem(
        await client.patch(f"/meeting-rooms/{admin_room['id']}", json={"active": False}, headers=school.headers["t"]),
        403,
        "forbidden",
    )
    # Names are unique in an organization.
    assert_problem(await client.post(rooms_url, json={"name": "Lab"}, headers=school.headers["oa"]), 409)
    # Deleting a room takes its sessions with it.
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    assert_problem(await client.delete(url, headers=school.headers["s"]), 403, "forbidden")
    assert (await client.delete(url, headers=school.headers["t"])).status_code == 204
    assert_problem(await client.get(f"/meeting-sessions/{session['id']}", headers=school.headers["t"]), 404)


async def test_validation_errors_are_422_problems(client, make_school):
    school, elsewhere = await make_school(), await make_school()
    rooms_url = f"/organizations/{school.org_id}/meeting-rooms"
    headers = school.headers["t"]
    for body in (
        {"name": " "},
        {"name": "R", "capacity": 0},
        {"name": "R", "join_url": "ftp://x"},
        {"name": "R", "provider_settings": []},
        {},
    ):
        assert_problem(await client.post(rooms_url, json=body, headers=headers), 422, "validation")
    room = await make_room(client, school)
    url = f"/meeting-rooms/{room['id']}"
    assert_problem(await client.patch(url, json={"name": None}, headers=headers), 422, "validation")

    # Times need a zone and an order.
    for starts, ends in (
        ("2030-01-07T10:00:00", at("11:00")),
        (at("10:00"), "2030-01-07T11:00:00"),
        (at("11:00"), at("10:00")),
        (at("10:00"), at("10:00")),
        ("soon", at("11:00")),
    ):
        assert_problem(await book(client, school, room["id"], starts, ends), 422, "validation")
    assert_problem(await book(client, school, room["id"], at("10:00"), at("11:00"), title="  "), 422, "validation")
    # A class of another school (or an unknown one) is refused.
    for class_id in (elsewhere.class_id, uuid.uuid4()):
        response = await book(client, school, room["id"], at("10:00"), at("11:00"), class_id=str(class_id))
        assert_problem(response, 422, "invalid-class")
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    session_url = f"/meeting-sessions/{session['id']}"
    # Rescheduling checks the combined window and refuses null for required fields.
    assert_problem(await client.patch(session_url, json={"starts_at": at("12:00")}, headers=headers), 422)
    assert_problem(await client.patch(session_url, json={"title": None}, headers=headers), 422, "validation")
    assert_problem(await client.patch(session_url, json={"state": "over"}, headers=headers), 422, "validation")
    assert_problem(
        await client.patch(session_url, json={"room_id": str(uuid.uuid4())}, headers=headers), 422, "invalid-room"
    )
    # An inactive room takes no new sessions, nor sessions moved into it.
    closed = await make_room(client, school, active=False)
    assert_problem(await book(client, school, closed["id"], at("10:00"), at("11:00")), 422, "room-inactive")
    assert_problem(
        await client.patch(session_url, json={"room_id": closed["id"]}, headers=headers), 422, "room-inactive"
    )
    await client.patch(url, json={"active": False}, headers=headers)
    assert_problem(await book(client, school, room["id"], at("12:00"), at("13:00")), 422, "room-inactive")
    # ...but its sessions still run.
    assert (await client.patch(session_url, json={"state": "live"}, headers=headers)).status_code == 200

    # Only members of the organization are invited.
    participants_url = f"{session_url}/participants"
    for user_id in (elsewhere.people["s"], uuid.uuid4()):
        response = await client.post(participants_url, json={"user_id": str(user_id)}, headers=headers)
        assert_problem(response, 422, "not-a-member")
    assert_problem(await client.post(participants_url, json={"user_id": "me"}, headers=headers), 422, "validation")
    await invite(client, school, session["id"], "s")
    # Action items: the assignee is the host or a participant; done means 100 %.
    items_url = f"{session_url}/action-items"
    for body in (
        {"title": "T", "assignee_id": str(school.people["s2"])},
        {"title": "T", "assignee_id": str(elsewhere.people["s"])},
    ):
        assert_problem(await client.post(items_url, json=body, headers=headers), 422, "invalid-assignee")
    for body in (
        {"title": "T", "state": "done", "progress_percent": 50},
        {"title": "T", "progress_percent": 101},
        {"title": "T", "state": "later"},
        {"title": ""},
        {"title": "T", "due_date": "tomorrow"},
    ):
        assert_problem(await client.post(items_url, json=body, headers=headers), 422)
    item = (
        await client.post(items_url, json={"title": "T", "assignee_id": str(school.people["s"])}, headers=headers)
    ).json()
    item_url = f"/meeting-action-items/{item['id']}"
    assert_problem(
        await client.patch(item_url, json={"assignee_id": str(school.people["s2"])}, headers=headers),
        422,
        "invalid-assignee",
    )
    assert_problem(await client.patch(item_url, json={"progress_percent": None}, headers=headers), 422, "validation")

    # Unknown ids are 404 problems, malformed ones 422.
    for path in (
        f"/meeting-rooms/{uuid.uuid4()}",
        f"/meeting-sessions/{uuid.uuid4()}",
        f"/meeting-action-items/{uuid.uuid4()}",
        f"/meeting-sessions/{uuid.uuid4()}/attendance",
    ):
        assert_problem(await client.get(path, headers=headers), 404, "not-found")
    assert_problem(await client.get("/meeting-sessions/not-an-id", headers=headers), 422, "validation")
    assert_problem(await client.get("/me/meeting-sessions", params={"cursor": "garbage"}, headers=headers), 400)
    assert_problem(await client.get("/me/meeting-sessions"), 401)


async def test_a_full_room_takes_no_more_invitations(client, make_school):
    school = await make_school()
    room = await make_room(client, school, capacity=2)
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    await invite(client, school, session["id"], "s")
    await invite(client, school, session["id"], "s2")
    response = await client.post(
        f"/meeting-sessions/{session['id']}/participants",
        json={"user_id": str(school.people["p"])},
        headers=school.headers["t"],
    )
    assert_problem(response, 409, "room-full")
