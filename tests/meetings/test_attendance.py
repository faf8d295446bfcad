"""Attendance: minutes present = [joined, left or (still there) now, capped at the end] inside the session."""

from datetime import UTC, datetime, timedelta

from tests.conftest import assert_problem
from tests.meetings.support import at, invite, invited_session, make_room, make_session, set_presence

PAST = "2025-03-03"  # sessions that are over: "now" plays no part


def by_user(school, rows: list[dict]) -> dict[str, dict]:
    names = {str(uid): name for name, uid in school.people.items()}
    return {names[row["user_id"]]: row for row in rows}


async def test_minutes_present_per_participant(client, make_school, db):
    school = await make_school()
    session = await invited_session(client, school, "s", "s2", "p", "oa", day=PAST)
    people = school.people
    await set_presence(db, session["id"], people["s"], at("09:50", PAST), at("10:30", PAST))  # early: 30
    await set_presence(db, session["id"], people["s2"], at("10:15", PAST), at("11:20", PAST))  # stays late: 45
    await set_presence(db, session["id"], people["p"], at("10:40", PAST), None)  # never left: until the end, 20
    # oa was invited and never came: 0

    response = await client.get(f"/meeting-sessions/{session['id']}/attendance", headers=school.headers["t"])
    assert response.status_code == 200, response.text
    body = response.json()
    rows = by_user(school, body["participants"])
    assert {who: row["minutes"] for who, row in rows.items()} == {"s": 30, "s2": 45, "p": 20, "oa": 0}
    assert rows["p"]["left_at"] is None and rows["oa"]["joined_at"] is None
    # Names only where the caller may read the profile: the teacher knows their student, not s2.
    assert rows["s"]["display_name"] and rows["s2"]["display_name"] is None
    # The org admin sees the same minutes (and every name); participants and others do not.
    response = await client.get(f"/meeting-sessions/{session['id']}/attendance", headers=school.headers["oa"])
    rows = by_user(school, response.json()["participants"])
    assert {who: row["minutes"] for who, row in rows.items()} == {"s": 30, "s2": 45, "p": 20, "oa": 0}
    assert all(row["display_name"] for row in rows.values())
    assert_problem(await client.get(f"/meeting-sessions/{session['id']}/attendance", headers=school.headers["s"]), 403)


async def test_someone_still_in_a_running_session_counts_until_now(client, make_school, db):
    school = await make_school()
    room = await make_room(client, school)
    now = datetime.now(UTC).replace(microsecond=0)
    session = await make_session(
        client, school, room["id"], (now - timedelta(minutes=30)).isoformat(), (now + timedelta(minutes=30)).isoformat()
    )
    await invite(client, school, session["id"], "s")
    url = f"/meeting-sessions/{session['id']}"
    joined = await client.post(f"{url}/join", headers=school.headers["s"])
    assert joined.status_code == 200 and joined.json()["joined_at"] is not None
    await set_presence(db, session["id"], school.people["s"], (now - timedelta(minutes=10)).isoformat(), None)

    rows = (await client.get(f"{url}/attendance", headers=school.headers["t"])).json()["participants"]
    assert 9.9 <= rows[0]["minutes"] <= 12  # ten minutes, plus the test's own running time

    left = await client.post(f"{url}/leave", headers=school.headers["s"])
    assert left.status_code == 200 and left.json()["left_at"] is not None
    rows = (await client.get(f"{url}/attendance", headers=school.headers["t"])).json()["participants"]
    assert 9.9 <= rows[0]["minutes"] <= 12


async def test_class_attendance_per_student(client, make_school, db):
    school = await make_school()
    room = await make_room(client, school)
    cls = str(school.class_id)
    monday = await make_session(client, school, room["id"], at("10:00", PAST), at("11:00", PAST), class_id=cls)
    tuesday = await make_session(
        client, school, room["id"], at("10:00", "2025-03-04"), at("11:00", "2025-03-04"), class_id=cls
    )
    wednesday = await make_session(  # cancelled: does not count
        client, school, room["id"], at("10:00", "2025-03-05"), at("11:00", "2025-03-05"), class_id=cls
    )
    other = await make_session(client, school, room["id"], at("12:00", PAST), at("13:00", PAST))  # not the class's
    for session in (monday, tuesday, wednesday, other):
        await invite(client, school, session["id"], "s")
    await invite(client, school, tuesday["id"], "s2")  # not enrolled in the class: not reported
    s = school.people["s"]
    await set_presence(db, monday["id"], s, at("10:00", PAST), at("10:30", PAST))
    await set_presence(db, tuesday["id"], s, at("10:10", "2025-03-04"), at("11:00", "2025-03-04"))
    await set_presence(db, tuesday["id"], school.people["s2"], at("10:00", "2025-03-04"), None)
    await set_presence(db, wednesday["id"], s, at("10:00", "2025-03-05"), at("11:00", "2025-03-05"))
    await set_presence(db, other["id"], s, at("12:00", PAST), at("13:00", PAST))
    response = await client.patch(
        f"/meeting-sessions/{wednesday['id']}", json={"state": "cancelled"}, headers=school.headers["t"]
    )
    assert response.status_code == 200

    url = f"/classes/{cls}/attendance"
    for who in ("t", "oa"):
        response = await client.get(url, headers=school.headers[who])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["sessions"] == 2
        assert [(r["user_id"], r["minutes"], r["sessions_attended"]) for r in body["students"]] == [(str(s), 80, 2)]

    body = (await client.get(url, params={"since": "2025-03-04T00:00:00Z"}, headers=school.headers["t"])).json()
    assert body["sessions"] == 1 and body["students"][0]["minutes"] == 50
    body = (await client.get(url, params={"until": "2025-03-04T00:00:00+00:00"}, headers=school.headers["t"])).json()
    assert body["sessions"] == 1 and body["students"][0]["minutes"] == 30
    body = (await client.get(url, params={"since": "2026-01-01T00:00:00Z"}, headers=school.headers["t"])).json()
    assert body["sessions"] == 0 and body["students"] == [{**body["students"][0], "minutes": 0, "sessions_attended": 0}]

    # The student and the parent see the class but not its attendance; a student of another class, not even the class.
    for who in ("s", "p"):
        assert_problem(await client.get(url, headers=school.headers[who]), 403, "forbidden")
    assert_problem(await client.get(url, headers=school.headers["s2"]), 404, "not-found")
    assert_problem(await client.get(url, params={"since": "2025-03-04T00:00:00"}, headers=school.headers["t"]), 422)
