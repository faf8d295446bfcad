"""Reading each file into its stage: every row is checked on its own as it streams past
(required fields, value sets, dates, addresses) and copied into the stage with COPY, marked
bad when it has an error. What needs other rows (duplicates, references) is checked after,
in SQL (``checks.py``)."""

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from psycopg import AsyncConnection

from schoolbase.roster import fields as f
from schoolbase.roster.formats import STATUSES
from schoolbase.roster.report import Report
from schoolbase.roster.source import UNREADABLE, RosterSource
from schoolbase.roster.stages import Stage

Progress = Callable[[str, int, int], Awaitable[None]]
PROGRESS_EVERY = 5000
Found = list[tuple[str, str]]  # (code, message) of the errors in one row


def _missing_columns(stage: Stage, header: list[str], version: str) -> list[str]:
    required = ["sourcedId", *(c.source for c in stage.columns if c.required)]
    if stage.spec.stem == "users" and version == "1.1":
        required += ["role", "orgSourcedIds"]
    return [name for name in required if name not in header]


def _unknown_columns(stage: Stage, header: list[str]) -> list[str]:
    known = set(stage.spec.columns)
    return [name for name in header if name and name not in known and not name.startswith("metadata.")]


def _status(mode: str, raw: dict[str, str], errors: Found) -> tuple[str, Any]:
    status = (raw.get("status") or "").strip().lower()
    modified: Any = None
    try:
        modified = f.moment(raw.get("dateLastModified") or "")
    except f.FieldError as exc:
        errors.append((exc.code, f"dateLastModified: {exc.message}"))
    if mode == "delta":
        if status not in STATUSES:
            errors.append(
                ("unknown-enum" if status else "missing-field", "status must be active or tobedeleted in a delta file")
            )
        if modified is None and not errors:
            errors.append(("missing-field", "dateLastModified is required in a delta file"))
    elif status and status not in STATUSES:
        errors.append(("unknown-enum", f"status {status!r} is not active or tobedeleted"))
    return (status if status in STATUSES else "active"), modified


def _row_rules(stage: Stage, version: str, values: dict[str, Any], errors: Found) -> None:
    """Rules of one row across its own fields."""
    stem = stage.spec.stem
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors.append(("bad-date", f"endDate {end} is before startDate {start}"))
    if stem == "users":
        values["username_base"] = f.username_base(values.get("given_name"), values.get("family_name"))
    if stem == "users" and version == "1.1":
        if not values.get("source_role"):
            errors.append(("missing-field", "role is required"))
        if not values.get("orgs"):
            errors.append(("missing-field", "orgSourcedIds is required"))


def check_row(stage: Stage, mode: str, version: str, raw: dict[str, str]) -> tuple[list[Any], Found]:
    errors: Found = []
    sourced_id = (raw.get("sourcedId") or "").strip()
    if not sourced_id:
        errors.append(("missing-field", "sourcedId is required"))
    elif len(sourced_id) > 255 or "\x00" in sourced_id:
        errors.append(("invalid-value", "sourcedId is longer than 255 characters or holds a NUL"))
        sourced_id = sourced_id[:255].replace("\x00", "")
    status, modified = _status(mode, raw, errors)
    removing = status == "tobedeleted"
    values: dict[str, Any] = {}
    for column in stage.columns:
        try:
            values[column.name] = column.parse(raw.get(column.source) or "")
        except f.FieldError as exc:
            values[column.name] = None
            errors.append((exc.code, f"{column.source}: {exc.message}"))
            continue
        if column.required and values[column.name] in (None, []) and not removing:
            errors.append(("missing-field", f"{column.source} is required"))
    if not removing:
        _row_rules(stage, version, values, errors)
    row = [sourced_id or None, status, modified, bool(errors), *values.values()]
    return row, errors


class _Reading:
    """The rows of one file, stopping (and saying why) where the file cannot be decoded."""

    def __init__(self, source: RosterSource, stem: str) -> None:
        self.source, self.stem = source, stem
        self.rows = 0
        self.line = 1
        self.failure: str | None = None

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for line, raw in self.source.rows(self.stem):
                self.rows += 1
                self.line = line
                yield line, raw
        except UNREADABLE as exc:
            self.failure = str(exc)


async def stage_file(
    connection: AsyncConnection, source: RosterSource, stage: Stage, report: Report, progress: Progress | None
) -> None:
    stem = stage.spec.stem
    mode = source.mode(stem)
    file = report.file(stem, mode)
    await connection.execute(stage.create())
    try:
        header = source.header(stem)
    except UNREADABLE as exc:
        report.add(stem, 1, "error", "unreadable-file", f"the file is not UTF-8 CSV and cannot be read: {exc}")
        return
    missing = _missing_columns(stage, header, source.version)
    if missing:
        report.add(
            stem, 1, "error", "missing-column", f"the header lacks {', '.join(missing)}; no row of the file was read"
        )
        return
    for name in _unknown_columns(stage, header):
        report.add(
            stem, 1, "warning", "unknown-column", f"column {name!r} is not part of OneRoster {stem}.csv; ignored"
        )
    reading = _Reading(source, stem)
    async with connection.cursor().copy(f"copy {stage.table} ({stage.copy_columns()}) from stdin") as copy:
        for line, raw in reading:
            row, errors = check_row(stage, mode, source.version, raw)
            if row[0] is None:
                row[0] = f"(line {line})"
            for code, message in errors:
                report.add(stem, line, "error", code, message, None if row[0].startswith("(line") else row[0])
            await copy.write_row([line, *row])
            if progress and reading.rows % PROGRESS_EVERY == 0:
                await progress(f"reading {stem}.csv", reading.rows, 0)
    if reading.failure:
        # Half a file is not a file: none of its rows is applied.
        report.add(
            stem,
            reading.line + 1,
            "error",
            "unreadable-file",
            f"the file cannot be read past line {reading.line}: {reading.failure}",
        )
        await connection.execute(f"update {stage.table} set bad = true")
    file.rows = reading.rows
    if progress:
        await progress(f"reading {stem}.csv", reading.rows, 0)
    for index in stage.indexes():
        await connection.execute(index)
    await connection.execute(f"analyze {stage.table}")
