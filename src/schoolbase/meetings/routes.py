import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from schoolbase.auth.deps import CurrentUser, Session, get_database
from schoolbase.db.engine import Database
from schoolbase.meetings import action_items, attendance, participants, rooms, schemas, sessions
from schoolbase.meetings.lookups import Lookups as RoomLookups
from schoolbase.models import MeetingActionItem, MeetingParticipant, MeetingRoom, MeetingSession
from schoolbase.pagination import Page, PageParams, page_params

router = APIRouter(tags=["meetings"])
Paging = Annotated[PageParams, Depends(page_params)]
Since = Annotated[AwareDatetime | None, Query(description="sessions starting at or after this time (with a zone)")]
Until = Annotated[AwareDatetime | None, Query(description="sessions starting before this time (with a zone)")]


async def get_lookups(db: Annotated[Database, Depends(get_database)]) -> RoomLookups:
    return RoomLookups(db)


Lookups = Annotated[RoomLookups, Depends(get_lookups)]


# Rooms


@router.post("/organizations/{organization_id}/meeting-rooms", response_model=schemas.RoomOut, status_code=201)
async def create_room(
    organization_id: uuid.UUID, body: schemas.RoomCreate, user: CurrentUser, session: Session
) -> MeetingRoom:
    """Org admins and teachers; the creator owns the room."""
    return await rooms.create_room(session, user.user_id, organization_id, body)


