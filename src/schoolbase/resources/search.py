"""Searching resources: filters, and full-text matching ranked best first.

Every statement runs as the caller, so row-level security decides which resources can match.

A query is matched as ``websearch_to_tsquery('english', q)`` against the ``search`` column and
ranked by its best word: a resource's rank is the highest ``ts_rank`` of any one lexeme of the
query in it (for one word exactly ``ts_rank``). That rank is stored per resource and lexeme in
``private.resource_terms`` (migration 20261201_020000), so the first page is read in rank order
from that table's index, a page's worth of rows, over the rows the caller may read only
(``walk``). Only when that walk cannot fill the page (few matches among the query's words, or
the last page) are all the matches ranked (``ranked_matches``).
"""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    REAL,
    ColumnElement,
    Float,
    Select,
    Text,
    and_,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    table,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID, websearch_to_tsquery
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Organization, Resource, ResourceState, ResourceType
from schoolbase.pagination import Page, PageParams, decode_cursor, paginate_by
from schoolbase.resources import schemas

TERMS = table(
    "resource_terms",
    column("organization_id", UUID(as_uuid=True)),
    column("lexeme", Text),
    column("rank", REAL),
    column("resource_id", UUID(as_uuid=True)),
    schema="private",
)
# How many of the query's index entries one page may read before the search ranks every match
# instead: the walk is cheap per entry, the full ranking costs in proportion to the matches.
WALK = 1000
# Organizations a search without an organization filter walks one by one (the index starts
# with the organization); a caller who reads more (the super admin, the server) ranks matches.
WALK_ORGANIZATIONS = 8


@dataclass
class Search:
    q: str | None
    where: list[ColumnElement]
    organization_id: uuid.UUID | None

    @property
    def ranked(self) -> bool:
        return bool(self.q and self.q.strip())


@dataclass
class Plan:
    """A statement ordered by ``keys``, each row a resource first; ``key_of`` gives a row's keys."""

    stmt: Select
    keys: Sequence[ColumnElement]
    key_of: Callable[[Any], Sequence[Any]]


# A run of negations ("--x", "- - x", "-.-x"): PostgreSQL's tsquery parser keeps each on a stack
# of 32 and fails past it (XX000 "tsquery stack too small"), so a run becomes the one it means.
_NEGATIONS = re.compile(r"-(?:[^\w\"]*-)+")


def search_text(q: str) -> str:
    """``q`` for ``websearch_to_tsquery``: a run of negations becomes one "-" (odd) or none (even)."""
    return _NEGATIONS.sub(lambda run: "-" if run.group().count("-") % 2 else " ", q.strip())


def tsquery(q: str) -> ColumnElement:
    return websearch_to_tsquery("english", search_text(q))


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
    tags and description (``websearch_to_tsquery``), best first by the rank of the query's best
    word in each; without it newest first. Keyset order: (rank, id) or (created_at, id)."""
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
    for column_, value in (
        (Resource.organization_id, organization_id),
        (Resource.state, state),
        (Resource.author_id, author_id),
        (Resource.class_id, class_id),
    ):
        if value is not None:
            where.append(column_ == value)
    return Search(q, where, organization_id)


def newest(found: Search) -> Plan:
    return Plan(
        select(Resource).where(*found.where),
        (Resource.created_at, Resource.id),
        lambda row: (row[0].created_at, row[0].id),
    )


def query_lexemes(q: str) -> Select:
    """The distinct lexemes of the query, sorted: each quoted operand of the tsquery's text,
    read back as tsvector input reads a quoted lexeme (quotes and backslashes unescaped)."""
    operand = r"'(?:[^'\\]|''|\\.)*'"
    quoted = (
        func.regexp_matches(cast(tsquery(q), Text), operand, "g")
        .table_valued(column("m", ARRAY(Text)))
        .render_derived("quoted")
    )
    lexeme = func.unnest(func.tsvector_to_array(cast(quoted.c.m[1], TSVECTOR))).table_valued("lexeme").render_derived()
    return select(lexeme.c.lexeme).select_from(quoted.join(lexeme, true())).distinct().order_by(lexeme.c.lexeme)


def term_ranks(lexemes: Sequence[str]) -> list[ColumnElement]:
    """The ts_rank of each of ``lexemes`` in a resource's search vector, as the terms store it."""
    return [func.private.resource_term_rank(Resource.search, lexeme, type_=REAL) for lexeme in lexemes]


def best_rank(lexemes: Sequence[str]) -> ColumnElement:
    """A resource's rank: the highest ts_rank of one of ``lexemes`` in its search vector."""
    return func.greatest(*term_ranks(lexemes), type_=REAL)


