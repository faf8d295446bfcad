"""Leaving and joining again: attendance counts only the time between each join and its leave.

The API stamps join and leave with the database's clock; to play a morning through it, each
call's stamp is moved (as the service role) to the time the test says it happened.
"""

from sqlalchemy import text

from tests.meetings.support import at, invited_session, ts

PAST = "2025-03-03"


async def restamp(db, session_id, user_id, action: str, when: str) -> None:
    """Move the stamp the last join or leave wrote to ``when``: a first join's time, the end of
    the time away a rejoin recorded, or a leave's time."""
    if action == "join":
        sql = (
            "update public.meeting_participants"
            " set joined_at = case when away = '{}' then :t else joined_at end,"
            "     away = away - tstzmultirange(tstzrange(:t, null))"
            " where session_id = :sid and user_id = :uid"
        )
    else:
        sql = "update public.meeting_participants set left_at = :t where session_id = :sid and user_id = :uid"
    async with db.as_service() as session:
        await session.execute(text(sql), {"t": ts(when), "sid": session_id, "uid": user_id})


async def attendance(client, school, session_id) -> dict:
    response = await client.get(f"/meeting-sessions/{session_id}/attendance", headers=school.headers["t"])
    assert response.status_code == 200, response.text
    (row,) = response.json()["participants"]
    return row


async def play(client, db, school, session_id, steps: list[tuple[str, str]]) -> None:
    for action, clock in steps:
        response = await client.post(f"/meeting-sessions/{session_id}/{action}", headers=school.headers["s"])
        assert response.status_code == 200, response.text
        await restamp(db, session_id, school.people["s"], action, at(clock, PAST))


async def played(client, make_school, db, steps: list[tuple[str, str]], *, in_class: bool = False):
    """A school whose student ``s``, invited to a session from 10:00 to 11:00 (of its class if
    ``in_class``), played ``steps``: (school, session)."""
    school = await make_school()
    of_class = {"class_id": str(school.class_id)} if in_class else {}
    session = await invited_session(client, school, "s", day=PAST, **of_class)
    await play(client, db, school, session["id"], steps)
    return school, session


AWAY_HALF_AN_HOUR = [("join", "10:00"), ("leave", "10:10"), ("join", "10:40"), ("leave", "10:50")]


async def test_time_away_between_a_leave_and_the_next_join_is_not_counted(client, make_school, db):
    school, session = await played(client, make_school, db, AWAY_HALF_AN_HOUR)

    row = await attendance(client, school, session["id"])
    assert row["minutes"] == 20  # not 50: the half hour away is not presence
    assert ts(row["joined_at"]) == ts(at("10:00", PAST)) and ts(row["left_at"]) == ts(at("10:50", PAST))


async def test_still_there_after_coming_back_counts_to_the_end(client, make_school, db):
    steps = [("join", "09:55"), ("leave", "10:10"), ("join", "10:40"), ("leave", "10:45"), ("join", "10:50")]
    school, session = await played(client, make_school, db, steps)

    # 10:00-10:10 (before the start does not count), 10:40-10:45, 10:50 until the end at 11:00
    assert (await attendance(client, school, session["id"]))["minutes"] == 25


async def test_class_attendance_leaves_out_the_time_away(client, make_school, db):
    school, _ = await played(client, make_school, db, AWAY_HALF_AN_HOUR, in_class=True)

    response = await client.get(f"/classes/{school.class_id}/attendance", headers=school.headers["t"])
    assert response.status_code == 200, response.text
    rows = {row["user_id"]: row for row in response.json()["students"]}
    assert rows[str(school.people["s"])]["minutes"] == 20
