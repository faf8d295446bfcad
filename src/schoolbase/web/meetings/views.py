"""What the meetings pages read, on the page's own session (as the person, under row-level
security), through the services the API's meetings routes use: a page shows nothing the API
would not show that person. Another organization's rooms and sessions are not there (404)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.meetings import action_items, attendance, participants, rooms, schemas, sessions
from schoolbase.models import Class, Enrollment, MeetingRoom, MeetingSession, Membership, MembershipRole, User
from schoolbase.web.context import PageContext
from schoolbase.web.formatting import local
from schoolbase.web.learning.views import every
from schoolbase.web.meetings.week import Week

SOMEONE = "Someone you cannot see"


@dataclass
class Entry:
    """A session on the calendar, with its room's name."""

    session: schemas.SessionOut
    room: str
    time: str  # 10:00–11:00 in the organization's time zone


def clock(session: schemas.SessionOut, time_zone: str) -> str:
    return f"{local(session.starts_at, time_zone):%H:%M}–{local(session.ends_at, time_zone):%H:%M}"


def look_at(page: PageContext, organization_id: uuid.UUID) -> None:
    """A room or session of another of my organizations is shown in its own organization."""
    if page.organization is None or page.organization.id != organization_id:
        page.organization = next((o for o in page.me.organizations if o.id == organization_id), page.organization)


async def names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names of the people I may read (row-level security leaves the others out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(wanted)))
    return {row.id: row.display_name or row.email or SOMEONE for row in rows}


async def room_list(session: AsyncSession, page: PageContext) -> list[schemas.RoomOut]:
    if page.organization is None:
        return []
    found = await every(lambda paging: rooms.list_rooms(session, page.organization.id, paging))
    return sorted(found, key=lambda room: (room.name.lower(), room.id))


async def room(session: AsyncSession, page: PageContext, room_id: uuid.UUID) -> MeetingRoom:
    found = await rooms.get_room(session, room_id)
    look_at(page, found.organization_id)
    return found


def manages_room(page: PageContext, found: MeetingRoom) -> bool:
    """The owner or an org admin changes a room (the API's rule)."""
    return found.owner_id == page.user_id or page.has("org_admin")


def may_schedule(page: PageContext) -> bool:
    """Teachers and org admins host sessions (the API's rule)."""
    return page.has("teacher") or page.has("org_admin")


async def _room_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(MeetingRoom.id, MeetingRoom.name).where(MeetingRoom.id.in_(ids)))
    return dict(rows.all())


async def _placed(session: AsyncSession, week: Week, found: list[schemas.SessionOut]) -> Week:
    room_names = await _room_names(session, {s.room_id for s in found})
    return week.place(found, lambda s: Entry(s, room_names.get(s.room_id, "a room"), clock(s, week.time_zone)))


async def my_week(session: AsyncSession, page: PageContext, week: Week) -> Week:
    """The sessions I host or am invited to, in the organization looked at."""
    found = await every(lambda paging: sessions.list_my_sessions(session, page.user_id, week.since, week.until, paging))
    here = [s for s in found if page.organization is not None and s.organization_id == page.organization.id]
    return await _placed(session, week, here)


async def room_week(session: AsyncSession, room_id: uuid.UUID, week: Week) -> Week:
    found = await every(lambda paging: sessions.list_room_sessions(session, room_id, week.since, week.until, paging))
    return await _placed(session, week, found)


async def my_open_items(session: AsyncSession, page: PageContext) -> list[schemas.MyActionItemOut]:
    found = await every(lambda paging: action_items.my_action_items(session, page.user_id, "open,in_progress", paging))
    here = [i for i in found if page.organization is not None and i.organization_id == page.organization.id]
    return sorted(here, key=lambda i: (i.due_date is None, i.due_date, i.created_at))


