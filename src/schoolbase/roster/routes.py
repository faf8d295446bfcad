"""Rostering over HTTP."""

import shutil
import tempfile
import uuid
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.problems import FORBIDDEN, NOT_FOUND, responses
from schoolbase.roster import export

router = APIRouter(tags=["roster"])


# OneRoster export --------------------------------------------------------------------------


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
    await export.require_org_admin(session, organization_id)
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
