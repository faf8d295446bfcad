"""The OneRoster 1.1 export: every file's header and rows exactly, the zip holding the
folder's bytes, two exports alike, a grading period's gradebook alone, and who may ask."""

import asyncio
import csv
import io
import re
import zipfile

import pytest
from sqlalchemy import text

from schoolbase.config import get_settings
from schoolbase.roster.export import export_roster
from schoolbase.roster.formats import EXPORT_1_1
from tests.conftest import assert_problem, open_database, signed_in
from tests.roster.district import District, build_district
from tests.roster.support import make_district, roster_set, run_import
from tests.test_cli import cli, use_database

MANIFEST = [
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "bulk"],
    ["file.classes", "bulk"],
    ["file.classResources", "absent"],
    ["file.courses", "bulk"],
    ["file.courseResources", "absent"],
    ["file.demographics", "absent"],
    ["file.enrollments", "bulk"],
    ["file.lineItems", "bulk"],
    ["file.orgs", "bulk"],
    ["file.resources", "absent"],
    ["file.results", "bulk"],
    ["file.users", "bulk"],
    ["source.systemName", "Schoolbase"],
]


@pytest.fixture
async def district(db) -> District:
    return await build_district(db)


async def export(db, district: District, out, **kwargs) -> dict[str, int]:
    async with db.as_service() as session:
        return await export_roster(session, district.org_id, out, **kwargs)


def read(folder, stem: str) -> tuple[list[str], list[list[str]]]:
    raw = (folder / f"{stem}.csv").read_bytes()
    assert raw.endswith(b"\r\n") and not raw.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(raw.decode()))
    return header, rows


def expected(district: District) -> dict[str, list[list[str]]]:
    d = district.sid
    year, fall, q1, q2 = d("year"), d("fall"), d("q1"), d("q2")
    school, home = "district-1-school", d("homeroom")
    email = district.emails
    files = {
        "orgs": [
            ["district-1", "", "", district.name, "district", district.slug, ""],
            [school, "", "", district.name, "school", "", "district-1"],
            ["sch-north", "", "", "North", "school", "N1", "district-1"],
            [d("south"), "", "", "South", "school", "", "district-1"],
        ],
        "academicSessions": [
            [year, "", "", "2026-27", "schoolYear", "2026-08-15", "2027-06-10", "", "2027"],
            [fall, "", "", "Fall", "semester", "2026-08-15", "2026-12-20", year, "2027"],
            [q1, "", "", "Q1", "gradingPeriod", "2026-08-15", "2026-10-15", fall, "2027"],
            [q2, "", "", "Q2", "gradingPeriod", "2026-10-16", "2026-12-20", fall, "2027"],
        ],
        "courses": [
            [d("algebra"), "", "", year, "Algebra", "ALG1", "09,10", "sch-north", "Mathematics", ""],
            [f"{home}-course", "", "", "", "Homeroom", "", "", school, "", ""],
        ],
        "classes": [
            ["cls-alg-a", "", "", "Algebra A", "9", d("algebra"), "ALG-A", "scheduled", "", "sch-north", fall]
            + ["Mathematics", "", ""],
            [home, "", "", "Homeroom", "", f"{home}-course", "", "scheduled", "", school, year, "", "", ""],
        ],
        "users": [
            # t teaches (their enrollments say so) and is s2's parent: the row keeps the parent role.
            ["usr-teacher", "", "", "true", f"{school},sch-north", "parent", email["t"], "", "Tess", "Teacher"]
            + ["", "", email["t"], "", "", d("s2"), "", ""],
            [d("oa"), "", "", "true", "district-1", "administrator", email["oa"], "", "Ola", "Admin"]
            + ["", "", email["oa"], "", "", "", "", ""],
            [d("s"), "", "", "true", f"{school},sch-north", "student", email["s"], "", "Sam", "Student"]
            + ["", "", email["s"], "", "", d("p"), "", ""],
            # s2's enrollment ended: a student of the district, in no school's class now.
            [d("s2"), "", "", "true", "district-1", "student", email["s2"], "", "Sky de la", "Cruz"]
            + ["", "", email["s2"], "", "", "usr-teacher", "", ""],
            [d("p"), "", "", "true", "district-1", "parent", email["p"], "", "Pat", "Parent"]
            + ["", "", email["p"], "", "", d("s"), "", ""],
        ],
        "enrollments": [
            [d("e_t_alg"), "", "", "cls-alg-a", "sch-north", "usr-teacher", "teacher", "", "", ""],
            [d("e_s_alg"), "", "", "cls-alg-a", "sch-north", d("s"), "student", "", "", ""],
            [d("e_t_home"), "", "", home, school, "usr-teacher", "teacher", "", "", ""],
            [d("e_s_home"), "", "", home, school, d("s"), "student", "", "", ""],
        ],
        "categories": [[d("homework"), "", "", "Homework"], [d("checkins"), "", "", "Check-ins"]],
        # The draft is left out; the check-in has no due date: it is written as due the day it
        # opened, and its period is the one that day falls in.
        "lineItems": [
            [d("a1"), "", "", "Quiz 1", "About Quiz 1", "2026-09-01", "2026-09-10", "cls-alg-a", d("homework"), q1]
            + ["0", "10.00"],
            [d("a2"), "", "", "Quiz 2", "About Quiz 2", "2026-09-01", "2026-11-05", "cls-alg-a", d("homework"), q2]
            + ["0", "20.00"],
            [d("a4"), "", "", "Check-in", "", "2026-09-01", "2026-09-01", home, d("checkins"), q1, "0", "1.00"],
        ],
        # Posted at 03:00 UTC on Nov 6 is Nov 5 in New York; drafts and people who left are left out.
        "results": [
            [d("r_s_a1"), "", "", d("a1"), d("s"), "fully graded", "8.50", "2026-09-12", 'Good, "quoted"\nwork'],
            [d("r_s_a2"), "", "", d("a2"), d("s"), "fully graded", "15.00", "2026-11-05", ""],
            [d("r_s2_a1"), "", "", d("a1"), d("s2"), "fully graded", "7.00", "2026-09-12", ""],
        ],
    }
    return {stem: sorted(rows) for stem, rows in files.items()}


