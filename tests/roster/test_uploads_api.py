"""An org admin's roster upload through the API: upload → validated (report) → accepted →
completed (summary), the states in which accepting and cancelling are refused, what is not a
zip, and who may do any of it."""

import zipfile

from schoolbase.roster.jobs import RosterFiles
from tests.roster.upload_support import district_zip, imports_url, upload, wait_for, with_an_error


def stored(settings, import_id) -> bool:
    return RosterFiles(settings.files_dir / "roster").path(import_id).exists()


async def test_an_upload_is_validated_then_imported_once_accepted(client, make_school, settings):
    school = await make_school()
    oa = school.headers["oa"]
    response = await upload(client, oa, school.org_id, district_zip(folder="export-2026/"))
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["state"], queued["file_name"], queued["requested_by"]) == (
        "queued",
        "district.zip",
        str(school.people["oa"]),
    )

    checked = await wait_for(client, oa, school.org_id, queued["id"], ("validated",))
    report = checked["report"]
    assert (checked["oneroster_version"], checked["source_system"]) == ("1.1", "handsis")
    assert not report["has_errors"]
    files = {f["file"]: f for f in report["files"]}
    assert (files["users.csv"]["rows"], files["users.csv"]["valid"], files["users.csv"]["errors"]) == (4, 4, 0)
    assert "skipped" in files["demographics.csv"]["note"]
    assert checked["rows_done"] == checked["rows_total"] > 0
    assert checked["summary"] == {} and checked["accepted_by"] is None
    assert stored(settings, queued["id"])

    listed = await client.get(imports_url(school.org_id), headers=oa)
    assert [item["id"] for item in listed.json()["items"]] == [queued["id"]]
    assert "report" not in listed.json()["items"][0]

    accepted = await client.post(imports_url(school.org_id, queued["id"], "accept"), headers=oa)
    assert accepted.status_code == 202, accepted.text
    assert (accepted.json()["state"], accepted.json()["accepted_by"]) == ("applying", str(school.people["oa"]))
    done = await wait_for(client, oa, school.org_id, queued["id"], ("completed",))
    assert done["summary"]["user"]["created"] == 4
    assert done["report"]["applied"] and done["finished_at"] and done["accepted_at"]
    assert not stored(settings, queued["id"])

    # People outside the organization's domains were invited, held until an admin sends them.
    invitations = (await client.get(f"/organizations/{school.org_id}/invitations", headers=oa)).json()["items"]
    assert sorted((i["email"], i["state"], i["sent_at"]) for i in invitations) == [
        ("bea.noor@example.org", "held", None),
        ("paula.king@example.org", "held", None),
        ("teresa.lopez@example.org", "held", None),
    ]
    sent = await client.post(f"/organizations/{school.org_id}/invitations/send-held", headers=oa)
    assert sent.json() == {"sent": 3}


async def test_a_report_with_errors_is_accepted_only_when_that_is_said(client, make_school):
    school = await make_school()
    oa = school.headers["oa"]
    created = (await upload(client, oa, school.org_id, district_zip(with_an_error))).json()
    checked = await wait_for(client, oa, school.org_id, created["id"], ("validated",))
    assert checked["report"]["has_errors"]
    issue = next(i for i in checked["report"]["issues"] if i["severity"] == "error")
    assert (issue["file"], issue["line"]) == ("users.csv", 6)

    refused = await client.post(imports_url(school.org_id, created["id"], "accept"), headers=oa, json={})
    assert (refused.status_code, refused.json()["type"].rsplit("/", 1)[-1]) == (409, "report-has-errors")
    assert refused.json()["errors"] >= 1

    accepted = await client.post(
        imports_url(school.org_id, created["id"], "accept"), headers=oa, json={"accept_errors": True}
    )
    assert accepted.status_code == 202, accepted.text
    await wait_for(client, oa, school.org_id, created["id"], ("completed",))


