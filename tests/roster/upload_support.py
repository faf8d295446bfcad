"""A hand-written OneRoster 1.1 district (``uploads/district``) as a zip, its upload through
the API, and waiting for its import's job."""

import asyncio
import io
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

from schoolbase.models import RosterImport, RosterImportState

DISTRICT = Path(__file__).parent / "uploads" / "district"
# A users.csv row without its sourcedId: an error in an otherwise good set.
NO_SOURCED_ID = ",,,true,org-school,student,nobody,,No,Body,,S9,,,,,07,\n"


def district_zip(edit: Callable[[str, str], str] | None = None, folder: str = "") -> bytes:
    """The district's files zipped (under ``folder`` inside the zip), each first passed through
    ``edit(file name, text)``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(DISTRICT.iterdir()):
            text = path.read_text()
            archive.writestr(folder + path.name, edit(path.name, text) if edit else text)
    return buffer.getvalue()


def with_an_error(name: str, text: str) -> str:
    return text + NO_SOURCED_ID if name == "users.csv" else text


def imports_url(org_id: uuid.UUID, *rest: object) -> str:
    return "/".join([f"/organizations/{org_id}/roster/imports", *map(str, rest)])


async def upload(client, headers, org_id, content: bytes, name: str = "district.zip", kind: str = "application/zip"):
    return await client.post(imports_url(org_id), headers=headers, files={"file": (name, content, kind)})


async def wait_for(client, headers, org_id, import_id, states, timeout: float = 30.0) -> dict:
    """The import once it is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(imports_url(org_id, import_id), headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in states:
            return body
        assert body["state"] not in ("failed", "cancelled", "completed"), body
        assert time.monotonic() < deadline, f"import still {body['state']}: {body}"
        await asyncio.sleep(0.05)


async def validated_import(db, school) -> uuid.UUID:
    """An import of ``school`` waiting for its admin to accept a report with an error (no file,
    no job: for the pages' forms)."""
    report = {
        "version": "1.1",
        "has_errors": True,
        "files": [
            {"file": "users.csv", "mode": "bulk", "rows": 2, "valid": 1, "errors": 1, "warnings": 0, "note": None}
        ],
        "issues": [{"file": "users.csv", "line": 3, "severity": "error", "code": "missing-field", "message": "x"}],
        "counts": {},
    }
    async with db.as_service() as session:
        row = RosterImport(
            organization_id=school.org_id,
            file_name="checked.zip",
            state=RosterImportState.validated,
            requested_by=school.people["oa"],
            report=report,
        )
        session.add(row)
        await session.flush()
        return row.id
