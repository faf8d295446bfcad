"""The roster API of an organization's admins."""

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.models import RosterImport
from schoolbase.pagination import Page, PageParams, page_params
from schoolbase.problems import (
    FILE_TOO_LARGE,
    FORBIDDEN,
    FORM_TOO_LARGE,
    IMPORT_STATE,
    INVALID_MULTIPART,
    NOT_A_ZIP,
    NOT_FOUND,
    REPORT_HAS_ERRORS,
    responses,
)
from schoolbase.resources.uploads import FORM_OVERHEAD_BYTES, UploadForm, too_large
from schoolbase.roster import export, imports, jobs, schemas
from schoolbase.tenancy.service import check_org_admin

router = APIRouter(tags=["roster"])
Paging = Annotated[PageParams, Depends(page_params)]


def runtime_of(request: Request) -> jobs.Runtime:
    return request.app.state.roster


# ---------------------------------------------------------------- imports (uploads)

UPLOAD_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "the OneRoster CSV set as a .zip"}},
}


@router.post(
    "/organizations/{organization_id}/roster/imports",
    response_model=schemas.ImportOut,
    status_code=202,
    responses=responses(INVALID_MULTIPART, FILE_TOO_LARGE, FORM_TOO_LARGE, NOT_A_ZIP),
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD_FORM}}}},
)
async def upload_import(organization_id: uuid.UUID, request: Request, user: CurrentUser) -> RosterImport:
    """Org admins: a OneRoster 1.1 or 1.2 CSV set as one .zip (``multipart/form-data``, part
    ``file``; at most ``SCHOOLBASE_ROSTER_UPLOAD_MAX_BYTES``). Answered at once (202, queued): a job
    validates it, writing nothing, and stores the report (state ``validated``, or ``failed`` when
    the file cannot be read at all). Follow it with ``GET .../roster/imports/{id}``; nothing is
    imported until an admin accepts the report."""
    limit = request.app.state.settings.roster_upload_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise too_large(limit)
    form = UploadForm(request.headers.get("content-type"), request.stream())
    return await jobs.upload(runtime_of(request), user, organization_id, form)


@router.get("/organizations/{organization_id}/roster/imports", response_model=Page[schemas.ImportItem])
async def list_imports(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Org admins: the organization's imports, newest first (without their reports)."""
    return await imports.history(session, organization_id, paging)


@router.get("/organizations/{organization_id}/roster/imports/{import_id}", response_model=schemas.ImportOut)
async def get_import(
    organization_id: uuid.UUID, import_id: uuid.UUID, _: CurrentUser, session: Session
) -> RosterImport:
    """Org admins: an import's state, progress (``rows_done`` of ``rows_total``), report and summary."""
    return await imports.get(session, organization_id, import_id)


@router.post(
    "/organizations/{organization_id}/roster/imports/{import_id}/accept",
    response_model=schemas.ImportOut,
    status_code=202,
    responses=responses(IMPORT_STATE, REPORT_HAS_ERRORS),
)
async def accept_import(
    organization_id: uuid.UUID,
    import_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    body: Annotated[schemas.AcceptImport | None, Body()] = None,
) -> RosterImport:
    """Org admins: accept a validated import's report; its job imports it (``applying``, then
    ``completed`` with the summary, or ``failed`` with nothing applied). A report with errors
    needs ``accept_errors: true`` (409 ``report-has-errors`` otherwise): the rows with errors are
    left out."""
    accept_errors = body.accept_errors if body is not None else False
    return await jobs.accept(runtime_of(request), user, organization_id, import_id, accept_errors)


@router.post(
    "/organizations/{organization_id}/roster/imports/{import_id}/cancel",
    response_model=schemas.ImportOut,
    responses=responses(IMPORT_STATE),
)
async def cancel_import(
    organization_id: uuid.UUID, import_id: uuid.UUID, request: Request, user: CurrentUser
) -> RosterImport:
    """Org admins: cancel an import waiting to be validated or to be accepted; its file is removed."""
    return await jobs.cancel(runtime_of(request), user, organization_id, import_id)


# ---------------------------------------------------------------- OneRoster export


@router.get(
    "/organizations/{organization_id}/roster/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, **responses(FORBIDDEN, NOT_FOUND)},
)
async def export_roster(
    organization_id: uuid.UUID, _: CurrentUser, session: Session, period_id: uuid.UUID | None = None
):
    """Org admins: the organization's roster and posted grades as a OneRoster 1.1 CSV zip. With
    ``period_id`` (a grading period) the gradebook files hold only that period's line items
    and results, as a delta. The zip is written to a temporary file as the request reads, then
    streamed and removed."""
    await check_org_admin(session, organization_id, "export its roster")
    return await export_download(session, organization_id, period_id)


async def export_download(
    session: AsyncSession, organization_id: uuid.UUID, period_id: uuid.UUID | None
) -> FileResponse:
    """The export as a zip written in the caller's transaction, then streamed and removed
    (the API and the org admin's roster page)."""
    folder = Path(tempfile.mkdtemp(prefix="schoolbase-oneroster-"))
    try:
        path = folder / "oneroster.zip"
        await export.export_roster(session, organization_id, path, period_id=period_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"oneroster-{organization_id}.zip",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
