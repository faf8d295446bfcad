"""Uploaded files: stored under opaque keys, size (413) and type (415) limits, streamed back to
exactly those who may read the resource, removed with the resource or when the insert fails.
Streaming, refusal before reading and content sniffing: test_upload_limits.py."""

import contextlib
import re
import uuid

from tests.conftest import assert_problem

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@contextlib.contextmanager
def upload_limit(app, limit: int):
    original = app.state.settings
    app.state.settings = original.model_copy(update={"upload_max_bytes": limit})
    try:
        yield
    finally:
        app.state.settings = original


def stored_files(settings) -> set[str]:
    root = settings.files_dir
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def upload(
    portal, who="t", content=PDF, content_type="application/pdf", filename="../../etc/passwd.pdf", **fields
):
    data = {"title": "Cell diagram", "type": "document", **fields}
    files = {"file": (filename, content, content_type)}
    return await portal.call("POST", "/resources/upload", who, data=data, files=files)


async def test_upload_stores_under_an_opaque_key_and_streams_back(portal, settings, app, db):
    before = stored_files(settings)
    response = await upload(portal, tags=["cells", "biology"], grade_levels=["7"], subject="Biology")
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["file_content_type"], created["file_size"]) == ("application/pdf", len(PDF))
    assert created["file_url"] == f"/resources/{created['id']}/file"
    assert (created["tags"], created["grade_levels"], created["state"]) == (["cells", "biology"], ["7"], "draft")
    new = stored_files(settings) - before
    assert len(new) == 1
    (key,) = new
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", key), key  # nothing of the client's file name
    assert (settings.files_dir / key).read_bytes() == PDF
    download = await portal.call("GET", created["file_url"], "t", 200)
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="Cell-diagram.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_who_may_download_follows_who_may_read(portal, other):
    created = (await upload(portal, class_id=str(portal.school.class_id), state="pending_review")).json()
    url = created["file_url"]
    await portal.call("GET", url, "t", 200)
    await portal.call("GET", url, "oa", 200)
    for who in ("s", "t2", "p"):
        await portal.problem("GET", url, who, 404, "not-found")
    await portal.ok("POST", f"/resources/{created['id']}/approve", "oa")
    for who in ("s", "p", "t2"):  # t2 does not teach the class, but p's child is in it
        response = await portal.call("GET", url, who)
        if who == "t2":
            assert_problem(response, 404)
        else:
            assert response.status_code == 200 and response.content == PDF
    await portal.problem("GET", url, "s2", 404)
    await other.problem("GET", url, "s", 404)
    await other.problem("GET", url, "oa", 404)


async def test_a_resource_without_a_file_has_no_download(portal):
    created = await portal.resource("t")
    await portal.problem("GET", f"/resources/{created['id']}/file", "t", 404, "no-file")


async def test_disallowed_types_are_415(portal, settings):
    before = stored_files(settings)
    for content_type in ("text/html", "application/x-msdownload", "image/svg+xml", ""):
        response = await upload(portal, content=b"<script>alert(1)</script>", content_type=content_type)
        body = assert_problem(response, 415, "unsupported-media-type")
        assert "application/pdf" in body["allowed"]
    # Parameters and case do not matter; a plain text file is allowed.
    response = await upload(portal, content=b"hello", content_type="Text/Plain; charset=utf-8")
    assert response.status_code == 201 and response.json()["file_content_type"] == "text/plain"
    assert len(stored_files(settings) - before) == 1


async def test_too_large_is_413_and_leaves_nothing_behind(portal, settings, app):
    before = stored_files(settings)
    with upload_limit(app, 1000):
        body = assert_problem(
            await upload(portal, content=b"x" * 1001, content_type="text/plain"), 413, "file-too-large"
        )
        assert body["max_bytes"] == 1000 and "at most 1000 bytes" in body["detail"]
        # Far above the limit: refused from the Content-Length, before the form is read.
        assert_problem(await upload(portal, content=b"x" * 400_000, content_type="text/plain"), 413, "file-too-large")
        response = await upload(portal, content=b"x" * 1000, content_type="text/plain")
    assert response.status_code == 201, response.text
    assert len(stored_files(settings) - before) == 1


async def test_bad_uploads_are_problems(portal, settings):
    before = stored_files(settings)
    assert_problem(await upload(portal, content=b"", content_type="text/plain"), 422, "validation")
    no_file = await portal.call("POST", "/resources/upload", "t", data={"title": "x"}, files={"other": ("a", b"x")})
    assert "named 'file'" in assert_problem(no_file, 422, "validation")["detail"]
    no_title = await portal.call("POST", "/resources/upload", "t", files={"file": ("a.txt", b"x", "text/plain")})
    body = assert_problem(no_title, 422, "validation")
    assert body["errors"][0]["loc"] == ["body", "title"]
    bad_type = await upload(portal, type="podcast")
    assert_problem(bad_type, 422, "validation")
    as_json = await portal.call("POST", "/resources/upload", "t", json={"title": "x"})
    assert_problem(as_json, 422, "validation")
    no_boundary = await portal.call(
        "POST", "/resources/upload", "t", content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
    )
    assert_problem(no_boundary, 400)
    two = [("file", ("a.txt", b"a", "text/plain")), ("file", ("b.txt", b"b", "text/plain"))]
    two_files = await portal.call("POST", "/resources/upload", "t", data={"title": "x"}, files=two)
    assert_problem(two_files, 400)
    assert stored_files(settings) == before


async def test_a_refused_insert_removes_the_stored_file(portal, settings):
    before = stored_files(settings)
    assert_problem(await upload(portal, who="s"), 403, "forbidden")
    assert_problem(await upload(portal, who="t", category_id=str(uuid.uuid4())), 422, "invalid-reference")
    assert stored_files(settings) == before


async def test_deleting_the_resource_deletes_the_file(portal, settings):
    before = stored_files(settings)
    created = (await upload(portal)).json()
    (key,) = stored_files(settings) - before
    await portal.ok("DELETE", f"/resources/{created['id']}", "oa", 204)
    assert not (settings.files_dir / key).exists()


async def test_a_file_missing_from_storage_is_a_404_not_a_500(portal, settings):
    before = stored_files(settings)
    created = (await upload(portal)).json()
    (key,) = stored_files(settings) - before
    (settings.files_dir / key).unlink()
    await portal.problem("GET", created["file_url"], "t", 404, "file-missing")


async def test_the_upload_form_is_described_in_openapi(client):
    spec = (await client.get("/openapi.json")).json()
    form = spec["paths"]["/resources/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "the file; its part's Content-Type counts",
    }
    assert form["properties"]["type"]["$ref"] == "#/components/schemas/ResourceType"
    assert set(form["required"]) == {"file", "title"}
