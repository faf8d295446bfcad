"""Reviews of resources: one rating (1–5, with an optional comment) per person per approved
resource they can read. Their author changes or withdraws them; an org admin removes any
(moderation). The rating average on the resource is kept by the database."""

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, remove
from schoolbase.errors import sqlstate
from schoolbase.models import Resource, ResourceReview, ResourceState
from schoolbase.pagination import Page, PageParams, paginate
from schoolbase.problems import NOT_FOUND, REVIEW_EXISTS, VALIDATION, forbidden
from schoolbase.resources import schemas
from schoolbase.resources.service import get_resource


async def _reviewable(session: AsyncSession, resource_id: uuid.UUID) -> Resource:
    resource = await get_resource(session, resource_id)
    if resource.state != ResourceState.approved:
        raise forbidden(f"only approved resources can be reviewed; this one is {resource.state.value}")
    return resource


def _mine(resource_id: uuid.UUID, user_id: uuid.UUID) -> tuple:
    return (ResourceReview.resource_id == resource_id, ResourceReview.user_id == user_id)


async def list_reviews(session: AsyncSession, resource_id: uuid.UUID, paging: PageParams) -> Page[schemas.ReviewOut]:
    """Newest first."""
    await get_resource(session, resource_id)
    stmt = select(ResourceReview).where(ResourceReview.resource_id == resource_id)
    rows, cursor = await paginate(session, stmt, ResourceReview, paging, descending=True)
    return Page(items=[schemas.ReviewOut.model_validate(row[0]) for row in rows], next_cursor=cursor)


async def create_review(
    session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID, body: schemas.ReviewCreate
) -> ResourceReview:
    """One review per person per readable, approved resource (RLS and a unique key say so too)."""
    resource = await _reviewable(session, resource_id)
    review = ResourceReview(
        organization_id=resource.organization_id, resource_id=resource_id, user_id=user_id, **body.model_dump()
    )
    try:
        return await add(session, review)
    except IntegrityError as exc:
        if sqlstate(exc) == "23505":
            raise REVIEW_EXISTS(
                f"you have already reviewed this resource; change your review with PUT /resources/{resource_id}/reviews"
            ) from exc
        raise


async def update_my_review(
    session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID, body: schemas.ReviewUpdate
) -> ResourceReview:
    values = body.model_dump(exclude_unset=True)
    if "rating" in values and values["rating"] is None:
        raise VALIDATION("rating: may not be null")
    await _reviewable(session, resource_id)
    mine = _mine(resource_id, user_id)
    if values:
        row = await session.scalar(
            update(ResourceReview)
            .where(*mine)
            .values(**values)
            .returning(ResourceReview)
            .execution_options(populate_existing=True)
        )
    else:
        row = await session.scalar(select(ResourceReview).where(*mine))
    if row is None:
        raise NOT_FOUND("you have not reviewed this resource")
    return row


async def delete_my_review(session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID) -> None:
    deleted = await session.scalar(
        delete(ResourceReview).where(*_mine(resource_id, user_id)).returning(ResourceReview.id)
    )
    if deleted is None:
        await get_resource(session, resource_id)
        raise NOT_FOUND("you have not reviewed this resource")


async def delete_review(session: AsyncSession, resource_id: uuid.UUID, review_id: uuid.UUID) -> None:
    """Its author or an org admin."""
    await remove(session, ResourceReview, review_id, "review", ResourceReview.resource_id == resource_id)
