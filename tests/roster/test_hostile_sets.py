"""Sets no system should send, and the importer's answer: a report, never a crash."""

import zipfile

import pytest

from tests.roster.support import make_district, roster_set, run_import, zipped


def _damage(folder, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)


CASES = {
    "nul-in-a-field": ("users.csv", lambda text: text.replace(b"Maria", b"Ma\x00ria"), "invalid-value"),
    "header-only": ("enrollments.csv", lambda text: text.splitlines(keepends=True)[0], None),
    "empty-file": ("courses.csv", lambda text: b"", "missing-column"),
    "bom-and-crlf": ("orgs.csv", lambda text: b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"), None),
    "huge-field": ("users.csv", lambda text: text.replace(b"Maria", b"M" * 200_000), "unreadable-file"),
    "unbalanced-quote": ("classes.csv", lambda text: text.replace(b'"09,10"', b'"09,10'), None),
    "overlong-sourced-id": ("orgs.csv", lambda text: text.replace(b"s2,,,", b"s" * 300 + b",,,"), "invalid-value"),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_damaged_file_is_reported_not_a_crash(db, tmp_path, case):
    name, change, code = CASES[case]
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "set", district, base=None)
    _damage(folder, name, change((folder / name).read_bytes()))
    report = await run_import(db, district, folder)
    if code is None:
        assert report.applied or report.has_errors
    else:
        assert code in {issue.code for issue in report.issues}
        assert not report.applied


async def test_a_damaged_zip_is_refused_whole(db, tmp_path):
    district = await make_district(db)
    archive = zipped(roster_set("valid-1.1", tmp_path / "set", district, base=None), tmp_path / "set.zip")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2] + b"\x00" * 64 + data[len(data) // 2 + 64 :])
    report = await run_import(db, district, archive)
    assert report.has_errors and not report.applied
    not_a_zip = tmp_path / "roster.zip"
    not_a_zip.write_bytes(b"PK\x03\x04 this is not really a zip")
    report = await run_import(db, district, not_a_zip)
    assert [issue.code for issue in report.issues] == ["unreadable-set"]


async def test_two_manifests_in_a_zip_are_refused(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "set", district, base=None)
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for prefix in ("a/", "b/"):
            out.write(folder / "manifest.csv", f"{prefix}manifest.csv")
    report = await run_import(db, district, archive)
    assert [issue.code for issue in report.issues] == ["unreadable-set"]


async def test_value_sets_are_read_without_regard_to_case(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "set", district, base=None)
    users = (folder / "users.csv").read_text().replace(",teacher,", ",Teacher,").replace(",true,", ",TRUE,")
    (folder / "users.csv").write_text(users)
    report = await run_import(db, district, folder)
    assert report.applied and not report.issues
