"""Action items: the host assigns them, the assignee works them, and "my open items" spans sessions."""

from tests.conftest import assert_problem
from tests.meetings.support import at, invite, invited_session, make_room, make_session


async def add_item(client, school, session_id, title, assignee: str | None, who: str = "t", **extra) -> dict:
    body = {"title": title, "assignee_id": assignee and str(school.people[assignee]), **extra}
    response = await client.post(f"/meeting-sessions/{session_id}/action-items", json=body, headers=school.headers[who])
    assert response.status_code == 201, response.text
    return response.json()


async def test_my_open_action_items_across_sessions(client, make_school):
    school = await make_school()
    room = await make_room(client, school)
    monday = await make_session(client, school, room["id"], at("10:00"), at("11:00"), title="Monday")
    tuesday = await make_session(
        client, school, room["id"], at("10:00", "2030-01-08"), at("11:00", "2030-01-08"), title="Tuesday"
    )
    for session in (monday, tuesday):
        await invite(client, school, session["id"], "s")
        await invite(client, school, session["id"], "s2")
    opened = await add_item(client, school, monday["id"], "Outline", "s")
    working = await add_item(client, school, tuesday["id"], "Draft", "s", state="in_progress", progress_percent=30)
    finished = await add_item(client, school, monday["id"], "Submit", "s", state="done")
    assert finished["progress_percent"] == 100  # done means 100 %
    others = await add_item(client, school, monday["id"], "Slides", "s2")
    await add_item(client, school, monday["id"], "Unassigned", None)
    await add_item(client, school, tuesday["id"], "Host's own", "t")

    def ids(response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    mine = await client.get("/me/action-items", headers=school.headers["s"])
    assert ids(mine) == [opened["id"], working["id"]]
    assert [(i["session_title"], i["state"]) for i in mine.json()["items"]] == [
        ("Monday", "open"),
        ("Tuesday", "in_progress"),
    ]
    assert ids(await client.get("/me/action-items", params={"state": "done"}, headers=school.headers["s"])) == [
        finished["id"]
    ]
    every = await client.get("/me/action-items", params={"state": "open,in_progress,done"}, headers=school.headers["s"])
    assert len(ids(every)) == 3
    assert ids(await client.get("/me/action-items", headers=school.headers["s2"])) == [others["id"]]
    assert ids(await client.get("/me/action-items", headers=school.headers["p"])) == []
    # Pages.
    first = (await client.get("/me/action-items", params={"limit": 1}, headers=school.headers["s"])).json()
    assert [i["id"] for i in first["items"]] == [opened["id"]] and first["next_cursor"]
    second = await client.get(
        "/me/action-items", params={"limit": 1, "cursor": first["next_cursor"]}, headers=school.headers["s"]
    )
    assert ids(second) == [working["id"]]
    assert_problem(
        await client.get("/me/action-items", params={"state": "open,later"}, headers=school.headers["s"]),
        422,
        "validation",
    )

    # Removed from Monday's session, s still has the item assigned, but no longer sees the session.
    response = await client.delete(
        f"/meeting-sessions/{monday['id']}/participants/{school.people['s']}", headers=school.headers["t"]
    )
    assert response.status_code == 204
    items = (await client.get("/me/action-items", headers=school.headers["s"])).json()["items"]
    assert [(i["id"], i["session_title"]) for i in items] == [(opened["id"], None), (working["id"], "Tuesday")]


async def test_action_items_of_a_session(client, make_school):
    school = await make_school()
    session = await invited_session(client, school, "s")
    item = await add_item(
        client, school, session["id"], "Plan", "s", due_date="2030-01-14", description="The next unit"
    )
    assert (item["due_date"], item["description"], item["state"]) == ("2030-01-14", "The next unit", "open")
    url = f"/meeting-sessions/{session['id']}/action-items"
    for who in ("t", "oa", "s"):  # host, org admin, participant
        listed = await client.get(url, headers=school.headers[who])
        assert [i["id"] for i in listed.json()["items"]] == [item["id"]], who
    assert_problem(await client.get(url, headers=school.headers["s2"]), 404, "not-found")
    # Only the host or an org admin adds items.
    assert_problem(await client.post(url, json={"title": "Mine"}, headers=school.headers["s"]), 403, "forbidden")
    await add_item(client, school, session["id"], "By the admin", "t", who="oa")
