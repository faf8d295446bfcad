import mimetypes
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.models import Resource, ResourceCategory, ResourceReview, ResourceState, ResourceType
from schoolbase.pagination import Page, PageParams, page_params
from schoolbase.problems import FILE_MISSING
from schoolbase.resources import categories, flows, reviews, schemas, search, service
from schoolbase.resources.storage import FileMissing, Storage
from schoolbase.resources.uploads import FORM_OVERHEAD_BYTES, UploadForm, too_large

router = APIRouter(tags=["resources"])
Paging = Annotated[PageParams, Depends(page_params)]


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


# Categories


@router.post(
    "/organizations/{organization_id}/resource-categories", response_model=schemas.CategoryOut, status_code=201
)
async def create_category(
    organization_id: uuid.UUID, body: schemas.CategoryCreate, _: CurrentUser, session: Session
) -> ResourceCategory:
    """Org admins. ``parent_id`` puts it under another category of the same organization."""
    return await categories.create_category(session, organization_id, body)


@router.get("/organizations/{organization_id}/resource-categories", response_model=Page[schemas.CategoryOut])
async def list_categories(
    organization_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    paging: Paging,
    parent_id: uuid.UUID | None = None,
    top_level: Annotated[bool, Query(description="only categories without a parent")] = False,
) -> Page:
    """Every member sees the organization's categories, by name."""
    return await categories.list_categories(session, organization_id, parent_id, top_level, paging)


@router.get("/resource-categories/{category_id}", response_model=schemas.CategoryOut)
async def get_category(category_id: uuid.UUID, _: CurrentUser, session: Session) -> ResourceCategory:
    return await categories.get_category(session, category_id)


@router.get("/resource-categories/{category_id}/subtree", response_model=list[schemas.SubtreeCategory])
async def get_subtree(category_id: uuid.UUID, _: CurrentUser, session: Session) -> list[schemas.SubtreeCategory]:
    """The category and all its descendants (one query), in tree order with their depth."""
    return await categories.subtree(session, category_id)


@router.patch("/resource-categories/{category_id}", response_model=schemas.CategoryOut, responses={422: {}})
async def update_category(
    category_id: uuid.UUID, body: schemas.CategoryUpdate, _: CurrentUser, session: Session
) -> ResourceCategory:
    """Org admins: rename, or move with ``parent_id`` (null: to the top level). A move into the
    category's own subtree is refused (422 ``category-cycle``)."""
    return await categories.update_category(session, category_id, body)


