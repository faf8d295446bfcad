"""Reading an upload as it arrives: the multipart form, field by field, and the file's bytes
checked against its declared type while they are copied to storage.

Nothing is spooled. ``UploadForm`` parses ``multipart/form-data`` with python-multipart's
streaming parser straight from the request's body: the small form fields that come before the
file are collected (bounded in count and size), and the body stops being read at the file's
part headers until the caller has decided that this person may upload this resource. Then
``file_chunks`` yields the file's bytes as the client sends them, and ``checked`` counts them
(stopping at the size limit) and compares their real type with the declared one.

The real type is read from the content with ``puremagic`` (pure Python, magic numbers).
Plain text and CSV have no magic number: they are accepted when they are UTF-8 without NUL.
OOXML documents (DOCX, PPTX, XLSX) are zip containers that ``puremagic`` reports only as
"one of the OOXML kinds"; which one is read from the zip's central directory at the end of
the file (``word/``, ``ppt/`` or ``xl/`` next to ``[Content_Types].xml``).
"""

import codecs
import struct
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import puremagic
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from schoolbase.problems import (
    CONTENT_TYPE_MISMATCH,
    FILE_TOO_LARGE,
    FORM_TOO_LARGE,
    INVALID_MULTIPART,
    VALIDATION,
    Problem,
)

# The form fields before the file, their part headers and the multipart framing.
FORM_OVERHEAD_BYTES = 256 * 1024
MAX_FIELDS = 100
MAX_HEADER_BYTES = 16 * 1024
# Enough of the start of a file to recognise every allowed type.
HEAD_BYTES = 8 * 1024
# The end of a zip file kept to read its central directory (OOXML documents list a few
# hundred names at most).
TAIL_BYTES = 1024 * 1024

TEXT_TYPES = frozenset({"text/plain", "text/csv"})
OOXML_PREFIXES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "ppt/",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/",
}


def too_large(limit: int) -> Problem:
    return FILE_TOO_LARGE(f"files may be at most {limit} bytes", max_bytes=limit)


def bad_form(detail: str) -> Problem:
    return INVALID_MULTIPART(detail)


def no_file() -> Problem:
    return VALIDATION("file: send the file as a multipart part named 'file'")


def mismatch(declared: str, detected: str) -> Problem:
    return CONTENT_TYPE_MISMATCH(
        f"the file was sent as {declared!r} but its content is {detected!r}", declared=declared, detected=detected
    )


def media_type(value: str | None) -> str:
    """``Text/Plain; charset=utf-8`` → ``text/plain``."""
    return (value or "").split(";")[0].strip().lower()


