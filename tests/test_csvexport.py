"""The one CSV writer: formula-safe cells, RFC 4180 rows, streamed in pieces."""

import asyncio
import csv
import io
import uuid
from decimal import Decimal
from enum import Enum

from fastapi.responses import StreamingResponse
from hypothesis import given
from hypothesis import strategies as st

from schoolbase import csvexport
from schoolbase.csvexport import FORMULA_START, cell, csv_lines, csv_response


class Colour(Enum):
    red = "red"
    sneaky = "=1+1"


async def collect(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def test_cells_that_start_a_formula_become_text():
    for value in ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert cell(value) == "'" + value
    for value in ("plain", "a=b", " =not first", "", "'already"):
        assert cell(value) == value
    assert (cell(None), cell(-5), cell(Decimal("-1.50")), cell(2.5), cell(True)) == ("", "-5", "-1.50", "2.5", "True")
    assert (cell(Colour.red), cell(Colour.sneaky)) == ("red", "'=1+1")
    assert cell({"a": "=x"}) == '{"a":"=x"}' and cell(["-x"]) == '["-x"]'
    some = uuid.uuid4()
    assert cell(some) == str(some)


@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.text(), st.integers(), st.decimals(allow_nan=False)), min_size=1, max_size=4),
        max_size=5,
    )
)
def test_no_text_cell_comes_out_as_a_formula(rows):
    width = max((len(row) for row in rows), default=1)
    rows = [row + [None] * (width - len(row)) for row in rows]
    table = parse(asyncio.run(collect(csv_lines([f"c{i}" for i in range(width)], rows))))
    assert len(table) == 1 + len(rows)
    for row, written in zip(rows, table[1:], strict=True):
        for value, text in zip(row, written, strict=True):
            if isinstance(value, str):
                assert not text.startswith(FORMULA_START)
                assert text == value or text == "'" + value
            elif value is None:
                assert text == ""
            else:
                assert text == str(value)


async def test_rows_are_streamed_in_pieces_as_they_are_produced(monkeypatch):
    monkeypatch.setattr(csvexport, "FLUSH_BYTES", 100)
    produced = []

    async def rows():
        for i in range(50):
            produced.append(i)
            yield [i, f"row {i}"]

    chunks = csv_lines(["n", "text"], rows())
    first = await anext(chunks)
    assert first.startswith(b"n,text\r\n0,row 0\r\n")
    assert len(produced) < 50  # the first piece left before the last row was made
    rest = [chunk async for chunk in chunks]
    assert len(rest) > 3
    table = parse(first + b"".join(rest))
    assert table[0] == ["n", "text"] and table[-1] == ["49", "row 49"] and len(table) == 51


async def test_the_response_streams_with_its_name():
    response = csv_response("export.csv", ["a"], [["=x"]])
    assert isinstance(response, StreamingResponse)
    assert response.media_type == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="export.csv"'
    assert "content-length" not in response.headers
    assert parse(await collect(response.body_iterator)) == [["a"], ["'=x"]]
