"""OneRoster 1.1 CSV export of an organization: its roster (orgs, academic sessions, courses,
classes, users, enrollments) and its gradebook (categories, line items, posted results),
as a folder or a zip, which the importer reads back.

- sourcedIds: a row that came from an import keeps the sourcedId it came with
  (``roster_links``); any other row is known by its id.
- Rows stream from server-side cursors into the files; memory stays flat with size.
- Each file is sorted by sourcedId (byte order) and the zip's entries carry a fixed time, so
  two exports of the same data are byte-identical, and a zip holds the folder's very bytes.
- OneRoster requires what Schoolbase leaves optional, so the export fills it in the same way
  every time: a class without a school is in a school named as the organization
  (``<district>-school``); a class without a course is the only section of a course of its
  own name (``<class>-course``); a class without terms is in the newest school year, or in
  one made up for it (``<district>-year``, July to June, the year the organization was made)
  when there is none. Imported back, these become real rows with the same sourcedIds.
- People: members, and people an import invited who have not accepted yet (with the
  enrollments waiting for them); one role each, as ``export_queries.USER_ROLE`` chooses.
- Demographics are not kept, so that file is absent; ended enrollments and people whose
  memberships all ended are left out (a bulk file lists what is current).
"""

import csv
import io
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.problems import not_found
from schoolbase.roster import export_queries as queries
from schoolbase.roster.formats import EXPORT_1_1, MANIFEST_FILES_1_1

SYSTEM_NAME = "Schoolbase"
ONEROSTER_VERSION = "1.1"
MANIFEST_VERSION = "1.0"
# Zip entries carry this time rather than the clock's, so the same files give the same zip.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
BATCH = 1000


@dataclass(frozen=True)
class Scope:
    """What every file's statement needs to know besides the organization."""

    organization_id: UUID
    district: str
    time_zone: str
    period_id: UUID | None
    default_term: str
    synthetic_term: date | None  # the made-up school year's start, when there is one

    @property
    def params(self) -> dict[str, Any]:
        start = self.synthetic_term
        return {
            "org": self.organization_id,
            "district": self.district,
            "default_school": f"{self.district}-school",
            "default_term": self.default_term,
            "synthetic_term": start is not None,
            "term_title": f"{start.year}-{start.year + 1}" if start else None,
            "term_start": start,
            "term_end": date(start.year + 1, 6, 30) if start else None,
            "term_year": start.year + 1 if start else None,
            "period": self.period_id,
            "delta": self.period_id is not None,
            "tz": self.time_zone,
        }


async def export_roster(
    session: AsyncSession, organization_id: UUID, out: Path, *, period_id: UUID | None = None
) -> dict[str, int]:
    """Writes the export to ``out`` (a zip when it ends in ``.zip``, else a folder) and returns
    the number of rows of each file. With ``period_id`` the gradebook files hold only that
    grading period's line items and results, as a delta. Reads what the session may see: run
    it as ``service_role`` or as an org admin of the organization."""
    scope = await _scope(session, organization_id, period_id)
    counts: dict[str, int] = {}
    with _sink(out) as open_entry:
        await _write(open_entry, "manifest.csv", ("propertyName", "value"), _manifest(scope))
        for stem, statement in queries.FILES.items():
            result = await session.stream(text(statement), scope.params, execution_options={"yield_per": BATCH})
            counts[stem] = await _write(open_entry, f"{stem}.csv", EXPORT_1_1[stem], result)
    return counts


async def _scope(session: AsyncSession, organization_id: UUID, period_id: UUID | None) -> Scope:
    row = (await session.execute(text(queries.SCOPE), {"org": organization_id})).one_or_none()
    if row is None:
        raise not_found("the organization")
    if period_id is not None:
        found = await session.scalar(text(queries.PERIOD), {"org": organization_id, "period": period_id})
        if not found:
            raise not_found("the grading period")
    synthetic = None
    default_term = row.school_year or ""
    if row.termless and row.school_year is None:
        created = row.created_on
        synthetic = date(created.year if created.month >= 7 else created.year - 1, 7, 1)
        default_term = f"{row.district}-year"
    return Scope(organization_id, row.district, row.time_zone, period_id, default_term, synthetic)


def _manifest(scope: Scope) -> Iterator[tuple[str, str]]:
    yield "manifest.version", MANIFEST_VERSION
    yield "oneroster.version", ONEROSTER_VERSION
    mode = "delta" if scope.period_id is not None else "bulk"
    for stem in MANIFEST_FILES_1_1:
        if stem in EXPORT_1_1:
            yield f"file.{stem}", mode if stem in queries.GRADEBOOK else "bulk"
        else:
            yield f"file.{stem}", "absent"
    yield "source.systemName", SYSTEM_NAME


def cell(value: Any) -> str:
    """A value as OneRoster writes it: dates as YYYY-MM-DD, numbers as they are kept, booleans
    as true/false, nothing as an empty cell. Text is written as it is: these files go to other
    systems, not to a spreadsheet, so no formula guard alters a title."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        raise TypeError("date-times are formatted in SQL, in UTC")
    if isinstance(value, date | Decimal | int):
        return value.isoformat() if isinstance(value, date) else str(value)
    return str(value)


Opener = Callable[[str], AbstractContextManager[IO[bytes]]]


async def _write(
    open_entry: Opener, name: str, header: tuple[str, ...], rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]
) -> int:
    """Writes one CSV file (UTF-8, RFC 4180 line ends) and returns its number of rows."""
    count = 0
    with open_entry(name) as handle:
        stream = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(header)
        async for row in _aiter(rows):
            writer.writerow([cell(value) for value in row])
            count += 1
        stream.flush()
        stream.detach()  # the opener closes the file
    return count


async def _aiter(rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


@contextmanager
def _sink(out: Path) -> Iterator[Opener]:
    """``open_entry(name)`` for each file: a file in the folder ``out``, or an entry of the zip
    ``out`` (deflated, with a fixed time and mode)."""
    if out.suffix.lower() != ".zip":
        out.mkdir(parents=True, exist_ok=True)
        yield lambda name: (out / name).open("wb")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def open_entry(name: str):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            return archive.open(info, "w")

        yield open_entry
