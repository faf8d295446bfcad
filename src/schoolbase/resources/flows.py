"""Work on resources that spans several transactions, with no database connection held
while something slow happens in between: an uploaded file streamed to storage, or an AI
provider writing a worksheet. Each transaction runs as the caller (``db.as_user``), so
row-level security decides every step as it would within one request's transaction."""

import uuid
from collections.abc import Sequence

from pydantic import ValidationError

from schoolbase.ai.gateway import Gateway, answer_text, usage_log_id
from schoolbase.ai.schemas import ChatMessage, MessageRequest
from schoolbase.db.crud import add
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.models import AiFeature, Resource, ResourceState, ResourceType
from schoolbase.problems import AI_EMPTY_RESPONSE, UNSUPPORTED_MEDIA_TYPE, validation_problem
from schoolbase.resources import schemas, service
from schoolbase.resources.storage import Storage, new_key
from schoolbase.resources.uploads import UploadForm, checked

# Uploads


def _form_body(form: UploadForm) -> schemas.FileResourceCreate:
    try:
        return schemas.FileResourceCreate.from_form(form.fields)
    except ValidationError as exc:
        raise validation_problem([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


def _check_allowed(content_type: str, allowed: Sequence[str]) -> None:
    if content_type not in {kind.lower() for kind in allowed}:
        raise UNSUPPORTED_MEDIA_TYPE(
            f"files of type {content_type or 'unknown'!r} are not accepted; allowed: " + ", ".join(allowed),
            allowed=list(allowed),
        )


async def upload(
    db: Database, storage: Storage, identity: DbIdentity, form: UploadForm, allowed: Sequence[str], limit: int
) -> Resource:
    """A file and its resource's fields from ``form``, in order, without spooling anything:

    1. someone who is neither a teacher nor an org admin anywhere gets a 403, before the body is read;
    2. the fields are read up to the file part's headers; a disallowed declared type is a 415; a dry
       run of the insert as the caller, rolled back, lets row-level security, the foreign keys and
       the checks refuse (403, 422) before any byte of the file is read;
    3. the file is streamed to storage (no connection is held meanwhile) under an opaque key,
       counted (413 past ``limit``) and compared with its declared type (415);
    4. the resource is inserted; if that fails the file is removed again."""
    user_id = identity.user_id
    async with db.as_user(identity) as session:
        await service.check_may_upload(session)
    part = await form.read_fields()
    body = _form_body(form)
    content_type = part.content_type
    _check_allowed(content_type, allowed)
    key = new_key()
    async with db.as_user(identity) as session:
        await service.dry_run(
            session, lambda: service.create_file_resource(session, user_id, body, key, content_type, 0)
        )
    size = await storage.save(key, checked(form.file_chunks(), content_type, limit))
    try:
        async with db.as_user(identity) as session:
            return await service.create_file_resource(session, user_id, body, key, content_type, size)
    except BaseException:
        await storage.delete(key)
        raise


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
    transactions instead of the request's one:

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
        organization_id = await service.resolve_organization(session, user_id, body.organization_id)
        await service.dry_run(session, lambda: add(session, _generated(body, organization_id, user_id, "dry run")))

    request = MessageRequest(
        feature=AiFeature.resource_generation,
        organization_id=organization_id,
        model=body.model,
        system=SYSTEM_PROMPT,
        messages=[ChatMessage(role="user", content=_prompt(body))],
        max_tokens=_max_tokens(body.length),
    )
    call = await gateway.admit(identity, request, request_id)
    message = await gateway.complete(call)
    content = answer_text(message).strip()
    if not content:
        raise AI_EMPTY_RESPONSE("the model returned no text; try again")

    async with db.as_user(identity) as session:
        resource = _generated(body, organization_id, user_id, content[:200_000])
        resource.ai_generated, resource.ai_usage_log_id = True, usage_log_id(message)
        return await add(session, resource)
