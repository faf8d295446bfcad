"""The org admin's roster pages: upload a OneRoster zip, the history of imports, and one
import with its live progress, its report (per file, and each issue with its line), accept or
cancel, and the summary once imported. The API's jobs module does the work: the upload is
streamed with no page transaction held, and accepting or cancelling commits before the job
is queued."""

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import AcademicSession, AcademicSessionType, RosterImport, RosterImportState
from schoolbase.pagination import PageParams
from schoolbase.problems import VALIDATION, Problem
from schoolbase.roster import imports, jobs
from schoolbase.roster import routes as roster_routes
from schoolbase.web.admin import views
from schoolbase.web.admin.views import admin_only
from schoolbase.web.context import PageContext
from schoolbase.web.deps import AnyonePage, Form, Page, PageSession, shown_again
from schoolbase.web.forms import problem_errors
from schoolbase.web.templating import render
from schoolbase.web.uploads import page_upload

router = APIRouter(include_in_schema=False)
HISTORY_SHOWN = 50

State = RosterImportState
STATES = {
    State.queued: "Waiting to be checked",
    State.validating: "Checking the files",
    State.validated: "Checked: waiting for you to accept",
    State.applying: "Importing",
    State.completed: "Imported",
    State.failed: "Failed",
    State.cancelled: "Cancelled",
}
ENTITIES = {
    "org": "Schools and districts",
    "academicSession": "Academic sessions",
    "course": "Courses",
    "class": "Classes",
    "user": "People",
    "role": "Roles",
    "enrollment": "Enrollments",
    "guardianship": "Parents and children",
    "category": "Categories",
    "lineItem": "Line items",
    "result": "Results",
}


def import_url(import_id: uuid.UUID) -> str:
    return f"/admin/roster/imports/{import_id}"


def progress_text(row: RosterImport) -> str:
    done, total = row.rows_done, row.rows_total
    if row.state == State.validating and done:
        return f"Checking the files: {done:,} rows read."
    if row.state == State.applying and total:
        return f"Importing: step {done} of {total}."
    if row.state == State.applying and done:
        return f"Importing: reading the files again, {done:,} rows read."
    return f"{STATES[row.state]}."


def progress_of(row: RosterImport) -> dict[str, Any]:
    """What the import page's script shows while a job works (the page says the same)."""
    return {
        "state": row.state.value,
        "rows_done": row.rows_done,
        "rows_total": row.rows_total,
        "finished": row.state not in imports.UNFINISHED,
        "summary": progress_text(row),
    }


# The roster page: upload and history


async def _roster_page(page: PageContext, session: AsyncSession, errors=None, status: int = 200) -> Response:
    org = admin_only(page)
    history = await imports.history(session, org, PageParams(limit=HISTORY_SHOWN))
    names = await views.people(session, {item.requested_by for item in history.items if item.requested_by})
    return render(
        page,
        "admin/roster.html",
        status,
        history=history.items,
        more=history.next_cursor is not None,
        names={user_id: views.name_of(user) for user_id, user in names.items()},
        states=STATES,
        max_mb=page.settings.roster_upload_max_bytes // (1024 * 1024),
        periods=await session.scalars(
            select(AcademicSession)
            .where(AcademicSession.organization_id == org, AcademicSession.type == AcademicSessionType.grading_period)
            .order_by(AcademicSession.start_date)
        ),
        errors=errors or {},
    )


@router.get("/admin/roster")
async def roster_page(page: Page, session: PageSession) -> Response:
    return await _roster_page(page, session)


@router.get("/admin/roster/export.zip")
async def export_zip(page: Page, session: PageSession, period_id: uuid.UUID | None = None) -> Response:
    """The organization's roster and posted grades as OneRoster files, as the API gives them."""
    return await roster_routes.export_download(session, admin_only(page), period_id)


async def _refused(page: PageContext, problem: Problem) -> Response:
    async def show(session: AsyncSession, refused: Problem) -> Response:
        errors = problem_errors(refused)
        if set(errors) == {"form"}:
            errors = {"file": errors["form"]}
        return await _roster_page(page, session, errors, refused.status)

    return await shown_again(page, problem, show)


@router.post("/admin/roster")
async def upload(page: AnyonePage) -> Response:
    """As ``POST /organizations/{id}/roster/imports``: the form token and the organization are
    checked before a byte of the file is read; the file is streamed with no page transaction
    held; the import's page follows its validation."""
    request = page.request
    form = await page_upload(page, page.settings.roster_upload_max_bytes, "/admin/roster")
    if isinstance(form, Problem):
        return await _refused(page, form)
    try:
        organization_id = uuid.UUID(dict(form.fields).get("organization_id", ""))
    except ValueError:
        return await _refused(page, VALIDATION("organization_id: reload the page and upload again"))
    try:
        created = await jobs.upload(request.app.state.roster, page.identity, organization_id, form)
    except Problem as problem:
        return await _refused(page, problem)
    return page.redirect(
        import_url(created.id),
        f"{created.file_name} was uploaded. Its files are being checked; nothing is imported yet.",
    )


# One import


async def _import_page(
    page: PageContext, session: AsyncSession, import_id: uuid.UUID, errors=None, status: int = 200
) -> Response:
    org = admin_only(page)
    row = await imports.get(session, org, import_id)
    people = await views.people(session, {p for p in (row.requested_by, row.accepted_by) if p})
    report = row.report or {}
    files = report.get("files", [])
    return render(
        page,
        "admin/roster_import.html",
        status,
        item=row,
        report=report,
        files=files,
        issues=report.get("issues", []),
        shown_issues=len(report.get("issues", [])),
        all_issues=sum(f.get("errors", 0) + f.get("warnings", 0) for f in files),
        error_count=sum(f.get("errors", 0) for f in files),
        requested_by=views.name_of(people.get(row.requested_by)) if row.requested_by else None,
        accepted_by=views.name_of(people.get(row.accepted_by)) if row.accepted_by else None,
        progress=progress_of(row),
        states=STATES,
        entities=ENTITIES,
        cancellable=row.state in imports.CANCELLABLE,
        errors=errors or {},
    )


@router.get("/admin/roster/imports/{import_id}")
async def import_page(import_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _import_page(page, session, import_id)


@router.get("/admin/roster/imports/{import_id}/progress")
async def import_progress(import_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    """The import's state and rows for the page's script (as ``GET .../roster/imports/{id}``)."""
    row = await imports.get(session, admin_only(page), import_id)
    return page.finish(JSONResponse(progress_of(row), headers={"Cache-Control": "no-store"}))


@router.post("/admin/roster/imports/{import_id}/accept")
async def accept(import_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    accept_errors = form.get("accept_errors") == "on"
    try:
        await jobs.accept(page.request.app.state.roster, page.identity, org, import_id, accept_errors)
    except Problem as problem:
        return await _import_page(page, session, import_id, {"accept": problem.detail or problem.title}, problem.status)
    return page.redirect(import_url(import_id), "Accepted. The roster is being imported.")


@router.post("/admin/roster/imports/{import_id}/cancel")
async def cancel(import_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    org = admin_only(page)
    try:
        cancelled = await jobs.cancel(page.request.app.state.roster, page.identity, org, import_id)
    except Problem as problem:
        return await _import_page(page, session, import_id, {"cancel": problem.detail or problem.title}, problem.status)
    return page.redirect("/admin/roster", f"The import of {cancelled.file_name} is cancelled; nothing was imported.")
