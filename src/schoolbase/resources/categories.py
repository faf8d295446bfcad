"""Resource categories: a hierarchy per organization. Every member reads them; org admins
create, rename, move and delete them (row-level security says so). The database refuses a
move into a category's own subtree and a category still in use; this module turns those
refusals into messages naming what is in the way."""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, get_visible, remove
from schoolbase.errors import sqlstate, violated_constraint
from schoolbase.models import Resource, ResourceCategory
from schoolbase.pagination import Page, PageParams, paginate_by
from schoolbase.problems import (
    CATEGORY_CYCLE,
    CATEGORY_IN_USE,
    CONFLICT,
    INVALID_REFERENCE,
    VALIDATION,
    Problem,
    forbidden,
    not_found,
)
from schoolbase.resources import schemas


async def list_categories(
    session: AsyncSession,
    organization_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    top_level: bool,
    paging: PageParams,
) -> Page[schemas.CategoryOut]:
    """The organization's categories by name: those under ``parent_id``, or only the top level."""
    stmt = select(ResourceCategory).where(ResourceCategory.organization_id == organization_id)
    if parent_id is not None:
        stmt = stmt.where(ResourceCategory.parent_id == parent_id)
    elif top_level:
        stmt = stmt.where(ResourceCategory.parent_id.is_(None))
    keys = (ResourceCategory.name, ResourceCategory.id)
    rows, cursor = await paginate_by(session, stmt, paging, keys, lambda row: (row[0].name, row[0].id))
    return Page(items=[schemas.CategoryOut.model_validate(row[0]) for row in rows], next_cursor=cursor)


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> ResourceCategory:
    return await get_visible(session, ResourceCategory, category_id, "category")


async def _parent_in(session: AsyncSession, organization_id: uuid.UUID, parent_id: uuid.UUID) -> ResourceCategory:
    parent = await session.get(ResourceCategory, parent_id)
    if parent is None or parent.organization_id != organization_id:
        raise INVALID_REFERENCE(f"parent category {parent_id} does not exist in this organization")
    return parent


def _duplicate_name(name: str | None) -> Problem:
    return CONFLICT(f"a category named {name!r} already exists at this level; choose another name or parent")


def _cycle(name: str, parent_name: str) -> Problem:
    detail = (
        f"cannot move category {name!r} into itself"
        if name == parent_name
        else f"cannot move category {name!r} under {parent_name!r}: {parent_name!r} is inside {name!r}, "
        "so the move would make a cycle"
    )
    return CATEGORY_CYCLE(detail, constraint="resource_categories_no_cycle")


async def create_category(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.CategoryCreate
) -> ResourceCategory:
    if body.parent_id is not None:
        await _parent_in(session, organization_id, body.parent_id)
    try:
        return await add(session, ResourceCategory(organization_id=organization_id, **body.model_dump()))
    except IntegrityError as exc:
        if sqlstate(exc) == "23505":
            raise _duplicate_name(body.name) from exc
        raise


async def update_category(
    session: AsyncSession, category_id: uuid.UUID, body: schemas.CategoryUpdate
) -> ResourceCategory:
    """Rename and move (a new ``parent_id``). The database refuses a move into the category's own
    subtree (trigger ``resource_categories_no_cycle``); this turns that into a 422 naming both."""
    values = body.model_dump(exclude_unset=True)
    if "name" in values and values["name"] is None:
        raise VALIDATION("name: a category needs a name")
    category = await get_category(session, category_id)
    parent = None
    if values.get("parent_id") is not None:
        if values["parent_id"] == category_id:
            raise _cycle(category.name, category.name)
        parent = await _parent_in(session, category.organization_id, values["parent_id"])
    if not values:
        return category
    try:
        row = await session.scalar(
            update(ResourceCategory)
            .where(ResourceCategory.id == category_id)
            .values(**values)
            .returning(ResourceCategory)
            .execution_options(populate_existing=True)
        )
    except DBAPIError as exc:
        state, constraint = sqlstate(exc), violated_constraint(exc)
        if constraint == "resource_categories_no_cycle" and parent is not None:
            raise _cycle(category.name, parent.name) from exc
        if state == "23505":
            raise _duplicate_name(values.get("name", category.name)) from exc
        raise
    if row is None:
        raise forbidden("only an organization admin changes categories")
    return row


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    """Refused with 409 while subcategories or resources still refer to it (the foreign keys say
    so; the savepoint keeps the transaction usable to count them for the message)."""
    try:
        async with session.begin_nested():
            await remove(session, ResourceCategory, category_id, "category")
    except IntegrityError as exc:
        if sqlstate(exc) != "23503":
            raise
        category = await get_category(session, category_id)
        children, resources = (
            await session.execute(
                select(
                    select(func.count()).where(ResourceCategory.parent_id == category_id).scalar_subquery(),
                    select(func.count()).where(Resource.category_id == category_id).scalar_subquery(),
                )
            )
        ).one()
        raise CATEGORY_IN_USE(
            f"category {category.name!r} still has {children} subcategories and {resources} resources; "
            "move or delete them first",
            subcategories=children,
            resources=resources,
        ) from exc


async def subtree(session: AsyncSession, category_id: uuid.UUID) -> list[schemas.SubtreeCategory]:
    """The category and everything below it, in one query (``private.category_subtree``), in
    tree order: each category followed by its children, siblings by name."""
    rows = (
        await session.scalars(
            select(ResourceCategory)
            .where(ResourceCategory.id.in_(select(func.private.category_subtree(category_id))))
            .order_by(ResourceCategory.name, ResourceCategory.id)
        )
    ).all()
    if not rows:
        raise not_found("category")
    children: dict[uuid.UUID | None, list[ResourceCategory]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[schemas.SubtreeCategory] = []
    stack = [(next(r for r in rows if r.id == category_id), 0)]
    while stack:
        row, depth = stack.pop()
        out.append(schemas.SubtreeCategory(**schemas.CategoryOut.model_validate(row).model_dump(), depth=depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(row.id, [])))
    return out
