"""What participants and assignees may do to their own rows, and nothing more."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from tests.conftest import assert_problem, rolled_back
from tests.meetings.support import at, invite, invited_session, make_room, make_session


async def test_a_participant_records_own_join_and_leave(client, make_school):
    school = await make_school()
    session = await invited_session(client, school, "s")
    url, headers = f"/meeting-sessions/{session['id']}", school.headers["s"]

    assert_problem(await client.post(f"{url}/leave", headers=headers), 409, "not-joined")
    first = (await client.post(f"{url}/join", headers=headers)).json()
    assert first["user_id"] == str(school.people["s"]) and first["joined_at"] and first["left_at"] is None
    again = (await client.post(f"{url}/join", headers=headers)).json()
    assert again["joined_at"] == first["joined_at"]  # the first join stays
    left = (await client.post(f"{url}/leave", headers=headers)).json()
    assert left["left_at"] is not None and left["joined_at"] == first["joined_at"]
    # Joining again reopens the attendance; the first join time stays.
    back = (await client.post(f"{url}/join", headers=headers)).json()
    assert back["left_at"] is None and back["joined_at"] == first["joined_at"]

    # Seeing the session without an invitation (an org admin): 403; not seeing it at all: 404.
    assert_problem(await client.post(f"{url}/join", headers=school.headers["oa"]), 403, "forbidden")
    assert_problem(await client.post(f"{url}/leave", headers=school.headers["t"]), 403, "forbidden")
    for who in ("s2", "p"):
        assert_problem(await client.post(f"{url}/join", headers=school.headers[who]), 404, "not-found")
    # The host joins their own session without an invitation.
    host = await client.post(f"{url}/join", headers=school.headers["t"])
    assert host.status_code == 200 and host.json()["user_id"] == str(school.people["t"])
    # A participant sees only their own row; the host sees all.
    mine = (await client.get(f"{url}/participants", headers=headers)).json()["items"]
    assert [row["user_id"] for row in mine] == [str(school.people["s"])]
    everyone = (await client.get(f"{url}/participants", headers=school.headers["t"])).json()["items"]
    assert len(everyone) == 2
    # Ended: no more joining.
    await client.patch(url, json={"state": "live"}, headers=school.headers["t"])
    await client.patch(url, json={"state": "ended"}, headers=school.headers["t"])
    assert_problem(await client.post(f"{url}/join", headers=headers), 409, "session-closed")


async def test_a_participant_may_not_manage_participants(client, make_school):
    school = await make_school()
    session = await invited_session(client, school, "s", "s2")
    url = f"/meeting-sessions/{session['id']}/participants"
    body = {"user_id": str(school.people["p"])}
    assert_problem(await client.post(url, json=body, headers=school.headers["s"]), 403, "forbidden")
    assert_problem(await client.delete(f"{url}/{school.people['s2']}", headers=school.headers["s"]), 403, "forbidden")
    assert_problem(await client.delete(f"{url}/{school.people['s']}", headers=school.headers["s"]), 403, "forbidden")
    # The host removes; a second removal is 404.
    assert (await client.delete(f"{url}/{school.people['s2']}", headers=school.headers["t"])).status_code == 204
    assert_problem(await client.delete(f"{url}/{school.people['s2']}", headers=school.headers["t"]), 404, "not-found")
    # Inviting twice is a conflict.
    assert_problem(await client.post(url, json={"user_id": str(school.people["s"])}, headers=school.headers["t"]), 409)


async def test_a_participant_changes_only_join_and_leave_in_the_database(client, make_school, db):
    school = await make_school()
    room = await make_room(client, school)
    session = await make_session(client, school, room["id"], at("10:00"), at("11:00"))
    elsewhere = await make_session(client, school, room["id"], at("12:00"), at("13:00"))
    own = await invite(client, school, session["id"], "s")
    theirs = await invite(client, school, session["id"], "s2")
    as_s = user_identity(school.people["s"])

    async with rolled_back(db, as_s) as conn:
        changed = await conn.execute(
            text("update public.meeting_participants set joined_at = now(), left_at = now() where id = :id"),
            {"id": own["id"]},
        )
        assert changed.rowcount == 1
        # Another person's row is invisible: nothing to update.
        changed = await conn.execute(
            text("update public.meeting_participants set joined_at = now() where id = :id"), {"id": theirs["id"]}
        )
        assert changed.rowcount == 0
    for column, value in (("user_id", school.people["s2"]), ("session_id", elsewhere["id"])):
        async with rolled_back(db, as_s) as conn:
            with pytest.raises(DBAPIError) as refused:
                await conn.execute(
                    text(f"update public.meeting_participants set {column} = :value where id = :id"),
                    {"value": value, "id": own["id"]},
                )
            assert sqlstate(refused.value) == "42501", column


async def test_a_host_elsewhere_cannot_move_rows_into_their_own_session(client, make_school, db):
    """The guard lets a session's host change anything, but it is the host of the session the row is in
    that counts: a participant or assignee who hosts another session may not move the row there."""
    school = await make_school()
    room = await make_room(client, school, who="oa")
    board = await make_session(client, school, room["id"], at("10:00"), at("11:00"), who="oa")
    own = await make_session(client, school, room["id"], at("12:00"), at("13:00"), who="t")
    seat = await invite(client, school, board["id"], "t", who="oa")
    item = await client.post(
        f"/meeting-sessions/{board['id']}/action-items",
        json={"title": "Report", "assignee_id": str(school.people["t"])},
        headers=school.headers["oa"],
    )
    assert item.status_code == 201, item.text
    as_t = user_identity(school.people["t"])
    for table, row_id, extra in (
        ("meeting_action_items", item.json()["id"], ", title = 'Taken over'"),
        ("meeting_participants", seat["id"], ""),
    ):
        async with rolled_back(db, as_t) as conn:
            with pytest.raises(DBAPIError) as refused:
                await conn.execute(
                    text(f"update public.{table} set session_id = :own{extra} where id = :id"),
                    {"own": own["id"], "id": row_id},
                )
            assert sqlstate(refused.value) == "42501", table


async def test_an_assignee_changes_only_state_and_progress(client, make_school):
    school = await make_school()
    session = await invited_session(client, school, "s", "s2")
    response = await client.post(
        f"/meeting-sessions/{session['id']}/action-items",
        json={"title": "Read chapter 3", "assignee_id": str(school.people["s"]), "due_date": "2030-01-10"},
        headers=school.headers["t"],
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["state"], item["progress_percent"]) == ("open", 0)
    url, headers = f"/meeting-action-items/{item['id']}", school.headers["s"]

    for change in ({"title": "Skip chapter 3"}, {"due_date": "2030-02-01"}, {"assignee_id": str(school.people["s2"])}):
        body = assert_problem(await client.patch(url, json=change, headers=headers), 403, "forbidden")
        assert "state, progress_percent" in body["detail"]
    response = await client.patch(url, json={"state": "in_progress", "progress_percent": 40}, headers=headers)
    assert (response.json()["state"], response.json()["progress_percent"]) == ("in_progress", 40)
    # Done means 100 %.
    assert_problem(await client.patch(url, json={"state": "done", "progress_percent": 90}, headers=headers), 422)
    response = await client.patch(url, json={"state": "done"}, headers=headers)
    assert (response.json()["state"], response.json()["progress_percent"]) == ("done", 100)
    assert_problem(await client.patch(url, json={"progress_percent": 50}, headers=headers), 422)
    response = await client.patch(url, json={"state": "in_progress", "progress_percent": 80}, headers=headers)
    assert (response.json()["state"], response.json()["progress_percent"]) == ("in_progress", 80)
    # Another participant reads the item but may not change it, nor delete it; neither may the assignee delete it.
    assert (await client.get(url, headers=school.headers["s2"])).status_code == 200
    assert_problem(await client.patch(url, json={"state": "done"}, headers=school.headers["s2"]), 403, "forbidden")
    assert_problem(await client.delete(url, headers=school.headers["s2"]), 403, "forbidden")
    assert_problem(await client.delete(url, headers=headers), 403, "forbidden")
    # The host retitles and reassigns (to a participant or the host), then deletes.
    response = await client.patch(
        url, json={"title": "Read chapter 4", "assignee_id": str(school.people["t"])}, headers=school.headers["t"]
    )
    assert response.status_code == 200 and response.json()["title"] == "Read chapter 4"
    assert (await client.delete(url, headers=school.headers["t"])).status_code == 204
    assert_problem(await client.get(url, headers=school.headers["t"]), 404, "not-found")