async def classes(session: AsyncSession, page: PageContext, *, taught: bool = False) -> list[tuple[uuid.UUID, str]]:
    """The organization's classes I can see (``taught``: only those I teach), by name."""
    if page.organization is None:
        return []
    stmt = select(Class.id, Class.name).where(Class.organization_id == page.organization.id)
    if taught:
        mine = select(Enrollment.class_id).where(
            Enrollment.user_id == page.user_id, Enrollment.role == MembershipRole.teacher
        )
        stmt = stmt.where(Class.id.in_(mine))
    rows = await session.execute(stmt.order_by(func.lower(Class.name), Class.id))
    return [(row.id, row.name) for row in rows]


async def class_students(session: AsyncSession, class_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Enrollment.user_id).where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)
    )
    return list(rows)


async def invitable(
    session: AsyncSession, organization_id: uuid.UUID, leave_out: Iterable[uuid.UUID]
) -> list[tuple[uuid.UUID, str]]:
    """People of the organization I can see (members, and the people of classes I can see), by name."""
    people = union(
        select(Membership.user_id).where(Membership.organization_id == organization_id),
        select(Enrollment.user_id)
        .join(Class, Class.id == Enrollment.class_id)
        .where(Class.organization_id == organization_id),
    ).subquery()
    stmt = select(User.id, func.coalesce(User.display_name, User.email, "").label("name")).where(
        User.id.in_(select(people.c.user_id)), User.id.not_in(set(leave_out))
    )
    rows = await session.execute(stmt.order_by(func.lower(func.coalesce(User.display_name, User.email)), User.id))
    return [(row.id, row.name or SOMEONE) for row in rows]


@dataclass
class SessionView:
    meeting: MeetingSession
    room: MeetingRoom
    manages: bool
    class_name: str | None
    mine: schemas.ParticipantOut | None
    participants: list[schemas.ParticipantOut]
    attendance: schemas.SessionAttendance | None
    items: list[schemas.ActionItemOut]
    names: dict[uuid.UUID, str]
    invitable: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.meeting.state in sessions.CLOSED

    @property
    def takes_part(self) -> bool:
        return self.mine is not None or self.meeting.host_id == self.mine_id

    mine_id: uuid.UUID | None = None

    @property
    def present(self) -> bool:
        return self.mine is not None and self.mine.joined_at is not None and self.mine.left_at is None

    def name(self, user_id: uuid.UUID | None) -> str:
        return SOMEONE if user_id is None else self.names.get(user_id, SOMEONE)

    @property
    def assignees(self) -> list[tuple[str, str]]:
        ids = [self.meeting.host_id] + [p.user_id for p in self.participants if p.user_id != self.meeting.host_id]
        return [("", "Nobody yet")] + [(str(i), self.name(i)) for i in ids]


async def session_view(session: AsyncSession, page: PageContext, session_id: uuid.UUID) -> SessionView:
    meeting = await sessions.get_session(session, session_id)
    look_at(page, meeting.organization_id)
    manages = await sessions.manages(session, meeting.organization_id, meeting.id)
    people = await every(lambda paging: participants.list_participants(session, session_id, paging))
    items = await every(lambda paging: action_items.list_action_items(session, session_id, paging))
    class_name = meeting.class_id and await session.scalar(select(Class.name).where(Class.id == meeting.class_id))
    ids = [meeting.host_id, *(p.user_id for p in people), *(i.assignee_id for i in items)]
    view = SessionView(
        meeting=meeting,
        room=await rooms.get_room(session, meeting.room_id),
        manages=manages,
        class_name=class_name or None,
        mine=next((p for p in people if p.user_id == page.user_id), None),
        participants=people,
        attendance=await attendance.session_attendance(session, session_id) if manages else None,
        items=items,
        names=await names(session, ids),
        mine_id=page.user_id,
    )
    if manages and not view.closed:
        view.invitable = await invitable(
            session, meeting.organization_id, [meeting.host_id, *(p.user_id for p in people)]
        )
    return view
