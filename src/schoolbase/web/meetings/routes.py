"""The meetings pages: my week (sessions I host or take part in, my open action items), the
rooms and a room's week, scheduling (with the session in the way named when the room is
taken), a session (join, leave, participants, attendance, action items) and a class's
attendance. Each change goes through the meetings services the API uses, in the page's one
transaction as the person."""

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from schoolbase.meetings import action_items, attendance, participants, rooms, schemas, sessions
from schoolbase.meetings.lookups import Lookups
from schoolbase.problems import forbidden
from schoolbase.tenancy import service as tenancy
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession, database_of
from schoolbase.web.forms import attempt, problem_errors
from schoolbase.web.meetings import forms, views
from schoolbase.web.meetings.week import week_of
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


def _lookups(page: PageContext) -> Lookups:
    return Lookups(database_of(page.request))


@router.get("/meetings")
async def my_week(page: Page, session: PageSession, week: str | None = None) -> Response:
    shown = await views.my_week(session, page, week_of(week, page.time_zone))
    return render(
        page,
        "meetings/week.html",
        week=shown,
        items=await views.my_open_items(session, page),
        taught=await views.classes(session, page, taught=True) if page.has("teacher") else [],
    )


# Rooms


async def _rooms_page(page: PageContext, session, status: int = 200, errors=None, typed=None) -> Response:
    return render(
        page,
        "meetings/rooms.html",
        status,
        rooms=await views.room_list(session, page),
        may_create=views.may_schedule(page),
        errors=errors or {},
        typed=typed or {"name": "", "capacity": "", "join_url": "", "active": True},
    )


@router.get("/meetings/rooms")
async def room_list(page: Page, session: PageSession) -> Response:
    return await _rooms_page(page, session)


@router.post("/meetings/rooms")
async def create_room(page: Page, form: Form, session: PageSession) -> Response:
    if page.organization is None:
        raise forbidden("you are not a member of an organization")
    body, typed, errors = forms.room_form(form, schemas.RoomCreate)
    if body is not None:
        made, problem = await attempt(
            session, lambda: rooms.create_room(session, page.user_id, page.organization.id, body)
        )
        if problem is None:
            return page.redirect(f"/meetings/rooms/{made.id}", f"Room “{made.name}” created.")
        errors = problem_errors(problem)
    return await _rooms_page(page, session, 422 if body is None else problem.status, errors, typed)


async def _room_page(page: PageContext, session, room, week: str | None, status=200, errors=None, typed=None):
    return render(
        page,
        "meetings/room.html",
        status,
        room=room,
        week=await views.room_week(session, room.id, week_of(week, page.time_zone)),
        manages=views.manages_room(page, room),
        may_schedule=views.may_schedule(page),
        errors=errors or {},
        typed=typed
        or {"name": room.name, "capacity": room.capacity or "", "join_url": room.join_url or "", "active": room.active},
    )


@router.get("/meetings/rooms/{room_id}")
async def room_page(room_id: uuid.UUID, page: Page, session: PageSession, week: str | None = None) -> Response:
    return await _room_page(page, session, await views.room(session, page, room_id), week)