async def test_every_file_has_the_1_1_columns_and_the_rows(db, district, tmp_path):
    counts = await export(db, district, tmp_path / "set")
    folder = tmp_path / "set"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["manifest.csv", *(f"{s}.csv" for s in EXPORT_1_1)])
    header, rows = read(folder, "manifest")
    assert (header, rows) == (["propertyName", "value"], MANIFEST)
    for stem, rows in expected(district).items():
        assert read(folder, stem) == (list(EXPORT_1_1[stem]), rows), stem
        assert counts[stem] == len(rows)
    assert read(folder, "lineItems")[0] == (
        "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,"
        "categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax"
    ).split(",")


async def test_the_zip_holds_the_folders_bytes_and_two_exports_are_identical(db, district, tmp_path):
    await export(db, district, tmp_path / "set")
    await export(db, district, tmp_path / "one.zip")
    await export(db, district, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["manifest.csv", *(f"{stem}.csv" for stem in EXPORT_1_1)]
        for name in archive.namelist():
            assert archive.read(name) == (tmp_path / "set" / name).read_bytes(), name


async def test_a_grading_period_exports_its_gradebook_alone_as_a_delta(db, district, tmp_path):
    await export(db, district, tmp_path / "all")
    counts = await export(db, district, tmp_path / "q1", period_id=district.ids["q1"])
    folder = tmp_path / "q1"
    manifest = dict(read(folder, "manifest")[1])
    assert {stem: manifest[f"file.{stem}"] for stem in ("users", "categories", "lineItems", "results")} == {
        "users": "bulk",
        "categories": "delta",
        "lineItems": "delta",
        "results": "delta",
    }
    for stem in ("orgs", "academicSessions", "courses", "classes", "users", "enrollments"):
        assert (folder / f"{stem}.csv").read_bytes() == (tmp_path / "all" / f"{stem}.csv").read_bytes()
    d = district.sid
    ids = {stem: [row[0] for row in read(folder, stem)[1]] for stem in ("categories", "lineItems", "results")}
    # The check-in has no due date: it is in Q1 by the day it is written as due (it opened then).
    assert ids == {
        "categories": sorted([d("homework"), d("checkins")]),
        "lineItems": sorted([d("a1"), d("a4")]),
        "results": sorted([d("r_s_a1"), d("r_s2_a1")]),
    }
    assert counts["results"] == 2
    for stem in ("categories", "lineItems", "results"):
        for row in read(folder, stem)[1]:
            assert row[1] == "active" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row[2]), row


