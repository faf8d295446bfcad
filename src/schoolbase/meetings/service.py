"""Meeting rooms, sessions, participants, attendance and action items.

Every query runs as the caller, so row-level security decides what exists for
them (ACCESS.md, "Resource portal and meetings"). Two questions the caller's
own rights cannot answer are asked through ``Lookups``, as ``service_role``,
with fixed and narrow queries:

- which session is in the way when the room is already booked: the exclusion
  constraint ``meeting_sessions_no_overlap`` refuses the write, but the session
  in the way may be one the caller cannot read (another teacher's). Only its id
  and time range are fetched; its id and title are shown only if the caller can
  read it under RLS, otherwise just the time range. The constraint fires only
  after the caller's write passed the insert/update policies, so only someone
  allowed to book the room learns when it is busy.
- whether a person is a member of the organization, when a host invites them:
  a teacher may not read students' memberships, yet may invite any member.

Neither lookup changes anything, and each is one autocommit statement on its
own connection, outside the request's transaction.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible
from schoolbase.db.engine import Database
from schoolbase.errors import sqlstate
from schoolbase.meetings import schemas
from schoolbase.models import (
    ActionItemState,
    Class,
    Enrollment,
    MeetingActionItem,
    MeetingParticipant,
    MeetingRoom,
    MeetingSession,
    MeetingState,
    MembershipRole,
    Organization,
    User,
)
from schoolbase.pagination import PageParams, paginate_by
from schoolbase.problems import (
    INVALID_ASSIGNEE,
    INVALID_CLASS,
    INVALID_ROOM,
    INVALID_TRANSITION,
    NOT_A_MEMBER,
    NOT_JOINED,
    ROOM_FULL,
    ROOM_INACTIVE,
    SESSION_CLOSED,
    SESSION_OVERLAP,
    VALIDATION,
    Problem,
    forbidden,
    not_found,
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


class Lookups:
    """Narrow ``service_role`` reads that the caller's own rights cannot answer (see the module doc)."""

    _OVERLAPPING = text(
        """
        select id, starts_at, ends_at from public.meeting_sessions
        where organization_id = :org and room_id = :room and state <> 'cancelled'
          and tstzrange(starts_at, ends_at, '[)') && tstzrange(:starts, :ends, '[)')
          and (cast(:exclude as uuid) is null or id <> cast(:exclude as uuid))
        order by starts_at, id
        limit 1
        """
    )
    _IS_MEMBER = text("select exists (select from public.memberships where organization_id = :org and user_id = :user)")

    def __init__(self, db: Database) -> None:
        self.db = db

    async def session_in_the_way(
        self,
        org_id: uuid.UUID,
        room_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        exclude: uuid.UUID | None,
    ) -> Any:
        async with self.db.service_statement() as conn:
            params = {"org": org_id, "room": room_id, "starts": starts_at, "ends": ends_at, "exclude": exclude}
            return (await conn.execute(self._OVERLAPPING, params)).first()

    async def is_member(self, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        async with self.db.service_statement() as conn:
            return bool(await conn.scalar(self._IS_MEMBER, {"org": org_id, "user": user_id}))


def conflict(kind: str, title: str, detail: str) -> Problem:
    return Problem(409, kind, title, detail)


async def manages(session: AsyncSession, organization_id: uuid.UUID, session_id: uuid.UUID | None = None) -> bool:
    """Is the caller a super admin, an org admin of the organization, or the host of the session?"""
    return bool(
        await session.scalar(
            text(
                "select private.is_super_admin()"
                " or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
                " or cast(:sid as uuid) in (select private.hosted_session_ids())"
            ),
            {"org": organization_id, "sid": session_id},
        )
    )


async def keyset_by_start(session: AsyncSession, stmt: Select, params: PageParams) -> tuple[list, str | None]:
    """Sessions (``stmt`` selects MeetingSession) one page at a time in schedule order: (starts_at, id)."""
    rows, cursor = await paginate_by(
        session, stmt, params, (MeetingSession.starts_at, MeetingSession.id), lambda row: (row[0].starts_at, row[0].id)
    )
    return [row[0] for row in rows], cursor


def _window(stmt: Select, since: datetime | None, until: datetime | None) -> Select:
    if since is not None:
        stmt = stmt.where(MeetingSession.starts_at >= since)
    if until is not None:
        stmt = stmt.where(MeetingSession.starts_at < until)
    return stmt


# Rooms


def rooms_query(organization_id: uuid.UUID) -> Select:
    return select(MeetingRoom).where(MeetingRoom.organization_id == organization_id)


async def create_room(
    session: AsyncSession, caller_id: uuid.UUID, organization_id: uuid.UUID, body: schemas.RoomCreate
) -> MeetingRoom:
    """Org admins and teachers; the creator owns the room."""
    await get_visible(session, Organization, organization_id, "organization")
    return await add(session, MeetingRoom(organization_id=organization_id, owner_id=caller_id, **body.model_dump()))


# Sessions


async def _room_for_booking(session: AsyncSession, room_id: uuid.UUID, organization_id: uuid.UUID) -> MeetingRoom:
    room = await session.get(MeetingRoom, room_id)
    if room is None or room.organization_id != organization_id:
        raise INVALID_ROOM(f"meeting room {room_id} does not exist in this organization")
    if not room.active:
        raise ROOM_INACTIVE(f"meeting room {room.name!r} is inactive; sessions cannot be scheduled in it")
    return room


async def _check_class(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID | None) -> None:
    if class_id is None:
        return
    cls = await session.get(Class, class_id)
    if cls is None or cls.organization_id != organization_id:
        raise INVALID_CLASS(f"class {class_id} does not exist in the room's organization or is not visible to you")


async def _booking(
    session: AsyncSession,
    lookups: Lookups,
    room: MeetingRoom,
    starts_at: datetime,
    ends_at: datetime,
    session_id: uuid.UUID | None,
    write: Callable[[], Awaitable[T]],
) -> T:
    """Run ``write`` in a savepoint; when the room is taken, answer 409 naming the session in the way."""
    try:
        async with session.begin_nested():
            return await write()
    except IntegrityError as exc:
        if sqlstate(exc) != "23P01":
            raise
    raise await _overlap_problem(session, lookups, room, starts_at, ends_at, session_id)


async def _overlap_problem(
    session: AsyncSession,
    lookups: Lookups,
    room: MeetingRoom,
    starts_at: datetime,
    ends_at: datetime,
    session_id: uuid.UUID | None,
) -> Problem:
    found = await lookups.session_in_the_way(room.organization_id, room.id, starts_at, ends_at, session_id)
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
    if not room.active:
        raise ROOM_INACTIVE(f"meeting room {room.name!r} is inactive; sessions cannot be scheduled in it")
    await _check_class(session, room.organization_id, body.class_id)
    row = MeetingSession(organization_id=room.organization_id, room_id=room.id, host_id=caller_id, **body.model_dump())
    return await _booking(session, lookups, room, body.starts_at, body.ends_at, None, lambda: add(session, row))


async def managed_session(
    session: AsyncSession, session_id: uuid.UUID, action: str, *, lock: bool = False
) -> MeetingSession:
    """The session, if the caller hosts it or is an org admin: 404 when invisible, 403 when not theirs."""
    row = await get_visible(session, MeetingSession, session_id, "meeting session")
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
    return await _booking(session, lookups, room, starts_at, ends_at, session_id, write)


def room_sessions_query(room_id: uuid.UUID, since: datetime | None, until: datetime | None) -> Select:
    return _window(select(MeetingSession).where(MeetingSession.room_id == room_id), since, until)


def class_sessions_query(class_id: uuid.UUID, since: datetime | None, until: datetime | None) -> Select:
    return _window(select(MeetingSession).where(MeetingSession.class_id == class_id), since, until)


def my_sessions_query(caller_id: uuid.UUID, since: datetime | None, until: datetime | None) -> Select:
    mine = or_(
        MeetingSession.host_id == caller_id,
        MeetingSession.id.in_(select(MeetingParticipant.session_id).where(MeetingParticipant.user_id == caller_id)),
    )
    return _window(select(MeetingSession).where(mine), since, until)


# Participants


async def invite(
    session: AsyncSession, lookups: Lookups, session_id: uuid.UUID, body: schemas.ParticipantCreate
) -> MeetingParticipant:
    row = await managed_session(session, session_id, "invite people to", lock=True)
    if row.state in CLOSED:
        raise SESSION_CLOSED(f"cannot invite people to a {row.state.value} session")
    if not await lookups.is_member(row.organization_id, body.user_id):
        raise NOT_A_MEMBER(f"user {body.user_id} is not a member of the session's organization")
    room = await session.get(MeetingRoom, row.room_id)
    if room is not None and room.capacity is not None:
        invited = await session.scalar(
            select(func.count()).select_from(MeetingParticipant).where(MeetingParticipant.session_id == session_id)
        )
        if invited >= room.capacity:
            raise ROOM_FULL(f"meeting room {room.name!r} holds {room.capacity} participants")
    return await add(
        session, MeetingParticipant(organization_id=row.organization_id, session_id=row.id, user_id=body.user_id)
    )


async def uninvite(session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await managed_session(session, session_id, "remove people from")
    deleted = await session.scalar(
        delete(MeetingParticipant)
        .where(MeetingParticipant.session_id == session_id, MeetingParticipant.user_id == user_id)
        .returning(MeetingParticipant.id)
    )
    if deleted is None:
        raise not_found("participant")


def participants_query(session_id: uuid.UUID) -> Select:
    return select(MeetingParticipant).where(MeetingParticipant.session_id == session_id)


async def _own_row_update(
    session: AsyncSession, caller_id: uuid.UUID, session_id: uuid.UUID, values: dict, *where: Any
) -> MeetingParticipant | None:
    return await session.scalar(
        update(MeetingParticipant)
        .where(MeetingParticipant.session_id == session_id, MeetingParticipant.user_id == caller_id, *where)
        .values(**values)
        .returning(MeetingParticipant)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


async def join(session: AsyncSession, caller_id: uuid.UUID, session_id: uuid.UUID) -> MeetingParticipant:
    """Record that I joined: the first join time stays; joining again after leaving clears the leave time
    and records the time away (from that leave to now) in ``away``, which attendance does not count.
    The host joins without an invitation."""
    row = await get_visible(session, MeetingSession, session_id, "meeting session")
    if row.state in CLOSED:
        raise SESSION_CLOSED(f"cannot join a {row.state.value} session")
    gap = func.tstzmultirange(
        func.tstzrange(MeetingParticipant.left_at, func.greatest(MeetingParticipant.left_at, func.now()))
    )
    values = {
        "joined_at": func.coalesce(MeetingParticipant.joined_at, func.now()),
        "left_at": None,
        "away": case(
            (MeetingParticipant.left_at.is_(None), MeetingParticipant.away),
            else_=MeetingParticipant.away.op("+")(gap),
        ),
    }
    joined = await _own_row_update(session, caller_id, session_id, values)
    if joined is not None:
        return joined
    if row.host_id != caller_id:
        raise forbidden("you are not invited to this meeting session")
    return await session.scalar(
        insert(MeetingParticipant)
        .values(organization_id=row.organization_id, session_id=row.id, user_id=caller_id, joined_at=func.now())
        .returning(MeetingParticipant)
    )


async def leave(session: AsyncSession, caller_id: uuid.UUID, session_id: uuid.UUID) -> MeetingParticipant:
    """Record that I left (the first leave time stays until I join again)."""
    await get_visible(session, MeetingSession, session_id, "meeting session")
    now = func.greatest(func.now(), MeetingParticipant.joined_at)
    values = {"left_at": func.coalesce(MeetingParticipant.left_at, now)}
    left = await _own_row_update(session, caller_id, session_id, values, MeetingParticipant.joined_at.is_not(None))
    if left is not None:
        return left
    invited = await session.scalar(
        select(exists().where(MeetingParticipant.session_id == session_id, MeetingParticipant.user_id == caller_id))
    )
    if invited:
        raise NOT_JOINED("you have not joined this meeting session")
    raise forbidden("you are not a participant of this meeting session")


# Attendance


def seconds_present(p: Any = MeetingParticipant, s: Any = MeetingSession) -> ColumnElement:
    """Seconds of [joined_at, left_at or (still there) now, capped at the end] inside [starts_at, ends_at],
    less the time away between a leave and the next join (``away``)."""
    until = func.least(func.coalesce(p.left_at, func.least(func.now(), s.ends_at)), s.ends_at)
    since = func.greatest(p.joined_at, s.starts_at)
    present = func.tstzmultirange(func.tstzrange(since, func.greatest(since, until))).op("-")(p.away)
    piece = func.unnest(present).column_valued("piece")
    seconds = select(
        func.coalesce(func.sum(extract("epoch", func.upper(piece) - func.lower(piece))), literal(0))
    ).scalar_subquery()
    # greatest/least skip nulls, so someone who never joined is handled before them.
    return case((p.joined_at.is_(None), literal(0)), else_=seconds)


def minutes(seconds: Any) -> ColumnElement:
    return func.round(cast(seconds, Numeric) / 60, 2)


async def session_attendance(session: AsyncSession, session_id: uuid.UUID) -> schemas.SessionAttendance:
    row = await managed_session(session, session_id, "see the attendance of")
    stmt = (
        select(
            MeetingParticipant.user_id,
            User.display_name,
            MeetingParticipant.joined_at,
            MeetingParticipant.left_at,
            minutes(seconds_present()).label("minutes"),
        )
        .join(MeetingSession, MeetingSession.id == MeetingParticipant.session_id)
        .outerjoin(User, User.id == MeetingParticipant.user_id)
        .where(MeetingParticipant.session_id == session_id)
        .order_by(User.display_name, MeetingParticipant.user_id)
    )
    rows = (await session.execute(stmt)).all()
    return schemas.SessionAttendance(
        session_id=row.id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        participants=[
            schemas.AttendanceRow(
                user_id=r.user_id,
                display_name=r.display_name,
                joined_at=r.joined_at,
                left_at=r.left_at,
                minutes=float(r.minutes),
            )
            for r in rows
        ],
    )


async def class_attendance(
    session: AsyncSession, class_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> schemas.ClassAttendance:
    """Per enrolled student, minutes present and sessions attended across the class's sessions that start
    in [since, until). Counts the participant rows the caller may read: an org admin all of them, a teacher
    those of the sessions they host (ACCESS.md: participants are read by OA, the host and the person)."""
    cls = await get_visible(session, Class, class_id, "class")
    allowed = await session.scalar(
        text(
            "select private.is_super_admin()"
            " or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
            " or cast(:cid as uuid) in (select private.taught_class_ids())"
        ),
        {"org": cls.organization_id, "cid": class_id},
    )
    if not allowed:
        raise forbidden("only the class's teachers and org admins may see its attendance")
    sessions = _window(
        select(MeetingSession.id, MeetingSession.starts_at, MeetingSession.ends_at).where(
            MeetingSession.organization_id == cls.organization_id,
            MeetingSession.class_id == class_id,
            MeetingSession.state != MeetingState.cancelled,
        ),
        since,
        until,
    ).cte("class_sessions")
    present = (
        select(
            MeetingParticipant.user_id,
            MeetingParticipant.session_id,
            seconds_present(MeetingParticipant, sessions.c).label("seconds"),
        )
        .join(sessions, sessions.c.id == MeetingParticipant.session_id)
        .cte("present")
    )
    students = (
        select(Enrollment.user_id)
        .where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)
        .cte("students")
    )
    stmt = (
        select(
            students.c.user_id,
            User.display_name,
            minutes(func.coalesce(func.sum(present.c.seconds), 0)).label("minutes"),
            func.count(present.c.session_id).filter(present.c.seconds > 0).label("attended"),
        )
        .select_from(students)
        .outerjoin(present, present.c.user_id == students.c.user_id)
        .outerjoin(User, User.id == students.c.user_id)
        .group_by(students.c.user_id, User.display_name)
        .order_by(User.display_name, students.c.user_id)
    )
    rows = (await session.execute(stmt)).all()
    held = await session.scalar(select(func.count()).select_from(sessions))
    return schemas.ClassAttendance(
        class_id=class_id,
        since=since,
        until=until,
        sessions=held,
        students=[
            schemas.StudentAttendance(
                user_id=r.user_id, display_name=r.display_name, minutes=float(r.minutes), sessions_attended=r.attended
            )
            for r in rows
        ],
    )


# Action items


async def _check_assignee(session: AsyncSession, row: MeetingSession, assignee_id: uuid.UUID | None) -> None:
    if assignee_id is None or assignee_id == row.host_id:
        return
    invited = await session.scalar(
        select(exists().where(MeetingParticipant.session_id == row.id, MeetingParticipant.user_id == assignee_id))
    )
    if not invited:
        raise INVALID_ASSIGNEE(f"user {assignee_id} is neither the host nor a participant of this session")


def _settle_progress(values: dict, state_now: ActionItemState, progress_now: int | None = None) -> dict:
    """Done means 100 %: becoming done sets progress 100; done with any other progress is refused."""
    state = values.get("state") or state_now
    progress = values.get("progress_percent")
    if state == ActionItemState.done:
        if progress is not None and progress != 100:
            raise VALIDATION(f"an action item that is done has progress 100, not {progress}")
        if progress_now != 100:
            values["progress_percent"] = 100
    elif progress is None:
        values.pop("progress_percent", None)
    return values


async def create_action_item(
    session: AsyncSession, session_id: uuid.UUID, body: schemas.ActionItemCreate
) -> MeetingActionItem:
    row = await managed_session(session, session_id, "add action items to")
    await _check_assignee(session, row, body.assignee_id)
    values = _settle_progress(body.model_dump(), body.state)
    return await add(session, MeetingActionItem(organization_id=row.organization_id, session_id=row.id, **values))


async def update_action_item(
    session: AsyncSession, item_id: uuid.UUID, body: schemas.ActionItemUpdate
) -> MeetingActionItem:
    """The host or an org admin changes anything; the assignee only state and progress (a trigger holds them to it)."""
    item = await get_visible(session, MeetingActionItem, item_id, "action item")
    values = _settle_progress(body.values(), item.state, item.progress_percent)
    if values.get("assignee_id") is not None and await manages(session, item.organization_id, item.session_id):
        await _check_assignee(session, await session.get(MeetingSession, item.session_id), values["assignee_id"])
    return await change(session, MeetingActionItem, item_id, values, "action item")


def action_items_query(session_id: uuid.UUID) -> Select:
    return select(MeetingActionItem).where(MeetingActionItem.session_id == session_id)


def my_action_items_query(caller_id: uuid.UUID, states: list[ActionItemState]) -> Select:
    return (
        select(MeetingActionItem, MeetingSession.title, MeetingSession.starts_at)
        .outerjoin(MeetingSession, MeetingSession.id == MeetingActionItem.session_id)
        .where(MeetingActionItem.assignee_id == caller_id, MeetingActionItem.state.in_(states))
    )


def parse_states(raw: str) -> list[ActionItemState]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        states = [ActionItemState(name) for name in names]
    except ValueError as exc:
        choices = ", ".join(s.value for s in ActionItemState)
        raise VALIDATION(f"state: use a comma-separated list of {choices}") from exc
    if not states:
        raise VALIDATION("state: name at least one state")
    return states
