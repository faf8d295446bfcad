"""Who takes part in a meeting session: the host or an org admin invites members of the
organization (up to the room's capacity) and removes them; each participant records when
they join and leave. The host joins without an invitation."""

import uuid
from typing import Any

from sqlalchemy import case, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add
from schoolbase.meetings import schemas
from schoolbase.meetings.lookups import Lookups
from schoolbase.meetings.sessions import CLOSED, get_session, managed_session, page_of_session
from schoolbase.models import MeetingParticipant, MeetingRoom
from schoolbase.pagination import Page, PageParams
from schoolbase.problems import NOT_A_MEMBER, NOT_JOINED, ROOM_FULL, SESSION_CLOSED, forbidden, not_found


async def list_participants(
    session: AsyncSession, session_id: uuid.UUID, paging: PageParams
) -> Page[schemas.ParticipantOut]:
    """The host and org admins see everyone; a participant sees their own row (RLS)."""
    return await page_of_session(session, MeetingParticipant, session_id, paging, schemas.ParticipantOut)


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
    row = await get_session(session, session_id)
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
    await get_session(session, session_id)
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
