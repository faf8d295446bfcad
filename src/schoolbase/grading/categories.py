"""A class's weighted assignment categories. The weights of a class add up to at most
100 % (the database refuses more: 422, constraint ``assignment_categories_weights``)."""

import uuid

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.errors import sqlstate
from schoolbase.grading.schemas import CategoryCreate, CategoryOut, CategoryUpdate
from schoolbase.models import AssignmentCategory, Class
from schoolbase.pagination import Page, PageParams, page_of
from schoolbase.problems import CATEGORY_IN_USE, not_found


def categories_query(cls: Class) -> Select:
    """The class's categories, found through the organization-first index."""
    return select(AssignmentCategory).where(
        AssignmentCategory.organization_id == cls.organization_id, AssignmentCategory.class_id == cls.id
    )


async def list_categories(session: AsyncSession, class_id: uuid.UUID, params: PageParams) -> Page:
    cls = await get_visible(session, Class, class_id, "class")
    return await page_of(session, categories_query(cls), AssignmentCategory, params, CategoryOut)


async def create_category(session: AsyncSession, class_id: uuid.UUID, body: CategoryCreate) -> AssignmentCategory:
    cls = await get_visible(session, Class, class_id, "class")
    return await add(
        session, AssignmentCategory(organization_id=cls.organization_id, class_id=class_id, **body.model_dump())
    )


async def get_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> AssignmentCategory:
    category = await get_visible(session, AssignmentCategory, category_id, "assignment category")
    if category.class_id != class_id:
        raise not_found("assignment category")
    return category


async def update_category(
    session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID, body: CategoryUpdate
) -> AssignmentCategory:
    await get_category(session, class_id, category_id)
    return await change(session, AssignmentCategory, category_id, body.values(), "assignment category")


async def delete_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> None:
    """409 while assignments are in the category."""
    await get_category(session, class_id, category_id)
    try:
        async with session.begin_nested():
            await remove(session, AssignmentCategory, category_id, "assignment category")
    except IntegrityError as exc:
        if sqlstate(exc) != "23503":
            raise
        raise CATEGORY_IN_USE("the category still has assignments: move or delete them first") from exc
