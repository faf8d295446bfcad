"""The resource portal's pages: browse the categories and search (``/library``), a resource
with its file or link and reviews, create (a link, a text or an uploaded file), generate an AI
worksheet or quiz, my own resources to revise and resubmit, and the org admin's approval queue.

The same services and flows as the API's ``resources/routes.py``. Uploading a file and asking
the AI run the API's flows, which open their own short transactions: those two routes hold no
page transaction (the upload is streamed, the AI call is slow), and open one only to show the
form again when something is refused."""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import ResourceState
from schoolbase.problems import Problem, forbidden
from schoolbase.resources import flows, reviews, schemas, service
from schoolbase.resources.routes import file_download
from schoolbase.web.context import PageContext
from schoolbase.web.deps import AnyonePage, Form, Page, PageSession, check_signed_in, database_of, shown_again
from schoolbase.web.forms import Errors, attempt, parsed, problem_errors, text
from schoolbase.web.library import editing, views
from schoolbase.web.templating import render
from schoolbase.web.uploads import page_upload

router = APIRouter(include_in_schema=False)
KINDS = [("worksheet", "Worksheet"), ("quiz", "Quiz")]


def resource_url(resource_id: uuid.UUID) -> str:
    return f"/library/resources/{resource_id}"


def _creator(page: PageContext) -> None:
    if not (page.has("teacher") or page.has("org_admin")):
        raise forbidden("Only teachers and organization admins add resources.")


def _admin(page: PageContext) -> None:
    if not page.has("org_admin"):
        raise forbidden("The approval queue is for organization admins.")


# Browse and search


@router.get("/library")
async def browse(page: Page, session: PageSession) -> Response:
    organization_id = page.organization.id if page.organization else None
    if organization_id is None:
        raise forbidden("You are not a member of an organization.")
    form, errors = parsed(views.SearchForm, dict(page.request.query_params))
    tree = await views.category_tree(session, organization_id)
    found = await views.results(session, organization_id, form) if form else None
    return render(
        page,
        "library/browse.html",
        422 if errors else 200,
        tree=tree,
        form=form or views.SearchForm(),
        values=dict(page.request.query_params),
        errors=errors,
        found=found,
        category_options=[("", "Any category"), *views.category_options(tree)],
        type_options=editing.type_options("Any type"),
        highlight=views.highlight,
        snippet=views.snippet,
        type_labels=views.TYPE_LABELS,
    )


# A resource


async def _resource_page(
    page: PageContext, session: AsyncSession, resource_id: uuid.UUID, errors: Errors | None = None, status: int = 200
) -> Response:
    view = await views.resource_page(session, page.user_id, resource_id)
    return render(
        page,
        "library/resource.html",
        status,
        view=view,
        r=view.resource,
        errors=errors or {},
        type_labels=views.TYPE_LABELS,
        state_labels=views.STATE_LABELS,
    )


