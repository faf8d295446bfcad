"""Searching resources: filters, and full-text matching ranked best first.

The statement runs as the caller, so row-level security decides which resources can match.
"""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, cast, func, select
from sqlalchemy.dialects.postgresql import websearch_to_tsquery
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Resource, ResourceState, ResourceType
from schoolbase.pagination import Page, PageParams, paginate_by
from schoolbase.resources import schemas


@dataclass
class Search:
    stmt: Select
    keys: Sequence[ColumnElement]
    key_of: Callable[[Any], Sequence[Any]]
    ranked: bool


# A run of negations ("--x", "- - x", "-.-x"): PostgreSQL's tsquery parser keeps each on a stack
# of 32 and fails past it (XX000 "tsquery stack too small"), so a run becomes the one it means.
_NEGATIONS = re.compile(r"-(?:[^\w\"]*-)+")


def search_text(q: str) -> str:
    """``q`` for ``websearch_to_tsquery``: a run of negations becomes one "-" (odd) or none (even)."""
    return _NEGATIONS.sub(lambda run: "-" if run.group().count("-") % 2 else " ", q.strip())


def query(
    q: str | None = None,
    *,
    type: ResourceType | None = None,
    subject: str | None = None,
    grade_level: str | None = None,
    category_id: uuid.UUID | None = None,
    min_rating: float | None = None,
    organization_id: uuid.UUID | None = None,
    state: ResourceState | None = None,
    author_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> Search:
    """Resources the caller may read (RLS), filtered; with ``q`` a full-text match over title,
    tags and description (``websearch_to_tsquery``, the GIN index on ``search``) ranked by
    ``ts_rank``, best first; without it newest first. Keyset order: (rank, id) or (created_at, id)."""
    where: list[ColumnElement] = []
    if type is not None:
        where.append(Resource.type == type)
    if subject:
        where.append(func.lower(Resource.subject) == subject.strip().lower())
    if grade_level:
        where.append(Resource.grade_levels.contains([grade_level.strip()]))
    if category_id is not None:
        where.append(Resource.category_id.in_(select(func.private.category_subtree(category_id))))
    if min_rating is not None:
        where.append(Resource.rating_average >= min_rating)
    for column, value in (
        (Resource.organization_id, organization_id),
        (Resource.state, state),
        (Resource.author_id, author_id),
        (Resource.class_id, class_id),
    ):
        if value is not None:
            where.append(column == value)
    if q and q.strip():
        # The indexed match runs in private.resource_matches (see the migration for why);
        # joining back to resources applies row-level security to every row returned.
        matches = func.private.resource_matches(websearch_to_tsquery("english", search_text(q))).table_valued(
            "id", "rank", name="matches"
        )
        rank = cast(matches.c.rank, Float)
        stmt = select(Resource, rank.label("rank")).join(matches, matches.c.id == Resource.id).where(*where)
        return Search(stmt, (rank, Resource.id), lambda row: (row.rank, row[0].id), ranked=True)
    stmt = select(Resource).where(*where)
    return Search(stmt, (Resource.created_at, Resource.id), lambda row: (row[0].created_at, row[0].id), ranked=False)


async def page(session: AsyncSession, found: Search, paging: PageParams) -> Page[schemas.SearchHit]:
    """One page of ``found``, best (or newest) first, each hit with its rank when ranked."""
    rows, cursor = await paginate_by(session, found.stmt, paging, found.keys, found.key_of, descending=True)
    items = [
        schemas.SearchHit.model_validate(row[0]).model_copy(update={"rank": row.rank if found.ranked else None})
        for row in rows
    ]
    return Page(items=items, next_cursor=cursor)
