"""Meeting rooms: every member of the organization sees them; org admins and teachers
create them, and the owner or an org admin changes and deletes them (row-level security)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.meetings import schemas
from schoolbase.models import MeetingRoom, Organization
from schoolbase.pagination import Page, PageParams, page_of


async def list_rooms(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page[schemas.RoomOut]:
    stmt = select(MeetingRoom).where(MeetingRoom.organization_id == organization_id)
    return await page_of(session, stmt, MeetingRoom, paging, schemas.RoomOut)


async def create_room(
    session: AsyncSession, caller_id: uuid.UUID, organization_id: uuid.UUID, body: schemas.RoomCreate
) -> MeetingRoom:
    """Org admins and teachers; the creator owns the room."""
    await get_visible(session, Organization, organization_id, "organization")
    return await add(session, MeetingRoom(organization_id=organization_id, owner_id=caller_id, **body.model_dump()))


async def get_room(session: AsyncSession, room_id: uuid.UUID) -> MeetingRoom:
    return await get_visible(session, MeetingRoom, room_id, "meeting room")


async def update_room(session: AsyncSession, room_id: uuid.UUID, body: schemas.RoomUpdate) -> MeetingRoom:
    return await change(session, MeetingRoom, room_id, body.values(), "meeting room")


async def delete_room(session: AsyncSession, room_id: uuid.UUID) -> None:
    """The room's sessions go with it."""
    await remove(session, MeetingRoom, room_id, "meeting room")