@router.get("/organizations/{organization_id}/meeting-rooms", response_model=Page[schemas.RoomOut])
async def list_rooms(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Every member sees the organization's rooms."""
    return await rooms.list_rooms(session, organization_id, paging)


@router.get("/meeting-rooms/{room_id}", response_model=schemas.RoomOut)
async def get_room(room_id: uuid.UUID, _: CurrentUser, session: Session) -> MeetingRoom:
    return await rooms.get_room(session, room_id)


@router.patch("/meeting-rooms/{room_id}", response_model=schemas.RoomOut)
async def update_room(room_id: uuid.UUID, body: schemas.RoomUpdate, _: CurrentUser, session: Session) -> MeetingRoom:
    """The owner or an org admin."""
    return await rooms.update_room(session, room_id, body)


@router.delete("/meeting-rooms/{room_id}", status_code=204)
async def delete_room(room_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """The owner or an org admin; the room's sessions go with it."""
    await rooms.delete_room(session, room_id)


# Sessions


@router.post("/meeting-rooms/{room_id}/sessions", response_model=schemas.SessionOut, status_code=201)
async def schedule(
    room_id: uuid.UUID, body: schemas.SessionCreate, user: CurrentUser, session: Session, lookups: Lookups
) -> MeetingSession:
    """Schedule a session hosted by me (a teacher or an org admin). 409 `session-overlap` when the room is
    taken, with `conflicting_session` (its id and title only if you may see it); 422 for an inactive room."""
    return await sessions.schedule(session, lookups, user.user_id, room_id, body)


@router.get("/meeting-rooms/{room_id}/sessions", response_model=Page[schemas.SessionOut])
async def list_room_sessions(
    room_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging, since: Since = None, until: Until = None
) -> Page:
    """The room's sessions I may see, in schedule order."""
    return await sessions.list_room_sessions(session, room_id, since, until, paging)


@router.get("/classes/{class_id}/meeting-sessions", response_model=Page[schemas.SessionOut])
async def list_class_sessions(
    class_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging, since: Since = None, until: Until = None
) -> Page:
    return await sessions.list_class_sessions(session, class_id, since, until, paging)


@router.get("/me/meeting-sessions", response_model=Page[schemas.SessionOut])
async def list_my_sessions(
    user: CurrentUser, session: Session, paging: Paging, since: Since = None, until: Until = None
) -> Page:
    """Sessions I host or am invited to."""
    return await sessions.list_my_sessions(session, user.user_id, since, until, paging)


@router.get("/meeting-sessions/{session_id}", response_model=schemas.SessionOut)
async def get_session(session_id: uuid.UUID, _: CurrentUser, session: Session) -> MeetingSession:
    return await sessions.get_session(session, session_id)


@router.patch("/meeting-sessions/{session_id}", response_model=schemas.SessionOut)
async def update_session(
    session_id: uuid.UUID, body: schemas.SessionUpdate, _: CurrentUser, session: Session, lookups: Lookups
) -> MeetingSession:
    """The host or an org admin: reschedule, retitle, or move the state (scheduled → live → ended;
    scheduled or live → cancelled). 409 `invalid-transition` or `session-overlap`."""
    return await sessions.update_session(session, lookups, session_id, body)


@router.delete("/meeting-sessions/{session_id}", status_code=204)
async def delete_session(session_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await sessions.delete_session(session, session_id)


# Participants and attendance


@router.get("/meeting-sessions/{session_id}/participants", response_model=Page[schemas.ParticipantOut])
async def list_participants(session_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """The host and org admins see everyone; a participant sees their own row."""
    return await participants.list_participants(session, session_id, paging)


@router.post("/meeting-sessions/{session_id}/participants", response_model=schemas.ParticipantOut, status_code=201)
async def invite(
    session_id: uuid.UUID, body: schemas.ParticipantCreate, _: CurrentUser, session: Session, lookups: Lookups
) -> MeetingParticipant:
    """The host or an org admin invites a member of the organization (422 `not-a-member` otherwise)."""
    return await participants.invite(session, lookups, session_id, body)


@router.delete("/meeting-sessions/{session_id}/participants/{user_id}", status_code=204)
async def uninvite(session_id: uuid.UUID, user_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await participants.uninvite(session, session_id, user_id)


@router.post("/meeting-sessions/{session_id}/join", response_model=schemas.ParticipantOut)
async def join(session_id: uuid.UUID, user: CurrentUser, session: Session) -> MeetingParticipant:
    """Record that I joined (now). Joining again after leaving reopens my attendance."""
    return await participants.join(session, user.user_id, session_id)


@router.post("/meeting-sessions/{session_id}/leave", response_model=schemas.ParticipantOut)
async def leave(session_id: uuid.UUID, user: CurrentUser, session: Session) -> MeetingParticipant:
    """Record that I left (now)."""
    return await participants.leave(session, user.user_id, session_id)


@router.get("/meeting-sessions/{session_id}/attendance", response_model=schemas.SessionAttendance)
async def session_attendance(session_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.SessionAttendance:
    """The host or an org admin: minutes each participant was present inside the session's window
    (someone still in the session counts until now, at most until the end)."""
    return await attendance.session_attendance(session, session_id)


@router.get("/classes/{class_id}/attendance", response_model=schemas.ClassAttendance)
async def class_attendance(
    class_id: uuid.UUID, _: CurrentUser, session: Session, since: Since = None, until: Until = None
) -> schemas.ClassAttendance:
    """The class's teachers and org admins: per student, minutes present and sessions attended across the
    class's sessions starting in [since, until). A teacher counts the sessions they host (whose participants
    they may read); an org admin counts all."""
    return await attendance.class_attendance(session, class_id, since, until)


# Action items


@router.get("/meeting-sessions/{session_id}/action-items", response_model=Page[schemas.ActionItemOut])
async def list_action_items(session_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await action_items.list_action_items(session, session_id, paging)


@router.post("/meeting-sessions/{session_id}/action-items", response_model=schemas.ActionItemOut, status_code=201)
async def create_action_item(
    session_id: uuid.UUID, body: schemas.ActionItemCreate, _: CurrentUser, session: Session
) -> MeetingActionItem:
    """The host or an org admin; the assignee must be the host or a participant (422 `invalid-assignee`)."""
    return await action_items.create_action_item(session, session_id, body)


@router.get("/meeting-action-items/{item_id}", response_model=schemas.ActionItemOut)
async def get_action_item(item_id: uuid.UUID, _: CurrentUser, session: Session) -> MeetingActionItem:
    return await action_items.get_action_item(session, item_id)


@router.patch("/meeting-action-items/{item_id}", response_model=schemas.ActionItemOut)
async def update_action_item(
    item_id: uuid.UUID, body: schemas.ActionItemUpdate, _: CurrentUser, session: Session
) -> MeetingActionItem:
    """The host or an org admin: anything. The assignee: state and progress only (403 otherwise).
    Becoming done sets progress 100; done with other progress is 422."""
    return await action_items.update_action_item(session, item_id, body)


@router.delete("/meeting-action-items/{item_id}", status_code=204)
async def delete_action_item(item_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await action_items.delete_action_item(session, item_id)


@router.get("/me/action-items", response_model=Page[schemas.MyActionItemOut])
async def my_action_items(
    user: CurrentUser,
    session: Session,
    paging: Paging,
    state: Annotated[str, Query(description="comma-separated states")] = "open,in_progress",
) -> Page:
    """Action items assigned to me across all sessions, open and in progress unless `state` says otherwise."""
    return await action_items.my_action_items(session, user.user_id, state, paging)