@router.get("/library/resources/{resource_id}")
async def resource_page(resource_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _resource_page(page, session, resource_id)


@router.get("/library/resources/{resource_id}/file")
async def download(resource_id: uuid.UUID, page: Page, session: PageSession, request: Request) -> Response:
    """As ``GET /resources/{id}/file``: the uploaded file, to whoever may read the resource."""
    return await file_download(session, request.app.state.storage, resource_id)


@router.post("/library/resources/{resource_id}/review")
async def save_review(resource_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """My review: written (``POST``) or changed (``PUT /resources/{id}/reviews``)."""
    body, errors = parsed(schemas.ReviewCreate, {"rating": text(form, "rating"), "comment": text(form, "comment")})
    if body is None:
        return await _resource_page(page, session, resource_id, errors, 422)
    view = await views.resource_page(session, page.user_id, resource_id)
    if view.mine is None:
        change = reviews.create_review(session, page.user_id, resource_id, body)
    else:
        change = reviews.update_my_review(session, page.user_id, resource_id, schemas.ReviewUpdate(**body.model_dump()))
    _, problem = await attempt(session, lambda: change)
    if problem is not None:
        return await _resource_page(page, session, resource_id, problem_errors(problem), problem.status)
    return page.redirect(resource_url(resource_id) + "#reviews", "Your review is saved.")


@router.post("/library/resources/{resource_id}/review/delete")
async def delete_review(resource_id: uuid.UUID, page: Page, session: PageSession, _: Form) -> Response:
    await reviews.delete_my_review(session, page.user_id, resource_id)
    return page.redirect(resource_url(resource_id) + "#reviews", "Your review is withdrawn.")


# Creating: a link or a text, an uploaded file


def _new_page(
    page: PageContext, tree: list, errors: Errors, values: dict, status: int = 200, template: str = "library/new.html"
) -> Response:
    return render(
        page,
        template,
        status,
        errors=errors,
        values=values,
        type_options=editing.type_options(),
        category_options=[("", "No category"), *views.category_options(tree)],
        max_mb=page.settings.upload_max_bytes // (1024 * 1024),
        accept=",".join(page.settings.upload_content_types),
    )


@router.get("/library/new")
async def new_page(page: Page, session: PageSession) -> Response:
    _creator(page)
    return _new_page(page, await views.category_tree(session, page.organization.id), {}, {"type": "link"})


@router.post("/library/new")
async def create(page: Page, session: PageSession, form: Form) -> Response:
    """As ``POST /resources``: a link or a text, as a draft or submitted for approval."""
    _creator(page)
    body, errors = parsed(schemas.ResourceCreate, editing.resource_data(form, page.organization.id))
    status = 422
    if body is not None:
        created, problem = await attempt(session, lambda: service.create_resource(session, page.user_id, body))
        if problem is None:
            return page.redirect(resource_url(created.id), _saved(created.state))
        errors, status = problem_errors(problem), problem.status
    tree = await views.category_tree(session, page.organization.id)
    return _new_page(page, tree, errors, editing.posted(form), status)


def _saved(state: ResourceState) -> str:
    if state == ResourceState.pending_review:
        return "Saved and sent for approval. Students see it once an organization admin approves it."
    return "Saved as a draft. Only you and the organization's admins see it."


async def _refused(page: PageContext, problem: Problem, template_values: dict | None = None) -> Response:
    async def show(session: AsyncSession, refused: Problem) -> Response:
        tree = await views.category_tree(session, page.organization.id)
        errors = problem_errors(refused)
        return _new_page(page, tree, errors, template_values or {}, refused.status, "library/upload.html")

    return await shown_again(page, problem, show)


@router.get("/library/upload")
async def upload_page(page: Page, session: PageSession) -> Response:
    _creator(page)
    tree = await views.category_tree(session, page.organization.id)
    return _new_page(page, tree, {}, {"type": "document"}, template="library/upload.html")


@router.post("/library/upload")
async def upload(page: AnyonePage) -> Response:
    """As ``POST /resources/upload``: the fields, then the file, streamed to storage with the
    same size and type checks; no page transaction is held while it arrives."""
    request = page.request
    limit = page.settings.upload_max_bytes
    form = await page_upload(page, limit, "/library/new")
    if isinstance(form, Problem):
        return await _refused(page, form)
    values = dict(form.fields)
    try:
        created = await flows.upload(
            database_of(request),
            request.app.state.storage,
            page.identity,
            form,
            page.settings.upload_content_types,
            limit,
        )
    except Problem as problem:
        return await _refused(page, problem, values)
    return page.redirect(resource_url(created.id), _saved(created.state))


# Generating an AI worksheet or quiz


def _generate_page(page: PageContext, tree: list, errors: Errors, values: dict, status: int = 200) -> Response:
    return render(
        page,
        "library/generate.html",
        status,
        errors=errors,
        values=values,
        kinds=KINDS,
        category_options=[("", "No category"), *views.category_options(tree)],
    )


@router.get("/library/generate")
async def generate_page(page: Page, session: PageSession) -> Response:
    _creator(page)
    tree = await views.category_tree(session, page.organization.id)
    return _generate_page(page, tree, {}, {"kind": "worksheet", "length": "10"})


@router.post("/library/generate")
async def generate(page: AnyonePage, form: Form) -> Response:
    """As ``POST /resources/generate``: the flow checks, calls the AI with no database connection
    held, and stores the result pending approval; a refusal is shown with its reason."""
    check_signed_in(page, "/library/generate")
    organization_id = _uuid(text(form, "organization_id"))
    body, errors = parsed(schemas.GenerateRequest, editing.generate_data(form, organization_id))
    problem = None
    if body is not None:
        request = page.request
        try:
            created = await flows.generate(
                database_of(request),
                request.app.state.gateway,
                page.identity,
                body,
                getattr(request.state, "request_id", None),
            )
        except Problem as refused:
            problem = refused
        else:
            return page.redirect(
                resource_url(created.id),
                "Your AI-written material is waiting for approval. Students see it once an admin approves it.",
            )

    async def show(session: AsyncSession, refused: Problem | None) -> Response:
        _creator(page)
        tree = await views.category_tree(session, page.organization.id)
        if refused is None:
            return _generate_page(page, tree, errors, editing.posted(form), 422)
        shown = {"form": f"The AI request was refused: {refused.detail or refused.title}"}
        return _generate_page(page, tree, {**problem_errors(refused), **shown}, editing.posted(form), refused.status)

    return await shown_again(page, problem, show)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# Mine: drafts, waiting, rejected; revise and resubmit


@router.get("/library/mine")
async def mine(page: Page, session: PageSession) -> Response:
    _creator(page)
    items = await views.listed(session, page.organization.id, author_id=page.user_id)
    groups = {state: [r for r in items if r.state == state] for state in views.STATE_LABELS}
    return render(page, "library/mine.html", groups=groups, state_labels=views.STATE_LABELS)


async def _edit_page(
    page: PageContext, session: AsyncSession, resource_id: uuid.UUID, errors: Errors, values: dict | None, status=200
) -> Response:
    view = await views.resource_page(session, page.user_id, resource_id)
    if not view.may_edit:
        raise forbidden("Only its author (before approval) or an organization admin changes a resource.")
    tree = await views.category_tree(session, view.resource.organization_id)
    return render(
        page,
        "library/edit.html",
        status,
        r=view.resource,
        errors=errors,
        values=values if values is not None else editing.values_of(view.resource),
        type_options=editing.type_options(),
        category_options=[("", "No category"), *views.category_options(tree)],
        state_labels=views.STATE_LABELS,
        may_submit=view.is_author and view.resource.state in (ResourceState.draft, ResourceState.rejected),
    )


@router.get("/library/resources/{resource_id}/edit")
async def edit_page(resource_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _edit_page(page, session, resource_id, {}, None)


@router.post("/library/resources/{resource_id}/edit")
async def edit(resource_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """As ``PATCH /resources/{id}``, then (``submit``) ``POST /resources/{id}/submit``."""
    body, errors = parsed(schemas.ResourceUpdate, editing.resource_data(form, None, editing=True))
    status = 422
    if body is not None:

        async def change():
            changed = await service.update_resource(session, resource_id, body)
            if text(form, "submit"):
                return await service.submit(session, page.user_id, resource_id)
            return changed

        changed, problem = await attempt(session, change)
        if problem is None:
            return page.redirect(resource_url(resource_id), _saved(changed.state))
        errors, status = problem_errors(problem), problem.status
    return await _edit_page(page, session, resource_id, errors, editing.posted(form), status)


@router.post("/library/resources/{resource_id}/submit")
async def submit(resource_id: uuid.UUID, page: Page, session: PageSession, _: Form) -> Response:
    submitted = await service.submit(session, page.user_id, resource_id)
    return page.redirect(resource_url(resource_id), _saved(submitted.state))


# The approval queue


async def _queue_page(page: PageContext, session: AsyncSession, errors: Errors, status: int = 200) -> Response:
    _admin(page)
    pending = await views.queue(session, page.organization.id)
    return render(page, "library/review.html", status, pending=pending, errors=errors, type_labels=views.TYPE_LABELS)


@router.get("/library/review")
async def queue(page: Page, session: PageSession) -> Response:
    return await _queue_page(page, session, {})


@router.post("/library/resources/{resource_id}/decision")
async def decide(resource_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """As ``POST /resources/{id}/approve`` (an optional note) or ``/reject`` (a note saying why)."""
    _admin(page)
    action = "reject" if text(form, "action") == "reject" else "approve"
    schema = schemas.Rejection if action == "reject" else schemas.Decision
    body, errors = parsed(schema, {"note": text(form, "note")})
    status = 422
    if body is not None:
        decided, problem = await attempt(
            session, lambda: service.decide(session, page.user_id, resource_id, action, body.note)
        )
        if problem is None:
            verb = "Rejected" if action == "reject" else "Approved"
            return page.redirect("/library/review", f"{verb}: {decided.title}.")
        errors, status = problem_errors(problem), problem.status
    return await _queue_page(page, session, {str(resource_id): next(iter(errors.values()))}, status)