async def test_a_period_of_another_organization_is_not_found(db, district, tmp_path):
    other = await build_district(db)
    async with db.as_service() as session:
        with pytest.raises(Exception, match="grading period"):
            await export_roster(session, district.org_id, tmp_path / "x", period_id=other.ids["q1"])


async def test_an_org_admin_downloads_the_zip_and_a_teacher_may_not(db, settings, client, district, tmp_path):
    url = f"/organizations/{district.org_id}/roster/export"
    admin = await signed_in(db, settings, district.ids["oa"])
    response = await client.get(url, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    # Under row-level security the admin sees all of it: the same bytes as the server's export.
    await export(db, district, tmp_path / "service.zip")
    assert response.content == (tmp_path / "service.zip").read_bytes()

    q1 = await client.get(url, params={"period_id": str(district.ids["q1"])}, headers=admin)
    with zipfile.ZipFile(io.BytesIO(q1.content)) as archive:
        assert archive.read("lineItems.csv").decode().count("\r\n") == 3
    assert_problem(await client.get(url, params={"period_id": str(district.ids["year"])}, headers=admin), 404)

    teacher = await signed_in(db, settings, district.ids["t"])
    assert_problem(await client.get(url, headers=teacher), 403, "forbidden")
    other = await build_district(db)
    assert_problem(await client.get(f"/organizations/{other.org_id}/roster/export", headers=admin), 404)
    assert_problem(await client.get(url), 401)


@pytest.fixture
def cli_database(owner_url, monkeypatch):
    """The CLI pointed at the tests' database (its settings are cached: cleared after)."""
    use_database(monkeypatch, owner_url)
    yield
    get_settings.cache_clear()


def test_the_cli_writes_the_set_as_service_role(urls, cli_database, tmp_path):
    async def build() -> District:
        async with open_database(urls) as database:
            return await build_district(database)

    district = asyncio.run(build())
    result = cli("roster", "export", str(tmp_path / "set.zip"), "--org", district.slug)
    assert result.exit_code == 0, result.output
    assert "users.csv" in result.output and "lineItems.csv" in result.output
    with zipfile.ZipFile(tmp_path / "set.zip") as archive:
        assert "cls-alg-a" in archive.read("classes.csv").decode()
    period = cli("roster", "export", str(tmp_path / "q1"), "--org", district.slug, "--period", str(district.ids["q1"]))
    assert period.exit_code == 0, period.output
    assert sorted(row[0] for row in read(tmp_path / "q1", "lineItems")[1]) == sorted(
        str(district.ids[key]) for key in ("a1", "a4")
    )
    unknown = cli("roster", "export", str(tmp_path / "none"), "--org", "no-such-org")
    assert unknown.exit_code == 1 and "no-such-org" in unknown.output


async def test_people_still_invited_are_exported_with_their_waiting_enrollments(db, tmp_path):
    """A roster's people outside the organization's domains are held invitations until they
    accept: the export lists them and their enrollments under the sourcedIds they came with."""
    district = await make_district(db)
    async with db.as_service() as session:
        await session.execute(
            text("delete from organization_domains where organization_id = :org and domain like 'students.%'"),
            {"org": district.org_id},
        )
    report = await run_import(db, district, roster_set("valid-1.1", tmp_path / "set", district))
    assert report.applied and not report.has_errors
    async with db.as_service() as session:
        await export_roster(session, district.org_id, tmp_path / "out")
    users = {row[0]: row for row in read(tmp_path / "out", "users")[1]}
    assert sorted(users) == ["u-a1", "u-p1", "u-p2", "u-s1", "u-s2", "u-s3", "u-s4", "u-t1", "u-t2", "u-x1"]
    held = users["u-s1"]
    assert (held[4], held[5], held[8], held[9], held[12], held[15]) == (
        "s1",
        "student",
        "Ana",
        "Silva",
        district.email("ana.silva", "students.riverside.example.org"),
        "u-p1",
    )
    assert users["u-p1"][15] == "u-s1,u-s3"
    enrollments = {row[0]: (row[3], row[4], row[5], row[6]) for row in read(tmp_path / "out", "enrollments")[1]}
    assert enrollments["e2"] == ("k-bio1", "s1", "u-s1", "student")
    assert enrollments["e5"] == ("k-alg2", "s1", "u-s1", "student")
    assert sorted(enrollments) == [f"e{n}" for n in range(1, 10)]
    assert enrollments["e6"][3] == "teacher"  # an aide teaches here