async def test_accepting_and_cancelling_only_in_their_states(client, make_school, settings):
    school = await make_school()
    oa = school.headers["oa"]
    first = (await upload(client, oa, school.org_id, district_zip())).json()
    await wait_for(client, oa, school.org_id, first["id"], ("validated",))
    cancelled = await client.post(imports_url(school.org_id, first["id"], "cancel"), headers=oa)
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert not stored(settings, first["id"])
    for action in ("accept", "cancel"):
        again = await client.post(imports_url(school.org_id, first["id"], action), headers=oa)
        assert again.status_code == 409, again.text
        assert (again.json()["type"].rsplit("/", 1)[-1], again.json()["state"]) == ("import-state", "cancelled")

    second = (await upload(client, oa, school.org_id, district_zip())).json()
    await wait_for(client, oa, school.org_id, second["id"], ("validated",))
    await client.post(imports_url(school.org_id, second["id"], "accept"), headers=oa)
    await wait_for(client, oa, school.org_id, second["id"], ("completed",))
    for action in ("accept", "cancel"):
        late = await client.post(imports_url(school.org_id, second["id"], action), headers=oa)
        assert (late.status_code, late.json()["state"]) == (409, "completed")


async def test_what_is_not_a_zip_is_refused_before_anything_is_stored(client, make_school, settings, monkeypatch):
    school = await make_school()
    oa = school.headers["oa"]
    named_csv = await upload(client, oa, school.org_id, b"sourcedId\n", name="users.csv", kind="text/csv")
    assert (named_csv.status_code, named_csv.json()["type"].rsplit("/", 1)[-1]) == (415, "not-a-zip")
    disguised = await upload(client, oa, school.org_id, b"sourcedId,status\nx,active\n")
    assert (disguised.status_code, disguised.json()["type"].rsplit("/", 1)[-1]) == (415, "not-a-zip")
    empty = await upload(client, oa, school.org_id, b"")
    assert empty.status_code == 422
    no_file = await client.post(imports_url(school.org_id), headers=oa, data={"note": "x"}, files={})
    assert no_file.status_code in (400, 422)
    monkeypatch.setattr(settings, "roster_upload_max_bytes", 1000)
    large = await upload(client, oa, school.org_id, district_zip() + b"\0" * 2000)
    assert (large.status_code, large.json()["max_bytes"]) == (413, 1000)
    assert (await client.get(imports_url(school.org_id), headers=oa)).json()["items"] == []


async def test_a_zip_that_is_no_oneroster_set_fails_with_why(client, make_school, settings, tmp_path):
    school = await make_school()
    oa = school.headers["oa"]
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.txt", "not a roster")
    created = (await upload(client, oa, school.org_id, path.read_bytes())).json()
    failed = await wait_for(client, oa, school.org_id, created["id"], ("failed",))
    assert "manifest.csv" in failed["error"] and failed["finished_at"]
    assert not stored(settings, created["id"])


async def test_only_the_organizations_admins_see_or_touch_its_imports(client, make_school):
    school, other = await make_school(), await make_school()
    created = (await upload(client, school.headers["oa"], school.org_id, district_zip())).json()
    await wait_for(client, school.headers["oa"], school.org_id, created["id"], ("validated",))
    one = imports_url(school.org_id, created["id"])
    for who, headers, status in (
        ("other org's admin", other.headers["oa"], 404),
        ("teacher", school.headers["t"], 403),
    ):
        assert (await upload(client, headers, school.org_id, district_zip())).status_code == status, who
        assert (await client.get(imports_url(school.org_id), headers=headers)).status_code == status, who
        assert (await client.get(one, headers=headers)).status_code == status, who
        assert (await client.post(one + "/accept", headers=headers)).status_code == status, who
        assert (await client.post(one + "/cancel", headers=headers)).status_code == status, who
    # Asked under its own organization's path, another organization's import does not exist.
    elsewhere = imports_url(other.org_id, created["id"])
    assert (await client.get(elsewhere, headers=other.headers["oa"])).status_code == 404
    assert (await client.post(elsewhere + "/accept", headers=other.headers["oa"])).status_code == 404
    assert (await client.get(one, headers=school.headers["oa"])).json()["state"] == "validated"
    assert (await client.post(imports_url(school.org_id), files={"file": ("a.zip", b"PK")})).status_code == 401


async def test_a_hostile_file_name_is_kept_as_printable_text_without_its_folders(client, make_school):
    school = await make_school()
    boundary = "hostileboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="C:\\x\\..\\a\x00b\u202e.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + district_zip()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**school.headers["oa"], "content-type": f"multipart/form-data; boundary={boundary}"}
    response = await client.post(imports_url(school.org_id), headers=headers, content=body)
    assert response.status_code == 202, response.text
    assert response.json()["file_name"] == "ab.zip"