def walk(found: Search, lexemes: Sequence[str], organizations: Sequence[uuid.UUID], after: tuple | None) -> Plan:
    """Index entries of the query's lexemes in the caller's rows of ``private.resource_terms``,
    merged in rank order (each list is read backwards from the index, from the cursor on), at
    most ``WALK`` of them; each joined to its resource, kept if the resource matches the query
    and the filters, and only at the entry of its best word, so each resource comes once."""
    lists = [
        select(TERMS.c.organization_id, TERMS.c.lexeme, TERMS.c.rank, TERMS.c.resource_id)
        .where(
            TERMS.c.organization_id == organization,
            TERMS.c.lexeme == lexeme,
            *([tuple_(TERMS.c.rank, TERMS.c.resource_id) < after] if after else []),
        )
        .order_by(TERMS.c.rank.desc(), TERMS.c.resource_id.desc())
        .limit(WALK)
        for organization in organizations
        for lexeme in lexemes
    ]
    merged = (union_all(*lists) if len(lists) > 1 else lists[0]).subquery("lists")
    entries = select(merged).order_by(merged.c.rank.desc(), merged.c.resource_id.desc()).limit(WALK).subquery("entries")
    stmt = (
        select(Resource, cast(entries.c.rank, Float).label("rank"))
        .join(
            entries, and_(entries.c.organization_id == Resource.organization_id, entries.c.resource_id == Resource.id)
        )
        .where(Resource.search.bool_op("@@")(tsquery(found.q)), *found.where)
    )
    if len(lexemes) > 1:
        stmt = stmt.where(or_(*(_best_at(entries, lexemes, k) for k in range(len(lexemes)))))
    return Plan(stmt, (entries.c.rank, entries.c.resource_id), lambda row: (row.rank, row[0].id))


def _best_at(entries, lexemes: Sequence[str], k: int) -> ColumnElement:
    """The entry is of the ``k``-th lexeme, and that is the resource's best word: no word before
    it ranks as high, none after it higher (the entry's rank is that word's, as stored)."""
    ranks = term_ranks(lexemes)
    return and_(
        entries.c.lexeme == lexemes[k],
        *(ranks[j] < entries.c.rank for j in range(k)),
        *(ranks[j] <= entries.c.rank for j in range(k + 1, len(lexemes))),
    )


def ranked_matches(found: Search, lexemes: Sequence[str]) -> Plan:
    """Every match, each ranked: the GIN index finds them in ``private.resource_matches`` (see its
    migration for why there), joining back to resources applies row-level security."""
    matches = func.private.resource_matches(tsquery(found.q)).table_valued("id", "rank", name="matches")
    rank = cast(best_rank(lexemes), Float)
    stmt = select(Resource, rank.label("rank")).join(matches, matches.c.id == Resource.id).where(*found.where)
    return Plan(stmt, (rank, Resource.id), lambda row: (row.rank, row[0].id))


async def page(session: AsyncSession, found: Search, paging: PageParams) -> Page[schemas.SearchHit]:
    """One page of ``found``, best (or newest) first, each hit with its rank when ranked."""
    if not found.ranked:
        rows, cursor = await _rows(session, newest(found), paging)
        return Page(items=[schemas.SearchHit.model_validate(row[0]) for row in rows], next_cursor=cursor)
    # One round trip: the query's lexemes, and the organizations to walk.
    readable = select(Organization.id).order_by(Organization.id).limit(WALK_ORGANIZATIONS + 1)
    lexemes, organizations = (
        await session.execute(
            select(
                func.array(query_lexemes(found.q).scalar_subquery()),
                literal([found.organization_id]) if found.organization_id else func.array(readable.scalar_subquery()),
            )
        )
    ).one()
    if not lexemes:  # stop words only: the query matches nothing
        return Page(items=[], next_cursor=None)
    rows, cursor = [], None
    if organizations and len(organizations) <= WALK_ORGANIZATIONS:
        after = decode_cursor(paging.cursor, (float, uuid.UUID)) if paging.cursor else None
        rows, cursor = await _rows(session, walk(found, lexemes, organizations, after), paging)
    if cursor is None:
        rows, cursor = await _rows(session, ranked_matches(found, lexemes), paging)
    items = [schemas.SearchHit.model_validate(row[0]).model_copy(update={"rank": row.rank}) for row in rows]
    return Page(items=items, next_cursor=cursor)


async def _rows(session: AsyncSession, plan: Plan, paging: PageParams) -> tuple[list, str | None]:
    return await paginate_by(session, plan.stmt, paging, plan.keys, plan.key_of, descending=True)
