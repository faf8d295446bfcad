"""Row helpers shared by every domain's services. Every statement runs as the caller,
so row-level security decides what exists: an update or delete that touches nothing
is told apart as 403 (visible but not theirs to change) or 404 (not visible at all).
"""

import uuid
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.problems import forbidden, not_found


async def _visible(session: AsyncSession, model: Any, row_id: uuid.UUID, *where: Any) -> bool:
    return bool(await session.scalar(select(exists().where(model.id == row_id, *where))))


async def get_visible(session: AsyncSession, model: Any, row_id: uuid.UUID, what: str) -> Any:
    row = await session.get(model, row_id)
    if row is None:
        raise not_found(what)
    return row


async def change(session: AsyncSession, model: Any, row_id: uuid.UUID, values: dict, what: str) -> Any:
    if not values:
        return await get_visible(session, model, row_id, what)
    row = await session.scalar(update(model).where(model.id == row_id).values(**values).returning(model))
    if row is None:
        raise (
            forbidden(f"you may not change this {what}") if await _visible(session, model, row_id) else not_found(what)
        )
    return row


async def remove(session: AsyncSession, model: Any, row_id: uuid.UUID, what: str, *where: Any) -> None:
    deleted = await session.scalar(delete(model).where(model.id == row_id, *where).returning(model.id))
    if deleted is None:
        visible = await _visible(session, model, row_id, *where)
        raise forbidden(f"you may not delete this {what}") if visible else not_found(what)


async def add(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row
