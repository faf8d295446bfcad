"""Resources and their approval workflow: create (a link, a text or an uploaded file), change,
submit for review, approve, reject, archive, delete.

Every query runs as the caller, so row-level security decides what exists for them
(students: approved resources of their organization, class-scoped ones only for their
classes). The service adds what the database cannot say well: which of several
reasons a refusal had (404 / 403 / 409), and messages a person can act on.
Categories, search and reviews have modules of their own; work that spans transactions
(an upload, an AI generation) is in ``flows``.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, get_visible
from schoolbase.models import Membership, MembershipRole, Resource, ResourceState
from schoolbase.problems import INVALID_STATE, NO_FILE, ORGANIZATION_REQUIRED, VALIDATION, forbidden
from schoolbase.resources import schemas

_IS_ORG_ADMIN = text(
    "select private.is_super_admin() or :org in (select private.org_ids_with_role('org_admin'))"
).bindparams(bindparam("org", type_=UUID(as_uuid=True)))

_MAY_UPLOAD = text(
    "select private.is_super_admin()"
    " or exists (select from private.org_ids_with_role('teacher'))"
    " or exists (select from private.org_ids_with_role('org_admin'))"
)


async def is_org_admin(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    return bool(await session.scalar(_IS_ORG_ADMIN, {"org": organization_id}))


async def check_may_upload(session: AsyncSession) -> None:
    """Someone who is neither a teacher nor an org admin anywhere is refused before a byte is read."""
    if not await session.scalar(_MAY_UPLOAD):
        raise forbidden("only teachers and organization admins upload resources")


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


async def dry_run(session: AsyncSession, insert: Callable[[], Awaitable[Any]]) -> None:
    """Run ``insert`` in a savepoint and roll it back: row-level security, the foreign keys and
    the checks decide exactly as for the real insert, and nothing stays. A flow runs this before
    work that costs (an AI call, storing a file) so that a refusal comes first."""
    savepoint = await session.begin_nested()
    await insert()
    await savepoint.rollback()


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


async def get_resource(session: AsyncSession, resource_id: uuid.UUID) -> Resource:
    return await get_visible(session, Resource, resource_id, "resource")


async def resource_with_file(session: AsyncSession, resource_id: uuid.UUID) -> Resource:
    resource = await get_resource(session, resource_id)
    if resource.file_path is None:
        raise NO_FILE("this resource has no uploaded file")
    return resource


def _returning(stmt: Any) -> Any:
    return stmt.returning(Resource).execution_options(populate_existing=True)


async def update_resource(session: AsyncSession, resource_id: uuid.UUID, body: schemas.ResourceUpdate) -> Resource:
    values = body.model_dump(exclude_unset=True)
    for required in ("title", "type"):
        if required in values and values[required] is None:
            raise VALIDATION(f"{required}: may not be null")
    if not values:
        return await get_resource(session, resource_id)
    row = await session.scalar(_returning(update(Resource).where(Resource.id == resource_id).values(**values)))
    if row is None:
        await get_resource(session, resource_id)
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
    current = await get_resource(session, resource_id)
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
    current = await get_resource(session, resource_id)
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
        await get_resource(session, resource_id)
        raise forbidden("only an organization admin deletes resources")
    return deleted.file_path
