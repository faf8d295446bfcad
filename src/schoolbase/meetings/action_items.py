"""Action items of a meeting session: the host or an org admin creates and changes them and
assigns them to the host or a participant; the assignee moves only their state and progress
(a trigger holds them to it). Done means 100 % progress."""

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.meetings import schemas
from schoolbase.meetings.sessions import managed_session, manages, page_of_session
from schoolbase.models import ActionItemState, MeetingActionItem, MeetingParticipant, MeetingSession
from schoolbase.pagination import Page, PageParams, paginate
from schoolbase.problems import INVALID_ASSIGNEE, VALIDATION


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


async def list_action_items(
    session: AsyncSession, session_id: uuid.UUID, paging: PageParams
) -> Page[schemas.ActionItemOut]:
    return await page_of_session(session, MeetingActionItem, session_id, paging, schemas.ActionItemOut)


async def create_action_item(
    session: AsyncSession, session_id: uuid.UUID, body: schemas.ActionItemCreate
) -> MeetingActionItem:
    row = await managed_session(session, session_id, "add action items to")
    await _check_assignee(session, row, body.assignee_id)
    values = _settle_progress(body.model_dump(), body.state)
    return await add(session, MeetingActionItem(organization_id=row.organization_id, session_id=row.id, **values))


async def get_action_item(session: AsyncSession, item_id: uuid.UUID) -> MeetingActionItem:
    return await get_visible(session, MeetingActionItem, item_id, "action item")


async def update_action_item(
    session: AsyncSession, item_id: uuid.UUID, body: schemas.ActionItemUpdate
) -> MeetingActionItem:
    """The host or an org admin changes anything; the assignee only state and progress (a trigger holds them to it)."""
    item = await get_action_item(session, item_id)
    values = _settle_progress(body.values(), item.state, item.progress_percent)
    if values.get("assignee_id") is not None and await manages(session, item.organization_id, item.session_id):
        await _check_assignee(session, await session.get(MeetingSession, item.session_id), values["assignee_id"])
    return await change(session, MeetingActionItem, item_id, values, "action item")


async def delete_action_item(session: AsyncSession, item_id: uuid.UUID) -> None:
    await remove(session, MeetingActionItem, item_id, "action item")


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


async def my_action_items(
    session: AsyncSession, caller_id: uuid.UUID, states: str, paging: PageParams
) -> Page[schemas.MyActionItemOut]:
    """Action items assigned to the caller in the comma-separated ``states``, with their session's
    title and start when the caller can still see the session."""
    stmt = (
        select(MeetingActionItem, MeetingSession.title, MeetingSession.starts_at)
        .outerjoin(MeetingSession, MeetingSession.id == MeetingActionItem.session_id)
        .where(MeetingActionItem.assignee_id == caller_id, MeetingActionItem.state.in_(parse_states(states)))
    )
    rows, cursor = await paginate(session, stmt, MeetingActionItem, paging)
    items = [
        schemas.MyActionItemOut(
            **schemas.ActionItemOut.model_validate(item).model_dump(), session_title=title, session_starts_at=starts_at
        )
        for item, title, starts_at in rows
    ]
    return Page(items=items, next_cursor=cursor)