@router.delete("/resource-categories/{category_id}", status_code=204, responses={409: {}})
async def delete_category(category_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Org admins; refused (409) while it has subcategories or resources."""
    await categories.delete_category(session, category_id)


# Resources: search, create, read, change


@router.get("/resources", response_model=Page[schemas.SearchHit])
async def search_resources(
    _: CurrentUser,
    session: Session,
    paging: Paging,
    q: Annotated[
        str | None, Query(max_length=500, description='web-search syntax: words, "a phrase", -not, or')
    ] = None,
    type: ResourceType | None = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    grade_level: Annotated[str | None, Query(max_length=50)] = None,
    category_id: Annotated[uuid.UUID | None, Query(description="this category and all below it")] = None,
    min_rating: Annotated[float | None, Query(ge=1, le=5)] = None,
    organization_id: uuid.UUID | None = None,
    state: ResourceState | None = None,
    author_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> Page:
    """Resources you may read, best match first when ``q`` is given (else newest first): a
    resource ranks by the best word of the query in it (its ``ts_rank``; title and tags weigh
    more than the description).
    Students see approved resources of their organization (class-scoped ones only for their
    classes); authors also see their own drafts; org admins see everything of their organization."""
    found = search.query(
        q,
        type=type,
        subject=subject,
        grade_level=grade_level,
        category_id=category_id,
        min_rating=min_rating,
        organization_id=organization_id,
        state=state,
        author_id=author_id,
        class_id=class_id,
    )
    return await search.page(session, found, paging)


@router.post("/resources", response_model=schemas.ResourceOut, status_code=201)
async def create_resource(body: schemas.ResourceCreate, user: CurrentUser, session: Session) -> Resource:
    """Teachers and org admins: a link (``url``) or a text resource (``body``), as a draft or
    straight into review (``state: pending_review``)."""
    return await service.create_resource(session, user.user_id, body)


UPLOAD_FORM = {
    "type": "object",
    "required": ["file", "title"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the file; its part's Content-Type counts"},
        **{
            name: field
            for name, field in schemas.FileResourceCreate.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )["properties"].items()
            if name not in ("grade_levels", "tags")
        },
        "grade_levels": {"type": "array", "items": {"type": "string"}, "description": "repeat the field"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "repeat the field"},
    },
}


@router.post(
    "/resources/upload",
    response_model=schemas.ResourceOut,
    status_code=201,
    responses={
        400: {"description": "malformed multipart body, a second file, or a field after the file"},
        413: {"description": "file (or the fields before it) too large"},
        415: {"description": "file type not allowed, or its content is not of the declared type"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD_FORM}}}},
)
async def upload_resource(
    request: Request, user: CurrentUser, storage: Annotated[Storage, Depends(get_storage)]
) -> Resource:
    """Teachers and org admins: a file with its resource's fields, as ``multipart/form-data``.
    **The fields come first and the file is the last part** (as browsers and common clients
    send a form): the server decides from the fields whether you may create this resource before
    it reads a byte of the file. Size and type limits: ``SCHOOLBASE_UPLOAD_MAX_BYTES`` and
    ``SCHOOLBASE_UPLOAD_CONTENT_TYPES``.

    In order, without spooling anything:
    1. a declared ``Content-Length`` over the limit is a 413, before the body is read;
    2. someone who is neither a teacher nor an org admin anywhere gets a 403, before the body is read;
    3. the fields are read up to the file part's headers; a disallowed declared type is a 415; a dry
       run of the insert as the caller, rolled back, lets row-level security, the foreign keys and
       the checks refuse (403, 422) before any byte of the file is read;
    4. the file is streamed to storage (no connection is held meanwhile) under an opaque key,
       counted (413 at the limit, the rest of the body is not read) and compared with its declared
       type: the real type is detected from the content (415 ``content-type-mismatch`` naming both;
       text types must be UTF-8 without NUL);
    5. the resource is inserted; if that fails the file is removed again."""
    settings = request.app.state.settings
    limit = settings.upload_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise too_large(limit)
    form = UploadForm(request.headers.get("content-type"), request.stream())
    return await flows.upload(request.app.state.db, storage, user, form, settings.upload_content_types, limit)


@router.post(
    "/resources/generate",
    response_model=schemas.ResourceOut,
    status_code=201,
    responses={402: {}, 403: {}, 429: {}, 502: {}, 503: {}, 504: {}},
)
async def generate_resource(body: schemas.GenerateRequest, user: CurrentUser, request: Request) -> Resource:
    """Teachers and org admins: an AI-written worksheet or quiz, through the AI gateway (feature
    ``resource_generation``: limits, budget and the usage log apply; a denial is the gateway's
    problem document). Stored as ``pending_review`` with ``ai_generated``; an org admin approves it."""
    return await flows.generate(
        request.app.state.db, request.app.state.gateway, user, body, getattr(request.state, "request_id", None)
    )


@router.get("/resources/{resource_id}", response_model=schemas.ResourceOut)
async def get_resource(resource_id: uuid.UUID, _: CurrentUser, session: Session) -> Resource:
    return await service.get_resource(session, resource_id)


@router.patch("/resources/{resource_id}", response_model=schemas.ResourceOut)
async def update_resource(
    resource_id: uuid.UUID, body: schemas.ResourceUpdate, _: CurrentUser, session: Session
) -> Resource:
    """Its author while it is a draft or pending review; org admins always."""
    return await service.update_resource(session, resource_id, body)


@router.delete("/resources/{resource_id}", status_code=204)
async def delete_resource(
    resource_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    storage: Annotated[Storage, Depends(get_storage)],
    background: BackgroundTasks,
) -> None:
    """Org admins. An uploaded file is removed after the deletion has committed."""
    if key := await service.delete_resource(session, resource_id):
        background.add_task(storage.delete, key)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def download_name(resource: Resource) -> str:
    stem = _UNSAFE.sub("-", resource.title).strip("-.")[:80] or "resource"
    return stem + (mimetypes.guess_extension(resource.file_content_type or "") or "")


async def file_download(session: AsyncSession, storage: Storage, resource_id: uuid.UUID) -> StreamingResponse:
    """A resource's uploaded file as a download, to whoever may read the resource (the API's
    file route and the library page's)."""
    resource = await service.resource_with_file(session, resource_id)
    try:
        chunks = await storage.open(resource.file_path)
    except FileMissing as exc:
        raise FILE_MISSING("the file of this resource is missing from storage") from exc
    headers = {
        "Content-Disposition": f'attachment; filename="{download_name(resource)}"',
        "X-Content-Type-Options": "nosniff",
    }
    if resource.file_size is not None:
        headers["Content-Length"] = str(resource.file_size)
    return StreamingResponse(chunks, media_type=resource.file_content_type, headers=headers)


@router.get(
    "/resources/{resource_id}/file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
async def download_file(
    resource_id: uuid.UUID, _: CurrentUser, session: Session, storage: Annotated[Storage, Depends(get_storage)]
) -> StreamingResponse:
    """The uploaded file, to whoever may read the resource."""
    return await file_download(session, storage, resource_id)


# Workflow


@router.post("/resources/{resource_id}/submit", response_model=schemas.ResourceOut, responses={409: {}})
async def submit_resource(resource_id: uuid.UUID, user: CurrentUser, session: Session) -> Resource:
    """The author: draft → pending_review."""
    return await service.submit(session, user.user_id, resource_id)


@router.post("/resources/{resource_id}/approve", response_model=schemas.ResourceOut, responses={409: {}})
async def approve_resource(
    resource_id: uuid.UUID, user: CurrentUser, session: Session, body: schemas.Decision | None = None
) -> Resource:
    """Org admins: pending_review (or archived, to bring it back) → approved, with an optional note."""
    return await service.decide(session, user.user_id, resource_id, "approve", body.note if body else None)


@router.post("/resources/{resource_id}/reject", response_model=schemas.ResourceOut, responses={409: {}})
async def reject_resource(
    resource_id: uuid.UUID, body: schemas.Rejection, user: CurrentUser, session: Session
) -> Resource:
    """Org admins: pending_review → rejected, with a note saying why."""
    return await service.decide(session, user.user_id, resource_id, "reject", body.note)


@router.post("/resources/{resource_id}/archive", response_model=schemas.ResourceOut, responses={409: {}})
async def archive_resource(
    resource_id: uuid.UUID, user: CurrentUser, session: Session, body: schemas.Decision | None = None
) -> Resource:
    """Org admins: any state but archived → archived; students no longer see it."""
    return await service.decide(session, user.user_id, resource_id, "archive", body.note if body else None)


# Reviews


@router.get("/resources/{resource_id}/reviews", response_model=Page[schemas.ReviewOut])
async def list_reviews(resource_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Newest first."""
    return await reviews.list_reviews(session, resource_id, paging)


@router.post(
    "/resources/{resource_id}/reviews",
    response_model=schemas.ReviewOut,
    status_code=201,
    responses={403: {}, 404: {}, 409: {}},
)
async def create_review(
    resource_id: uuid.UUID, body: schemas.ReviewCreate, user: CurrentUser, session: Session
) -> ResourceReview:
    """Rate an approved resource you can read (1–5, optional comment); one review per person."""
    return await reviews.create_review(session, user.user_id, resource_id, body)


@router.put("/resources/{resource_id}/reviews", response_model=schemas.ReviewOut)
async def update_my_review(
    resource_id: uuid.UUID, body: schemas.ReviewUpdate, user: CurrentUser, session: Session
) -> ResourceReview:
    """Change your own review."""
    return await reviews.update_my_review(session, user.user_id, resource_id, body)


@router.delete("/resources/{resource_id}/reviews", status_code=204)
async def delete_my_review(resource_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Withdraw your own review."""
    await reviews.delete_my_review(session, user.user_id, resource_id)


@router.delete("/resources/{resource_id}/reviews/{review_id}", status_code=204)
async def delete_review(resource_id: uuid.UUID, review_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Its author, or an org admin (moderation)."""
    await reviews.delete_review(session, resource_id, review_id)
