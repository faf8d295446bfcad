"""Helpers for the meetings tests: rooms and sessions through the API, explicit times through the service role."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

DAY = "2030-01-07"  # a Monday, far enough ahead that "now" never falls inside


def at(clock: str, day: str = DAY) -> str:
    """An ISO timestamp in UTC: at("10:30") → 2030-01-07T10:30:00+00:00."""
    return f"{day}T{clock}:00+00:00"


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def make_room(client, school, who: str = "t", **extra) -> dict:
    body = {"name": f"Room {uuid.uuid4().hex[:6]}", **extra}
    response = await client.post(
        f"/organizations/{school.org_id}/meeting-rooms", json=body, headers=school.headers[who]
    )
    assert response.status_code == 201, response.text
    return response.json()


async def book(client, school, room_id, starts: str, ends: str, who: str = "t", title: str = "Session", **extra):
    """POST a session; returns the response (201 or a problem)."""
    body = {"title": title, "starts_at": starts, "ends_at": ends, **extra}
    return await client.post(f"/meeting-rooms/{room_id}/sessions", json=body, headers=school.headers[who])


async def make_session(client, school, room_id, starts: str, ends: str, who: str = "t", **extra) -> dict:
    response = await book(client, school, room_id, starts, ends, who, **extra)
    assert response.status_code == 201, response.text
    return response.json()


async def invited_session(client, school, *invited: str, day: str = DAY, **extra) -> dict:
    """A session from 10:00 to 11:00 of ``day`` in a room of its own, with ``invited`` (names of
    ``school``'s people) as its participants."""
    room = await make_room(client, school)
    session = await make_session(client, school, room["id"], at("10:00", day), at("11:00", day), **extra)
    for whom in invited:
        await invite(client, school, session["id"], whom)
    return session


async def invite(client, school, session_id, whom: str, who: str = "t") -> dict:
    response = await client.post(
        f"/meeting-sessions/{session_id}/participants",
        json={"user_id": str(school.people[whom])},
        headers=school.headers[who],
    )
    assert response.status_code == 201, response.text
    return response.json()


async def set_presence(db, session_id, user_id, joined: str | None, left: str | None) -> None:
    """Explicit join and leave times (the API records 'now'), written as the service role."""
    async with db.as_service() as session:
        await session.execute(
            text(
                "update public.meeting_participants set joined_at = :joined, left_at = :left"
                " where session_id = :sid and user_id = :uid"
            ),
            {"joined": joined and ts(joined), "left": left and ts(left), "sid": session_id, "uid": user_id},
        )
