"""The demo's meetings (Maple Grove): two rooms with sessions over the last week and the next few
days, at fixed local times on days relative to the load (in the organization's time zone), attendance for the sessions
that are over, and action items (open, in progress and done)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import (
    ActionItemState,
    MeetingActionItem,
    MeetingParticipant,
    MeetingRoom,
    MeetingSession,
    MeetingState,
)
from schoolbase.tenancy.demo_school import DemoSchool

ROOMS = {
    "Algebra help room": ("ada", 30, "https://meet.example.org/maple-algebra"),
    "Staff room": ("admin", 12, "https://meet.example.org/maple-staff"),
}
# (room, title, class, host, days from the day of the load, local start, minutes, people)
SESSIONS = [
    ("Algebra help room", "Equations clinic", "Algebra I", "ada", -8, time(15, 30), 45, ["grace", "linus", "margaret"]),
    ("Algebra help room", "Quiz review", "Algebra I", "ada", -5, time(15, 30), 45, ["grace", "margaret"]),
    ("Staff room", "Weekly staff meeting", None, "admin", -6, time(8, 0), 30, ["ada", "alan", "kim"]),
    ("Algebra help room", "Equations clinic", "Algebra I", "ada", -1, time(15, 30), 45, ["grace", "linus", "margaret"]),
    ("Algebra help room", "Systems of equations", "Algebra I", "ada", 2, time(15, 30), 60, ["grace", "linus"]),
    ("Staff room", "Weekly staff meeting", None, "admin", 1, time(8, 0), 30, ["ada", "alan", "kim"]),
    ("Staff room", "Science fair planning", None, "alan", 3, time(12, 0), 40, ["ada", "admin"]),
]
# (session title, days offset of that session, title, assignee, state, progress, due in days)
ACTION_ITEMS = [
    ("Weekly staff meeting", -6, "Send the parents' evening invitations", "admin", "done", 100, -3),
    ("Weekly staff meeting", -6, "Book the hall for the science fair", "alan", "in_progress", 50, 5),
    ("Weekly staff meeting", -6, "Share the algebra unit plan", "ada", "open", 0, 7),
    ("Quiz review", -5, "Redo questions 3 and 4", "margaret", "open", 0, 3),
    ("Quiz review", -5, "Read the worked examples", "grace", "done", 100, -1),
]


def _at(day: date, days: int, local: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=days), local, tzinfo=zone)


async def load_meetings(session: AsyncSession, school: DemoSchool) -> None:
    """Load once: an organization with any meeting room is left alone."""
    org_id, people, classes, now = school.organization_id, school.people, school.classes, school.now
    if await session.scalar(select(exists().where(MeetingRoom.organization_id == org_id))):
        return
    zone = ZoneInfo(school.time_zone)
    today = now.astimezone(zone).date()
    rooms = {}
    for name, (owner, capacity, url) in ROOMS.items():
        room = MeetingRoom(organization_id=org_id, name=name, owner_id=people[owner], capacity=capacity, join_url=url)
        session.add(room)
        await session.flush()
        rooms[name] = room.id
    sessions = {}
    for room, title, klass, host, days, start, minutes, attendees in SESSIONS:
        starts = _at(today, days, start, zone)
        ends = starts + timedelta(minutes=minutes)
        state = MeetingState.ended if ends <= now else MeetingState.scheduled
        row = MeetingSession(
            organization_id=org_id,
            room_id=rooms[room],
            title=title,
            class_id=classes.get(klass) if klass else None,
            host_id=people[host],
            starts_at=starts,
            ends_at=ends,
            state=state,
        )
        session.add(row)
        await session.flush()
        sessions[(title, days)] = row.id
        for number, who in enumerate([host, *attendees]):
            over = state is MeetingState.ended and number != len(attendees)  # the last invited did not come
            session.add(
                MeetingParticipant(
                    organization_id=org_id,
                    session_id=row.id,
                    user_id=people[who],
                    joined_at=starts + timedelta(minutes=number) if over else None,
                    left_at=ends - timedelta(minutes=2 * number) if over else None,
                )
            )
    for title, days, item, who, state, progress, due in ACTION_ITEMS:
        if (title, days) not in sessions:
            continue
        session.add(
            MeetingActionItem(
                organization_id=org_id,
                session_id=sessions[(title, days)],
                title=item,
                assignee_id=people[who],
                state=ActionItemState(state),
                progress_percent=progress,
                due_date=today + timedelta(days=due),
            )
        )
    await session.flush()