@dataclass
class FilePart:
    name: str
    filename: str
    content_type: str


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class UploadForm:
    """One ``multipart/form-data`` body with exactly one file, which comes after the fields.

    ``read_fields()`` reads up to the file part's headers and returns the fields and the file
    part; ``file_chunks()`` then yields the file's bytes and finally checks that nothing but
    the closing boundary follows."""

    def __init__(self, content_type_header: str | None, body: AsyncIterator[bytes]) -> None:
        kind, options = parse_options_header(content_type_header or "")
        if kind != b"multipart/form-data":
            raise VALIDATION("body: send the file and the resource's fields as multipart/form-data")
        boundary = options.get(b"boundary")
        if not boundary:
            raise bad_form("the multipart Content-Type has no boundary")
        try:
            self._parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._on_part_begin,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                    "on_end": self._on_end,
                },
            )
        except FormParserError as exc:
            raise bad_form("the multipart boundary is not valid") from exc
        self._body = body
        self._events: deque[tuple[str, Any]] = deque()
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._header_bytes = 0
        self._in_file = False
        self._finished = False
        self.fields: list[tuple[str, str]] = []
        self.body_bytes = 0
        self.file_bytes = 0

    # python-multipart's callbacks (synchronous, during ``write``): they only queue events.

    def _on_part_begin(self) -> None:
        self._part = _Part()
        self._header_bytes = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._count_header(end - start)

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._count_header(end - start)

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > MAX_HEADER_BYTES:
            raise bad_form("a part's headers are too long")

    def _on_header_end(self) -> None:
        self._part.headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._part.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise bad_form('each part needs a Content-Disposition header with a "name"')
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self._part.filename = options[b"filename"].decode("utf-8", "replace")
            content_type = self._part.headers.get(b"content-type", b"").decode("latin-1")
            self._events.append(("file", FilePart(self._part.name, self._part.filename, media_type(content_type))))
            self._in_file = True
        else:
            if len(self.fields) >= MAX_FIELDS:
                raise bad_form(f"too many form fields (at most {MAX_FIELDS})")
            self._events.append(("field", self._part))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.file_bytes += end - start
            self._events.append(("data", data[start:end]))
        else:
            self._part.data += data[start:end]

    def _on_part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._events.append(("file-end", None))
            return
        try:
            value = self._part.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VALIDATION(f"{self._part.name}: form fields must be UTF-8 text") from exc
        self.fields.append((self._part.name, value))

    def _on_end(self) -> None:
        self._finished = True
        self._events.append(("end", None))

    # Reading

    async def _pull(self) -> None:
        """Read one more chunk of the body into the parser (its events are queued)."""
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            chunk = b""
        except ClientDisconnect as exc:
            raise bad_form("the client went away before the body was complete") from exc
        try:
            if not chunk:
                self._parser.finalize()
                if not self._finished:
                    raise bad_form("the body ended before the closing boundary")
                return
            self.body_bytes += len(chunk)
            self._parser.write(chunk)
        except FormParserError as exc:
            raise bad_form("the multipart body is malformed") from exc
        if self.body_bytes - self.file_bytes > FORM_OVERHEAD_BYTES:
            raise FORM_TOO_LARGE(f"the form fields and part headers may take at most {FORM_OVERHEAD_BYTES} bytes")

    async def _next(self) -> tuple[str, Any]:
        while not self._events:
            await self._pull()
        return self._events.popleft()

    async def read_fields(self) -> FilePart:
        """The fields up to the file part, and the file part's headers; no byte of the file is
        read yet (unless the client sent some in the same network chunk as the headers)."""
        while True:
            kind, value = await self._next()
            if kind == "file":
                if value.name != "file":
                    raise no_file()
                return value
            if kind == "end":
                raise no_file()

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; then the rest of the body, which may hold only the
        closing boundary (the file is the last part)."""
        while True:
            kind, value = await self._next()
            if kind == "data":
                if value:
                    yield value
            elif kind == "file-end":
                break
        while True:
            kind, value = await self._next()
            if kind == "end":
                return
            if kind == "file":
                raise bad_form("send one file only")
            if kind == "field":
                raise bad_form("send the form fields before the file: the file must be the last part")


# The file's real type


def _zip_names(tail: bytes, total: int) -> list[str] | None:
    """The names in a zip's central directory, read from the last ``len(tail)`` bytes of a
    ``total``-byte file; None when it is not there or not a zip."""
    end = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 22 - 65535))
    if end < 0 or end + 22 > len(tail):
        return None
    cd_size, cd_offset = struct.unpack_from("<II", tail, end + 12)
    start = cd_offset - (total - len(tail))
    if start < 0 or start + cd_size > end:
        return None
    names, at = [], start
    while at + 46 <= start + cd_size and tail[at : at + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", tail, at + 28)
        names.append(tail[at + 46 : at + 46 + name_len].decode("utf-8", "replace"))
        at += 46 + name_len + extra_len + comment_len
    return names


def _ooxml_kind(names: list[str] | None) -> str:
    if names is None:
        return "unknown (not a complete zip file)"
    if "[Content_Types].xml" in names:
        for mime, prefix in OOXML_PREFIXES.items():
            if any(name.startswith(prefix) for name in names):
                return mime
    return "application/zip"


def _text_like(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


# ISO base media brands of MP4 files; puremagic knows only some (isom, mp42, M4V).
MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso4",
        b"iso5",
        b"iso6",
        b"iso8",
        b"iso9",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"dash",
        b"mmp4",
        b"MSNV",
        b"f4v ",
    }
)


def _mp4_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO base media file's leading ``ftyp`` box."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return set()
    size = min(struct.unpack_from(">I", head)[0], len(head), 256)
    return {head[8:12]} | {head[at : at + 4] for at in range(16, size - 3, 4)}


def detect(head: bytes) -> list[str]:
    """The MIME types ``puremagic`` sees in the start of a file, most likely first."""
    try:
        found = [m.mime_type for m in puremagic.magic_string(head) if m.mime_type]
    except (puremagic.PureError, ValueError):
        found = []
    if "video/mp4" not in found and _mp4_brands(head) & MP4_BRANDS:
        found.append("video/mp4")
    return found


def _describe(head: bytes) -> str:
    found = detect(head)
    if found:
        return found[0]
    return "text/plain" if _text_like(head) else "application/octet-stream"


async def checked(chunks: AsyncIterator[bytes], declared: str, limit: int) -> AsyncIterator[bytes]:
    """``chunks`` passed through while counting (413 past ``limit``) and checking that the
    content is of the ``declared`` type (415 naming both otherwise, as soon as the start of the
    file shows it). An empty file is a 422. Raises before its last chunk is consumed, so the
    storage removes what it wrote."""
    total = 0
    head = bytearray()
    head_checked = False
    text = declared in TEXT_TYPES
    utf8 = codecs.getincrementaldecoder("utf-8")()
    tail = bytearray() if declared in OOXML_PREFIXES else None

    def check_head() -> None:
        if text:
            return
        if declared not in detect(bytes(head)):
            raise mismatch(declared, _describe(bytes(head)))

    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        if text:
            if b"\x00" in chunk:
                raise mismatch(declared, _describe(bytes(head) or chunk))
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                raise mismatch(declared, _describe(bytes(head) or chunk)) from exc
        if not head_checked:
            head += chunk[: HEAD_BYTES - len(head)]
            if len(head) >= HEAD_BYTES:
                check_head()
                head_checked = True
        if tail is not None:
            tail += chunk
            del tail[:-TAIL_BYTES]
        yield chunk
    if total == 0:
        raise VALIDATION("file: the file is empty")
    if not head_checked:
        check_head()
    if text:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise mismatch(declared, "application/octet-stream") from exc
    if tail is not None:
        kind = _ooxml_kind(_zip_names(bytes(tail), total))
        if kind != declared:
            raise mismatch(declared, kind)
