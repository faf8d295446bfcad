"""What the roster API answers: imports (an org admin's uploads) with their progress and report."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schoolbase.models import RosterImportState


class ImportItem(BaseModel):
    """An import as the history lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    file_name: str
    source_system: str | None
    oneroster_version: str | None
    state: RosterImportState = Field(
        description="queued → validating → validated → applying (once accepted) → completed; "
        "or failed (nothing applied) or cancelled"
    )
    requested_by: uuid.UUID | None
    accepted_by: uuid.UUID | None
    accepted_at: datetime | None
    rows_total: int = Field(
        description="while validating, 0 (not known yet); once validated, the rows of the set; while applying, "
        "0 as the files are read again, then the import's steps"
    )
    rows_done: int = Field(description="rows read so far, or steps done of ``rows_total`` while applying")
    summary: dict[str, dict[str, int]] = Field(
        description="once completed: per entity, how many were created, updated, unchanged or ended"
    )
    error: str | None = Field(description="why it failed, for people")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportOut(ImportItem):
    """An import with its report (once validated): per file its mode, rows, valid rows, errors,
    warnings and note; the issues with file, line, severity, code and message; the counts."""

    report: dict[str, Any]


class AcceptImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept_errors: bool = Field(
        default=False,
        description="the report has errors and the valid rows are to be imported anyway (the rows with errors are left out)",
    )
