"""The resource portal: categories (a hierarchy), resources with an approval workflow,
full-text search, reviews, and AI-generated worksheets and quizzes.

Every query runs as the caller, so row-level security decides what exists for them
(students: approved resources of their organization, class-scoped ones only for their
classes). The service adds what the database cannot say well: which of several
reasons a refusal had (404 / 403 / 409), and messages a person can act on.
"""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    bindparam,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, websearch_to_tsquery
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.ai.gateway import Gateway, answer_text, usage_log_id
from schoolbase.ai.schemas import ChatMessage, MessageRequest
from schoolbase.db.crud import add, get_visible, remove
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.errors import sqlstate, violated_constraint
from schoolbase.models import (
    AiFeature,
    Membership,
    MembershipRole,
    Resource,
    ResourceCategory,
    ResourceReview,
    ResourceState,
    ResourceType,
)
from schoolbase.problems import (
    AI_EMPTY_RESPONSE,
    CATEGORY_CYCLE,
    CATEGORY_IN_USE,
    CONFLICT,
    INVALID_REFERENCE,
    INVALID_STATE,
    NO_FILE,
    NOT_FOUND,
    ORGANIZATION_REQUIRED,
    REVIEW_EXISTS,
    VALIDATION,
    Problem,
    forbidden,
    not_found,
)
from schoolbase.resources import schemas

_IS_ORG_ADMIN = text(
    "select private.is_super_admin() or :org in (select private.org_ids_with_role('org_admin'))"
).bindparams(bindparam("org", type_=UUID(as_uuid=True)))


