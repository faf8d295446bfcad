"""Keyset (cursor) pagination: stable under inserts, no OFFSET scans. Lists page over
(created_at, id) by default; ``paginate_by`` takes other keys, such as (rank, id) for search."""

import base64
import json
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.problems import INVALID_CURSOR
from schoolbase.validation import INT64_MAX, check_text, check_timestamp

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


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


MAX_CURSOR_LENGTH = 1024  # a cursor holds a few sort-key values; anything longer is forged
MAX_CURSOR_TEXT = 500


def _decode(value: Any, kind: type) -> Any:
    """One sort-key value of a cursor, of exactly the JSON type ``encode_cursor`` writes for
    ``kind`` and within what the database column can hold."""
    if kind is datetime and isinstance(value, str) and len(value) <= 40:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        return check_timestamp(moment)
    if kind is uuid.UUID and isinstance(value, str) and len(value) <= 36:
        return uuid.UUID(value)
    if kind is float and isinstance(value, float) and math.isfinite(value):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and -INT64_MAX <= value <= INT64_MAX:
        return value
    if kind is str and isinstance(value, str) and len(value) <= MAX_CURSOR_TEXT:
        return check_text(value)
    raise TypeError(f"expected {kind.__name__}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a sort key")


def encode_cursor(*values: Any) -> str:
    """A cursor holding the sort-key values of the last row of a page."""
    raw = json.dumps([_encode(v) for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type] = (datetime, uuid.UUID)) -> tuple:
    """The values of ``encode_cursor``, checked against the expected Python types of the sort keys,
    so a cursor from another list (or a forged one) is a 400, never a database error."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), parse_constant=_no_constant)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong number of values")
        return tuple(_decode(v, k) for v, k in zip(values, kinds, strict=True))
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise INVALID_CURSOR("use the next_cursor of a previous page") from exc


async def paginate_by(
    session: AsyncSession,
    stmt: Select,
    params: PageParams,
    keys: Sequence[ColumnElement],
    key_of: Callable[[Any], Sequence[Any]],
    *,
    descending: bool = False,
) -> tuple[list, str | None]:
    """Keyset pagination over any sort keys that are unique together (the last one is an id).

    ``keys`` are SQL expressions ``stmt`` is ordered by; ``key_of(row)`` gives their values for a
    returned row (for a computed key such as a rank, select it as a labelled column). A cursor
    holds the last row's values; the next page is the rows after that tuple in the sort order.
    """
    if params.cursor:
        after = decode_cursor(params.cursor, [key.type.python_type for key in keys])
        stmt = stmt.where(tuple_(*keys) < after if descending else tuple_(*keys) > after)
    order = [key.desc() for key in keys] if descending else list(keys)
    rows = (await session.execute(stmt.order_by(*order).limit(params.limit + 1))).all()
    if len(rows) <= params.limit:
        return rows, None
    return rows[: params.limit], encode_cursor(*key_of(rows[params.limit - 1]))


async def paginate(
    session: AsyncSession, stmt: Select, model: Any, params: PageParams, *, descending: bool = False
) -> tuple[list, str | None]:
    """Run ``stmt`` (selecting ``model`` first) one page at a time, oldest first (or newest first
    with ``descending``); returns rows and the next cursor."""
    return await paginate_by(
        session,
        stmt,
        params,
        (model.created_at, model.id),
        lambda row: (row[0].created_at, row[0].id),
        descending=descending,
    )


async def page_of(session: AsyncSession, stmt: Select, model: Any, params: PageParams, schema: type[BaseModel]) -> Page:
    """One page of ``model`` rows as ``schema`` items, with the cursor of the next page."""
    rows, cursor = await paginate(session, stmt, model, params)
    return Page(items=[schema.model_validate(row[0]) for row in rows], next_cursor=cursor)
