"""The org admin's roster pages over HTTP: upload a OneRoster zip, follow its check, read the
report, accept (errors only when that is ticked) or cancel, see the summary; the held
invitations an import leaves are sent from the invitations page."""

import asyncio
import io
import time
import zipfile

from schoolbase.models import RosterImportState
from tests.roster.test_upload_jobs import stored_import
from tests.roster.upload_support import district_zip, with_an_error
from tests.tenancy.test_held_invitations import held, messages
from tests.web.learning_support import text_of
from tests.web.support import as_person, form_token, submit
from tests.web.test_admin_pages import notice


async def upload_page(http, school, content: bytes, name: str = "district.zip", token: str | None = None):
    page = await http.get("/admin/roster")
    assert page.status_code == 200, page.text
    fields = {
        "csrf_token": token if token is not None else form_token(page.text),
        "organization_id": str(school.org_id),
    }
    return await http.post("/admin/roster", data=fields, files={"file": (name, content, "application/zip")})


async def wait_on_page(http, url: str, state: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        progress = (await http.get(url + "/progress")).json()
        if progress["state"] == state:
            return progress
        assert progress["state"] not in ("failed", "cancelled", "completed"), progress
        assert time.monotonic() < deadline, progress
        await asyncio.sleep(0.05)


async def test_an_admin_uploads_reads_the_report_accepts_and_sees_the_summary(app, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        uploaded = await upload_page(http, school, district_zip())
        assert uploaded.status_code == 303, uploaded.text
        url = uploaded.headers["location"]
        first = await http.get(url)
        assert "district.zip was uploaded" in notice(first)
        progress = await wait_on_page(http, url, "validated")
        assert progress["finished"] and progress["summary"] == "Checked: waiting for you to accept."

        page = await http.get(url)
        text = text_of(page.text)
        assert "Report per file" in text and "users.csv" in text and "OneRoster 1.1 from handsis" in text
        assert "The files were read without errors" in text and "Errors and warnings" not in text
        assert 'src="/static/app/roster.js"' not in page.text  # nothing left to follow

        accepted = await submit(http, url, url + "/accept", {})
        assert accepted.status_code == 303 and accepted.headers["location"] == url
        await wait_on_page(http, url, "completed")
        done = text_of((await http.get(url)).text)
        assert "What was imported" in done and "People 4" in done.replace(" :", "")

        roster = await http.get("/admin/roster")
        assert 'href="/admin/roster" aria-current="page"' in roster.text
        assert url in roster.text and "Imported" in text_of(roster.text)


async def test_errors_are_listed_by_line_and_imported_around_only_when_ticked(app, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        url = (await upload_page(http, school, district_zip(with_an_error))).headers["location"]
        await wait_on_page(http, url, "validated")
        page = await http.get(url)
        assert "Errors and warnings" in text_of(page.text) and 'name="accept_errors"' in page.text

        refused = await submit(http, url, url + "/accept", {})
        assert refused.status_code == 409
        assert "accept_errors" in text_of(refused.text) and 'href="#field-accept"' in refused.text

        accepted = await submit(http, url, url + "/accept", {"accept_errors": "on"})
        assert accepted.status_code == 303
        await wait_on_page(http, url, "completed")


async def test_refusals_come_back_on_the_page(app, db, settings, make_school):
    school, other = await make_school(), await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        not_zip = await upload_page(http, school, b"sourcedId,status\n", name="users.csv")
        assert not_zip.status_code == 415 and "one .zip file" in text_of(not_zip.text)
        assert 'id="error-file"' in not_zip.text
        forged = await upload_page(http, school, district_zip(), token="forged")
        assert forged.status_code == 403 and "reload the page" in forged.text

        url = (await upload_page(http, school, district_zip())).headers["location"]
        await wait_on_page(http, url, "validated")
        cancelled = await submit(http, url, url + "/cancel", {})
        assert cancelled.status_code == 303 and "is cancelled" in notice(await http.get("/admin/roster"))
        late = await submit(http, "/admin/roster", url + "/accept", {})
        assert late.status_code == 409 and "this import is cancelled" in text_of(late.text)

    async with await as_person(app, db, settings, other.people["oa"]) as http:
        assert (await http.get(url)).status_code == 404
        assert (await http.get(url + "/progress")).status_code == 404
    async with await as_person(app, db, settings, school.people["t"]) as http:
        assert (await http.get("/admin/roster")).status_code == 403
        assert (await upload_page_as_teacher(http, school)).status_code == 403


async def upload_page_as_teacher(http, school):
    """The form of a page a teacher may open, posted to the roster upload."""
    page = await http.get("/account/password")
    fields = {"csrf_token": form_token(page.text), "organization_id": str(school.org_id)}
    return await http.post("/admin/roster", data=fields, files={"file": ("a.zip", district_zip(), "application/zip")})


async def test_held_invitations_are_shown_and_sent_from_the_invitations_page(app, db, settings, make_school):
    school = await make_school()
    one, *rest = await held(db, school.org_id, "a", "b", "c")
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        page = await http.get("/admin/invitations")
        text = text_of(page.text)
        assert "3 invitations from a roster import are held" in text and "Held" in text and "Not yet" in text
        sent_one = await submit(http, "/admin/invitations", f"/admin/invitations/{one}/resend", {})
        assert sent_one.status_code == 303
        assert "was sent." in notice(await http.get("/admin/invitations"))
        assert await messages(db, [one]) == 1

        sent = await submit(http, "/admin/invitations", "/admin/invitations/send-held", {})
        assert sent.status_code == 303
        after = await http.get("/admin/invitations")
        assert notice(after) == "2 held invitations were sent."
        assert "Held invitations" not in text_of(after.text)
        assert await messages(db, rest) == 2


async def test_an_import_being_checked_shows_its_progress(app, db, settings, make_school):
    school = await make_school()
    import_id = await stored_import(
        db, school, RosterImportState.validating, None, app.state.roster, 12000, stalled=False
    )
    url = f"/admin/roster/imports/{import_id}"
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        page = await http.get(url)
        progress = (await http.get(url + "/progress")).json()
    assert "Checking the files: 12,000 rows read." in text_of(page.text)
    assert f'data-progress-url="{url}/progress"' in page.text and 'src="/static/app/roster.js"' in page.text
    assert "Accept the report" not in text_of(page.text) and "Cancel this import" not in text_of(page.text)
    assert progress == {
        "state": "validating",
        "rows_done": 12000,
        "rows_total": 0,
        "finished": False,
        "summary": "Checking the files: 12,000 rows read.",
    }


async def test_the_org_admin_downloads_the_export_from_the_roster_page(app, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as client:
        page = await client.get("/admin/roster")
        assert "Export as OneRoster" in page.text
        download = await client.get("/admin/roster/export.zip")
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert "manifest.csv" in archive.namelist() and "users.csv" in archive.namelist()
    async with await as_person(app, db, settings, school.people["t"]) as client:
        assert (await client.get("/admin/roster/export.zip")).status_code == 403