async def is_org_admin(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    return bool(await session.scalar(_IS_ORG_ADMIN, {"org": organization_id}))


async def resolve_organization(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID | None
) -> uuid.UUID:
    """The organization a new resource belongs to: the one named, else the only one where the
    caller teaches or administers. Whether they may create there is left to RLS."""
    if organization_id is not None:
        return organization_id
    found = (
        await session.scalars(
            select(Membership.organization_id)
            .where(
                Membership.user_id == user_id,
                Membership.role.in_([MembershipRole.teacher, MembershipRole.org_admin]),
            )
            .distinct()
            .limit(2)
        )
    ).all()
    if not found:
        raise forbidden("only teachers and organization admins create resources")
    if len(found) > 1:
        raise ORGANIZATION_REQUIRED(
            "you teach or administer in several organizations: say which one with organization_id"
        )
    return found[0]


# Categories


def categories_query(organization_id: uuid.UUID, parent_id: uuid.UUID | None, top_level: bool) -> Select:
    stmt = select(ResourceCategory).where(ResourceCategory.organization_id == organization_id)
    if parent_id is not None:
        stmt = stmt.where(ResourceCategory.parent_id == parent_id)
    elif top_level:
        stmt = stmt.where(ResourceCategory.parent_id.is_(None))
    return stmt


async def _parent_in(session: AsyncSession, organization_id: uuid.UUID, parent_id: uuid.UUID) -> ResourceCategory:
    parent = await session.get(ResourceCategory, parent_id)
    if parent is None or parent.organization_id != organization_id:
        raise INVALID_REFERENCE(f"parent category {parent_id} does not exist in this organization")
    return parent


def _duplicate_name(name: str | None) -> Problem:
    return CONFLICT(f"a category named {name!r} already exists at this level; choose another name or parent")


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
    category = await get_visible(session, ResourceCategory, category_id, "category")
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


def _cycle(name: str, parent_name: str) -> Problem:
    detail = (
        f"cannot move category {name!r} into itself"
        if name == parent_name
        else f"cannot move category {name!r} under {parent_name!r}: {parent_name!r} is inside {name!r}, "
        "so the move would make a cycle"
    )
    return CATEGORY_CYCLE(detail, constraint="resource_categories_no_cycle")


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    """Refused with 409 while subcategories or resources still refer to it (the foreign keys say
    so; the savepoint keeps the transaction usable to count them for the message)."""
    try:
        async with session.begin_nested():
            await remove(session, ResourceCategory, category_id, "category")
    except IntegrityError as exc:
        if sqlstate(exc) != "23503":
            raise
        category = await get_visible(session, ResourceCategory, category_id, "category")
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


# Resources


async def create_resource(session: AsyncSession, user_id: uuid.UUID, body: schemas.ResourceCreate) -> Resource:
    organization_id = await resolve_organization(session, user_id, body.organization_id)
    values = body.model_dump(exclude={"organization_id"})
    return await add(session, Resource(organization_id=organization_id, author_id=user_id, **values))


async def create_file_resource(
    session: AsyncSession, user_id: uuid.UUID, body: schemas.FileResourceCreate, key: str, content_type: str, size: int
) -> Resource:
    organization_id = await resolve_organization(session, user_id, body.organization_id)
    values = body.model_dump(exclude={"organization_id"})
    row = Resource(
        organization_id=organization_id,
        author_id=user_id,
        file_path=key,
        file_content_type=content_type,
        file_size=size,
        **values,
    )
    return await add(session, row)


def _returning(stmt: Any) -> Any:
    return stmt.returning(Resource).execution_options(populate_existing=True)


async def update_resource(session: AsyncSession, resource_id: uuid.UUID, body: schemas.ResourceUpdate) -> Resource:
    values = body.model_dump(exclude_unset=True)
    for required in ("title", "type"):
        if required in values and values[required] is None:
            raise VALIDATION(f"{required}: may not be null")
    if not values:
        return await get_visible(session, Resource, resource_id, "resource")
    row = await session.scalar(_returning(update(Resource).where(Resource.id == resource_id).values(**values)))
    if row is None:
        await get_visible(session, Resource, resource_id, "resource")
        raise forbidden(
            "only its author (while it is a draft or pending review, or rejected to revise it) or an org admin"
            " changes a resource"
        )
    return row


async def submit(session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID) -> Resource:
    """draft → pending_review, by the author; also rejected → pending_review, after revising it: the
    review (note, reviewer, time) stays, shown to the author, until the next decision replaces it."""
    row = await session.scalar(
        _returning(
            update(Resource)
            .where(
                Resource.id == resource_id,
                Resource.author_id == user_id,
                Resource.state.in_((ResourceState.draft, ResourceState.rejected)),
            )
            .values(state=ResourceState.pending_review)
        )
    )
    if row is not None:
        return row
    current = await get_visible(session, Resource, resource_id, "resource")
    if current.author_id != user_id:
        raise forbidden("only the author submits a resource for review")
    raise INVALID_STATE(
        f"only a draft or a rejected resource can be submitted for review; this resource is {current.state.value}",
        state=current.state.value,
    )


@dataclass(frozen=True)
class Transition:
    sources: tuple[ResourceState, ...]
    target: ResourceState


TRANSITIONS = {
    # Approving an archived resource brings it back.
    "approve": Transition((ResourceState.pending_review, ResourceState.archived), ResourceState.approved),
    "reject": Transition((ResourceState.pending_review,), ResourceState.rejected),
    "archive": Transition(
        (ResourceState.draft, ResourceState.pending_review, ResourceState.approved, ResourceState.rejected),
        ResourceState.archived,
    ),
}


async def decide(
    session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID, action: str, note: str | None
) -> Resource:
    """approve (a resource pending review, or an archived one to bring it back), reject (pending
    review) or archive (any other state), by an org admin, with a
    note; records the reviewer and the time. The database refuses anyone else too (the update
    policy and the ``resources_guard_columns`` trigger): checking first only makes the message clear."""
    transition = TRANSITIONS[action]
    current = await get_visible(session, Resource, resource_id, "resource")
    if not await is_org_admin(session, current.organization_id):
        raise forbidden("only an organization admin approves, rejects or archives resources")
    row = await session.scalar(
        _returning(
            update(Resource)
            .where(Resource.id == resource_id, Resource.state.in_(transition.sources))
            .values(state=transition.target, reviewer_id=user_id, reviewed_at=func.now(), review_note=note)
        )
    )
    if row is None:
        state = await session.scalar(select(Resource.state).where(Resource.id == resource_id))
        allowed = " or ".join(s.value for s in transition.sources)
        raise INVALID_STATE(
            f"cannot {action} a resource that is {state.value if state else 'gone'}; it must be {allowed}",
            state=state.value if state else None,
        )
    return row


async def delete_resource(session: AsyncSession, resource_id: uuid.UUID) -> str | None:
    """Delete (org admins); returns the stored file's key, to remove once the transaction commits."""
    stmt = delete(Resource).where(Resource.id == resource_id).returning(Resource.id, Resource.file_path)
    deleted = (await session.execute(stmt)).first()
    if deleted is None:
        await get_visible(session, Resource, resource_id, "resource")
        raise forbidden("only an organization admin deletes resources")
    return deleted.file_path


# Search


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


def search(
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


# Reviews


async def _reviewable(session: AsyncSession, resource_id: uuid.UUID) -> Resource:
    resource = await get_visible(session, Resource, resource_id, "resource")
    if resource.state != ResourceState.approved:
        raise forbidden(f"only approved resources can be reviewed; this one is {resource.state.value}")
    return resource


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
    stmt = update(ResourceReview).where(ResourceReview.resource_id == resource_id, ResourceReview.user_id == user_id)
    if values:
        row = await session.scalar(
            stmt.values(**values).returning(ResourceReview).execution_options(populate_existing=True)
        )
    else:
        row = await session.scalar(
            select(ResourceReview).where(ResourceReview.resource_id == resource_id, ResourceReview.user_id == user_id)
        )
    if row is None:
        raise NOT_FOUND("you have not reviewed this resource")
    return row


async def delete_my_review(session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID) -> None:
    deleted = await session.scalar(
        delete(ResourceReview)
        .where(ResourceReview.resource_id == resource_id, ResourceReview.user_id == user_id)
        .returning(ResourceReview.id)
    )
    if deleted is None:
        await get_visible(session, Resource, resource_id, "resource")
        raise NOT_FOUND("you have not reviewed this resource")


async def delete_review(session: AsyncSession, resource_id: uuid.UUID, review_id: uuid.UUID) -> None:
    """Its author or an org admin."""
    await remove(session, ResourceReview, review_id, "review", ResourceReview.resource_id == resource_id)


async def reviews_query(session: AsyncSession, resource_id: uuid.UUID) -> Select:
    await get_visible(session, Resource, resource_id, "resource")
    return select(ResourceReview).where(ResourceReview.resource_id == resource_id)


async def resource_with_file(session: AsyncSession, resource_id: uuid.UUID) -> Resource:
    resource = await get_visible(session, Resource, resource_id, "resource")
    if resource.file_path is None:
        raise NO_FILE("this resource has no uploaded file")
    return resource


# AI-generated resources

SYSTEM_PROMPT = (
    "You write classroom materials for teachers. Answer with the material only, in Markdown: "
    "a title line, short instructions for students, the numbered items, then an answer key "
    "under a heading 'Answer key'. Keep the language right for the grade level."
)


def _prompt(body: schemas.GenerateRequest) -> str:
    subject = f" in {body.subject}" if body.subject else ""
    if body.kind == "quiz":
        items = f"{body.length} multiple-choice questions, each with four options (A-D) and exactly one correct answer"
    else:
        items = f"{body.length} exercises of varied difficulty, with space for the student's answer"
    return f"Write a {body.kind}{subject} for grade {body.grade_level} on the topic: {body.topic}\nIt has {items}."


def _max_tokens(length: int) -> int:
    return min(8192, 400 + 160 * length)


def _generated(body: schemas.GenerateRequest, organization_id: uuid.UUID, user_id: uuid.UUID, content: str) -> Resource:
    title = body.title or f"{body.kind.capitalize()}: {body.topic}"[:300]
    return Resource(
        organization_id=organization_id,
        author_id=user_id,
        title=title,
        description=f"AI-generated {body.kind} for grade {body.grade_level}: {body.length} items on {body.topic}",
        type=ResourceType(body.kind),
        body=content,
        subject=body.subject,
        grade_levels=[body.grade_level],
        tags=["ai-generated"],
        category_id=body.category_id,
        class_id=body.class_id,
        state=ResourceState.pending_review,
    )


async def generate(
    db: Database, gateway: Gateway, identity: DbIdentity, body: schemas.GenerateRequest, request_id: str | None
) -> Resource:
    """Ask the AI gateway (feature ``resource_generation``: role check, rate limits, budget and
    the usage log all apply) for a worksheet or quiz and store it as ``pending_review``.

    No database connection is held during the provider call, so this runs three short
    transactions of its own instead of the request's one:

    1. As the caller, a dry run: the resource is inserted in a savepoint and rolled back. Row-level
       security, the foreign keys (category, class) and the checks decide exactly as for the real
       insert, so a caller who may not create it is refused *before* anything is billed.
    2. The gateway call (admit → provider → settle). A denial is the gateway's own problem (402,
       403, 429, 5xx) and nothing is stored.
    3. As the caller again, the real insert — RLS still decides that this person may create this
       resource — stamped ``ai_generated`` with its ``ai_usage_log_id`` in the same statement, so
       no unflagged AI resource can ever be seen. The ``resources_guard_columns`` trigger admits
       the stamp from an author only with a successful generation call of their own that no
       other resource carries.

    Only an org admin approves it; until then students cannot see it (RLS).
    """
    user_id = identity.user_id
    async with db.as_user(identity) as session:
        organization_id = await resolve_organization(session, user_id, body.organization_id)
        savepoint = await session.begin_nested()
        session.add(_generated(body, organization_id, user_id, "dry run"))
        await session.flush()
        await savepoint.rollback()

    request = MessageRequest(
        feature=AiFeature.resource_generation,
        organization_id=organization_id,
        model=body.model,
        system=SYSTEM_PROMPT,
        messages=[ChatMessage(role="user", content=_prompt(body))],
        max_tokens=_max_tokens(body.length),
    )
    call = await gateway.admit(user_id, request, request_id)
    message = await gateway.complete(call)
    content = answer_text(message).strip()
    if not content:
        raise AI_EMPTY_RESPONSE("the model returned no text; try again")

    async with db.as_user(identity) as session:
        resource = _generated(body, organization_id, user_id, content[:200_000])
        resource.ai_generated, resource.ai_usage_log_id = True, usage_log_id(message)
        return await add(session, resource)
