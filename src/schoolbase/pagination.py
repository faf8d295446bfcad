"""Keyset (cursor) pagination over (created_at, id): stable under inserts, no OFFSET scans."""

import base64
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.errors import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


async def page_params(
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError, AttributeError) as exc:  # uuid.UUID(<non-str>) raises AttributeError
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from exc


async def paginate(session: AsyncSession, stmt: Select, model: Any, params: PageParams) -> tuple[list, str | None]:
    """Run ``stmt`` (selecting ``model`` first) one page at a time; returns rows and the next cursor."""
    order = (model.created_at, model.id)
    if params.cursor:
        stmt = stmt.where(tuple_(*order) > decode_cursor(params.cursor))
    rows = (await session.execute(stmt.order_by(*order).limit(params.limit + 1))).all()
    if len(rows) <= params.limit:
        return rows, None
    last = rows[params.limit - 1][0]
    return rows[: params.limit], encode_cursor(last.created_at, last.id)
