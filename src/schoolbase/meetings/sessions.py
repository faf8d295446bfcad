"""Meeting sessions: scheduled in a room by their host (a teacher or an org admin), moved
through scheduled → live → ended (or cancelled), and listed in schedule order.

Every query runs as the caller, so row-level security decides what exists for them. A room
is booked by one session at a time: the exclusion constraint ``meeting_sessions_no_overlap``
refuses an overlap, and ``Lookups`` finds the session in the way for the message.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.errors import sqlstate
from schoolbase.meetings import schemas
from schoolbase.meetings.lookups import Lookups
from schoolbase.models import Class, MeetingParticipant, MeetingRoom, MeetingSession, MeetingState
from schoolbase.pagination import Page, PageParams, page_of, paginate_by
from schoolbase.problems import (
    INVALID_CLASS,
    INVALID_ROOM,
    INVALID_TRANSITION,
    ROOM_INACTIVE,
    SESSION_CLOSED,
    SESSION_OVERLAP,
    VALIDATION,
    Problem,
    forbidden,
)

T = TypeVar("T")

# scheduled → live → ended; scheduled or live → cancelled. Nothing comes back from ended or cancelled.
TRANSITIONS = {
    (MeetingState.scheduled, MeetingState.live),
    (MeetingState.live, MeetingState.ended),
    (MeetingState.scheduled, MeetingState.cancelled),
    (MeetingState.live, MeetingState.cancelled),
}
CLOSED = (MeetingState.ended, MeetingState.cancelled)


def org_admin_or(function: str) -> Any:
    """Is the caller a super admin, an org admin of ``:org``, or is ``:id`` among the ids the
    ``private`` function gives them (the sessions they host, the classes they teach)?"""
    return text(
        "select private.is_super_admin()"
        " or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
        f" or cast(:id as uuid) in (select private.{function}())"
    )


_MANAGES = org_admin_or("hosted_session_ids")


async def manages(session: AsyncSession, organization_id: uuid.UUID, session_id: uuid.UUID | None = None) -> bool:
    """Is the caller a super admin, an org admin of the organization, or the host of the session?"""
    return bool(await session.scalar(_MANAGES, {"org": organization_id, "id": session_id}))


async def managed_session(
    session: AsyncSession, session_id: uuid.UUID, action: str, *, lock: bool = False
) -> MeetingSession:
    """The session, if the caller hosts it or is an org admin: 404 when invisible, 403 when not theirs."""
    row = await get_session(session, session_id)
    if not await manages(session, row.organization_id, row.id):
        raise forbidden(f"only the host or an org admin may {action} this meeting session")
    if lock:  # serialises changes to one session (state checks, capacity)
        row = await session.scalar(
            select(MeetingSession)
            .where(MeetingSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    return row


def in_window(stmt: Select, since: datetime | None, until: datetime | None) -> Select:
    """Only sessions starting in [since, until)."""
    if since is not None:
        stmt = stmt.where(MeetingSession.starts_at >= since)
    if until is not None:
        stmt = stmt.where(MeetingSession.starts_at < until)
    return stmt


# Reading


async def _schedule_page(
    session: AsyncSession, where: Any, since: datetime | None, until: datetime | None, paging: PageParams
) -> Page[schemas.SessionOut]:
    """Sessions one page at a time in schedule order: (starts_at, id)."""
    stmt = in_window(select(MeetingSession).where(where), since, until)
    keys = (MeetingSession.starts_at, MeetingSession.id)
    rows, cursor = await paginate_by(session, stmt, paging, keys, lambda row: (row[0].starts_at, row[0].id))
    return Page(items=[schemas.SessionOut.model_validate(row[0]) for row in rows], next_cursor=cursor)


async def list_room_sessions(
    session: AsyncSession, room_id: uuid.UUID, since: datetime | None, until: datetime | None, paging: PageParams
) -> Page[schemas.SessionOut]:
    await get_visible(session, MeetingRoom, room_id, "meeting room")
    return await _schedule_page(session, MeetingSession.room_id == room_id, since, until, paging)


async def list_class_sessions(
    session: AsyncSession, class_id: uuid.UUID, since: datetime | None, until: datetime | None, paging: PageParams
) -> Page[schemas.SessionOut]:
    await get_visible(session, Class, class_id, "class")
    return await _schedule_page(session, MeetingSession.class_id == class_id, since, until, paging)


async def list_my_sessions(
    session: AsyncSession, caller_id: uuid.UUID, since: datetime | None, until: datetime | None, paging: PageParams
) -> Page[schemas.SessionOut]:
    """Sessions the caller hosts or is invited to."""
    mine = or_(
        MeetingSession.host_id == caller_id,
        MeetingSession.id.in_(select(MeetingParticipant.session_id).where(MeetingParticipant.user_id == caller_id)),
    )
    return await _schedule_page(session, mine, since, until, paging)


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> MeetingSession:
    return await get_visible(session, MeetingSession, session_id, "meeting session")


async def page_of_session(
    session: AsyncSession, model: Any, session_id: uuid.UUID, paging: PageParams, schema: type[BaseModel]
) -> Page:
    """One page of a visible session's ``model`` rows (participants, action items), oldest first;
    which of them the caller sees is for row-level security to say."""
    await get_session(session, session_id)
    stmt = select(model).where(model.session_id == session_id)
    return await page_of(session, stmt, model, paging, schema)


async def delete_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await remove(session, MeetingSession, session_id, "meeting session")


# Booking


def _check_active(room: MeetingRoom) -> None:
    if not room.active:
        raise ROOM_INACTIVE(f"meeting room {room.name!r} is inactive; sessions cannot be scheduled in it")


async def _room_for_booking(session: AsyncSession, room_id: uuid.UUID, organization_id: uuid.UUID) -> MeetingRoom:
    room = await session.get(MeetingRoom, room_id)
    if room is None or room.organization_id != organization_id:
        raise INVALID_ROOM(f"meeting room {room_id} does not exist in this organization")
    _check_active(room)
    return room


async def _check_class(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID | None) -> None:
    if class_id is None:
        return
    cls = await session.get(Class, class_id)
    if cls is None or cls.organization_id != organization_id:
        raise INVALID_CLASS(f"class {class_id} does not exist in the room's organization or is not visible to you")


@dataclass(frozen=True)
class Booking:
    """A room for a time; ``session_id`` is the session being moved, which is not in its own way."""

    room: MeetingRoom
    starts_at: datetime
    ends_at: datetime
    session_id: uuid.UUID | None = None


async def _book(session: AsyncSession, lookups: Lookups, booking: Booking, write: Callable[[], Awaitable[T]]) -> T:
    """Run ``write`` in a savepoint; when the room is taken, answer 409 naming the session in the way."""
    try:
        async with session.begin_nested():
            return await write()
    except IntegrityError as exc:
        if sqlstate(exc) != "23P01":
            raise
    raise await _overlap_problem(session, lookups, booking)


async def _overlap_problem(session: AsyncSession, lookups: Lookups, booking: Booking) -> Problem:
    room = booking.room
    found = await lookups.session_in_the_way(
        room.organization_id, room.id, booking.starts_at, booking.ends_at, booking.session_id
    )
    if found is None:  # removed or cancelled since the refusal
        return SESSION_OVERLAP(f"meeting room {room.name!r} was booked for part of that time; try again")
    window = f"{found.starts_at.isoformat()} to {found.ends_at.isoformat()}"
    in_the_way: dict[str, Any] = {"starts_at": found.starts_at.isoformat(), "ends_at": found.ends_at.isoformat()}
    # Named only when the caller may read it; the savepoint is rolled back, so the session is usable.
    title = await session.scalar(select(MeetingSession.title).where(MeetingSession.id == found.id))
    if title is None:
        detail = f"meeting room {room.name!r} is already booked from {window} by a session you cannot see"
    else:
        in_the_way = {"id": str(found.id), "title": title, **in_the_way}
        detail = f"meeting room {room.name!r} is already booked from {window} by {title!r} ({found.id})"
    return SESSION_OVERLAP(detail, conflicting_session=in_the_way)


async def schedule(
    session: AsyncSession, lookups: Lookups, caller_id: uuid.UUID, room_id: uuid.UUID, body: schemas.SessionCreate
) -> MeetingSession:
    """The caller hosts the session (a teacher or an org admin of the room's organization)."""
    room = await get_visible(session, MeetingRoom, room_id, "meeting room")
    _check_active(room)
    await _check_class(session, room.organization_id, body.class_id)
    row = MeetingSession(organization_id=room.organization_id, room_id=room.id, host_id=caller_id, **body.model_dump())
    booking = Booking(room, body.starts_at, body.ends_at)
    return await _book(session, lookups, booking, lambda: add(session, row))


async def update_session(
    session: AsyncSession, lookups: Lookups, session_id: uuid.UUID, body: schemas.SessionUpdate
) -> MeetingSession:
    row = await managed_session(session, session_id, "change", lock=True)
    values = body.values()
    state = values.get("state", row.state)
    if state != row.state and (row.state, state) not in TRANSITIONS:
        raise INVALID_TRANSITION(
            f"a {row.state.value} session cannot become {state.value}; "
            "allowed: scheduled → live → ended, scheduled or live → cancelled"
        )
    starts_at, ends_at = values.get("starts_at", row.starts_at), values.get("ends_at", row.ends_at)
    room_id = values.get("room_id", row.room_id)
    moved = (starts_at, ends_at, room_id) != (row.starts_at, row.ends_at, row.room_id)
    if moved and row.state in CLOSED:
        raise SESSION_CLOSED(f"a {row.state.value} session cannot be rescheduled")
    if not starts_at < ends_at:
        raise VALIDATION("starts_at must be before ends_at")
    room = await _room_for_booking(session, room_id, row.organization_id) if moved else None
    if "class_id" in values:
        await _check_class(session, row.organization_id, values["class_id"])
    if not values:
        return row

    async def write() -> MeetingSession:
        return await change(session, MeetingSession, session_id, values, "meeting session")

    if room is None:
        return await write()
    return await _book(session, lookups, Booking(room, starts_at, ends_at, session_id), write)
