"""The one CSV writer every export uses: rows streamed as they are produced, and no cell a
spreadsheet would run as a formula.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with a single quote (OWASP's advice against CSV injection), so Excel, LibreOffice
and Google Sheets show it as text. Numbers (``int``, ``float``, ``Decimal``) are written as
they are: a negative number is a number, not a formula. Quoting (a cell holding commas,
quotes or line breaks) is the ``csv`` module's, with RFC 4180 line ends.
"""

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from fastapi.responses import StreamingResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows are sent in pieces of about this size, not one network write per row.
FLUSH_BYTES = 64 * 1024
MEDIA_TYPE = "text/csv; charset=utf-8"


def safe_text(value: str) -> str:
    """``value`` as a spreadsheet shows it as text, never as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def cell(value: Any) -> str:
    """One cell: empty for None, numbers as they are, everything else as formula-safe text
    (an enum by its value, a dict or list as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return safe_text(str(value))


async def _aiter(rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def csv_lines(
    header: Sequence[Any], rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]
) -> AsyncIterator[bytes]:
    """The header and then each row, as UTF-8 CSV, in pieces of about ``FLUSH_BYTES``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(value) for value in header])
    async for row in _aiter(rows):
        writer.writerow([cell(value) for value in row])
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_response(
    filename: str, header: Sequence[Any], rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]
) -> StreamingResponse:
    """A streamed CSV download named ``filename`` (made of safe characters by the caller)."""
    return StreamingResponse(
        csv_lines(header, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