@router.post("/meetings/rooms/{room_id}")
async def update_room(room_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    room = await views.room(session, page, room_id)
    body, typed, errors = forms.room_form(form, schemas.RoomUpdate)
    if body is not None:
        done, problem = await attempt(session, lambda: rooms.update_room(session, room_id, body))
        if problem is None:
            return page.redirect(f"/meetings/rooms/{room_id}", f"Room “{done.name}” saved.")
        errors = problem_errors(problem)
    return await _room_page(page, session, room, None, 422 if body is None else problem.status, errors, typed)


@router.post("/meetings/rooms/{room_id}/delete")
async def delete_room(room_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    room = await views.room(session, page, room_id)
    name = room.name
    _, problem = await attempt(session, lambda: rooms.delete_room(session, room_id))
    if problem is not None:
        return await _room_page(page, session, room, None, problem.status, problem_errors(problem))
    return page.redirect("/meetings/rooms", f"Room “{name}” deleted.")


# Scheduling


async def _new_page(page: PageContext, session, room, status=200, errors=None, typed=None, overlap=None) -> Response:
    return render(
        page,
        "meetings/new.html",
        status,
        room=room,
        classes=await views.classes(session, page, taught=not page.has("org_admin")),
        people=await views.invitable(session, room.organization_id, [page.user_id]),
        errors=errors or {},
        overlap=overlap,
        typed=typed
        or {"title": "", "starts_at": "", "ends_at": "", "class_id": "", "participants": [], "invite_class": True},
    )


@router.get("/meetings/rooms/{room_id}/new")
async def new_session(room_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    room = await views.room(session, page, room_id)
    if not views.may_schedule(page):
        raise forbidden("Only teachers and org admins schedule sessions.")
    return await _new_page(page, session, room)


async def _schedule(session, page: PageContext, room_id: uuid.UUID, body, typed: dict) -> Any:
    """The session (as ``POST /meeting-rooms/{id}/sessions``), then its invitations."""
    made = await sessions.schedule(session, _lookups(page), page.user_id, room_id, body)
    invited = {uuid.UUID(value) for value in typed["participants"] if _is_uuid(value)}
    if typed["invite_class"] and body.class_id is not None:
        invited |= set(await views.class_students(session, body.class_id))
    for user_id in sorted(invited - {page.user_id}):
        await participants.invite(session, _lookups(page), made.id, schemas.ParticipantCreate(user_id=user_id))
    return made


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@router.post("/meetings/rooms/{room_id}/new")
async def schedule(room_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    room = await views.room(session, page, room_id)
    body, typed, errors = forms.session_form(form, page.time_zone)
    if body is None:
        return await _new_page(page, session, room, 422, errors, typed)
    made, problem = await attempt(session, lambda: _schedule(session, page, room_id, body, typed))
    if problem is None:
        return page.redirect(f"/meetings/sessions/{made.id}", f"“{made.title}” is scheduled.")
    overlap = forms.in_the_way(problem)
    errors = {} if overlap else problem_errors(problem)
    return await _new_page(page, session, room, problem.status, errors, typed, overlap)


# A session


async def _session_page(page: PageContext, session, session_id, status=200, errors=None, typed=None) -> Response:
    return render(
        page,
        "meetings/session.html",
        status,
        view=await views.session_view(session, page, session_id),
        errors=errors or {},
        typed=typed or {"title": "", "assignee_id": "", "due_date": "", "description": ""},
    )


@router.get("/meetings/sessions/{session_id}")
async def session_page(session_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _session_page(page, session, session_id)


async def _session_change(page: PageContext, session, session_id, change, notice: str, typed=None) -> Response:
    await sessions.get_session(session, session_id)  # another organization's: 404
    _, problem = await attempt(session, change)
    if problem is None:
        return page.redirect(f"/meetings/sessions/{session_id}", notice)
    return await _session_page(page, session, session_id, problem.status, problem_errors(problem), typed)


@router.post("/meetings/sessions/{session_id}/join")
async def join(session_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    change = lambda: participants.join(session, page.user_id, session_id)  # noqa: E731
    return await _session_change(page, session, session_id, change, "You joined the session.")


@router.post("/meetings/sessions/{session_id}/leave")
async def leave(session_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    change = lambda: participants.leave(session, page.user_id, session_id)  # noqa: E731
    return await _session_change(page, session, session_id, change, "You left the session.")


@router.post("/meetings/sessions/{session_id}/participants")
async def invite(session_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    chosen = str(form.get("user_id") or "")
    if not _is_uuid(chosen):
        return await _session_page(page, session, session_id, 422, {"user_id": "Choose a person to invite"})
    body = schemas.ParticipantCreate(user_id=uuid.UUID(chosen))
    change = lambda: participants.invite(session, _lookups(page), session_id, body)  # noqa: E731
    return await _session_change(page, session, session_id, change, "Invited.")


@router.post("/meetings/sessions/{session_id}/action-items")
async def add_item(session_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    body, typed, errors = forms.item_form(form)
    if body is None:
        return await _session_page(page, session, session_id, 422, errors, typed)
    change = lambda: action_items.create_action_item(session, session_id, body)  # noqa: E731
    return await _session_change(page, session, session_id, change, f"Action item “{body.title}” added.", typed)


@router.post("/meetings/action-items/{item_id}")
async def update_item(item_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    item = await action_items.get_action_item(session, item_id)
    manages = await sessions.manages(session, item.organization_id, item.session_id)
    body, errors = forms.item_update(form, f"item-{item_id}-", manages)
    if body is None:
        return await _session_page(page, session, item.session_id, 422, errors)
    change = lambda: action_items.update_action_item(session, item_id, body)  # noqa: E731
    return await _session_change(page, session, item.session_id, change, f"“{item.title}” updated.")


# A class's attendance


@router.get("/meetings/classes/{class_id}/attendance")
async def class_attendance(class_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    klass = await tenancy.get_class(session, class_id)
    views.look_at(page, klass.organization_id)
    report = await attendance.class_attendance(session, class_id, None, None)
    return render(page, "meetings/class_attendance.html", klass=klass, report=report)
