"""The roster benchmark's generated OneRoster district: the same bytes for the same seed, every
reference resolving, a delta stamped as the spec asks and changing what exists, files the importer
takes without an error; and the benchmark itself at a tiny size."""

import csv
import hashlib
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from bench.oneroster_district import COLUMNS, MANIFEST_FILES, District, delta, generate, manifest, rows
from schoolbase.models import OrganizationDomain
from tests.conftest import Builder

ROOT = Path(__file__).parents[2]
SMALL = District(users=400, classes=24, enrollments=1_500, schools=3)
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.csv"))}


def table(folder: Path, stem: str) -> list[dict[str, str]]:
    return list(rows(folder, stem))


def test_the_same_seed_writes_the_same_bytes_with_the_columns_of_oneroster_1_1(tmp_path):
    generate(tmp_path / "a", SMALL)
    generate(tmp_path / "b", SMALL, zip_to=tmp_path / "b.zip")
    generate(tmp_path / "c", District(users=400, classes=24, enrollments=1_500, schools=3, seed=15))
    assert digests(tmp_path / "a") == digests(tmp_path / "b") != digests(tmp_path / "c")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert sorted(archive.namelist()) == sorted(digests(tmp_path / "a"))
    for stem, columns in COLUMNS.items():
        with (tmp_path / "a" / f"{stem}.csv").open(newline="", encoding="utf-8") as f:
            assert tuple(next(csv.reader(f))) == columns
    assert (tmp_path / "a" / "users.csv").read_bytes().split(b"\n", 1)[0].endswith(b"\r")
    properties = manifest(tmp_path / "a")
    assert properties["manifest.version"] == "1.0" and properties["oneroster.version"] == "1.1"
    assert {stem: properties[f"file.{stem}"] for stem in MANIFEST_FILES} == {
        stem: "bulk" if stem in COLUMNS else "absent" for stem in MANIFEST_FILES
    }


def test_the_bulk_set_is_consistent(tmp_path):
    counts = generate(tmp_path, SMALL)
    data = {stem: table(tmp_path, stem) for stem in COLUMNS}
    assert {stem: len(found) for stem, found in data.items()} == counts
    assert counts["users"] == SMALL.users and counts["classes"] == SMALL.classes
    assert counts["enrollments"] == SMALL.enrollments
    by_id = {stem: {row["sourcedId"]: row for row in found} for stem, found in data.items()}
    assert all(len(by_id[stem]) == len(found) for stem, found in data.items()), "a duplicate sourcedId"
    assert all(row["status"] == row["dateLastModified"] == "" for found in data.values() for row in found)
    orgs, sessions, users, classes = by_id["orgs"], by_id["academicSessions"], by_id["users"], by_id["classes"]
    assert Counter(org["type"] for org in orgs.values()) == {"district": 1, "school": 3}
    assert Counter(s["type"] for s in sessions.values()) == {"schoolYear": 1, "semester": 2, "gradingPeriod": 4}
    assert all(not s["parentSourcedId"] or s["parentSourcedId"] in sessions for s in sessions.values())
    for course in data["courses"]:
        assert course["orgSourcedId"] in orgs and course["schoolYearSourcedId"] in sessions
    for klass in data["classes"]:
        assert klass["courseSourcedId"] in by_id["courses"] and klass["schoolSourcedId"] in orgs
        assert all(term in sessions for term in klass["termSourcedIds"].split(","))
    for user in users.values():
        assert all(org in orgs for org in user["orgSourcedIds"].split(",")) and user["username"]
        for agent in filter(None, user["agentSourcedIds"].split(",")):
            assert user["sourcedId"] in users[agent]["agentSourcedIds"].split(","), "agents go both ways"
    roles = Counter(user["role"] for user in users.values())
    assert roles["student"] == 360 and roles["teacher"] == 20 and roles["administrator"] == 1
    assert roles["parent"] + roles["guardian"] == 19
    addresses = [user["email"].lower() for user in users.values() if user["email"]]
    assert len(set(addresses)) == len(addresses)
    assert {a.partition("@")[2] for a in addresses} == {SMALL.domain, SMALL.outside_domain}
    assert any(user["role"] == "student" and not user["email"] for user in users.values())
    pairs = Counter((e["classSourcedId"], e["userSourcedId"]) for e in data["enrollments"])
    assert max(pairs.values()) == 1
    for enrollment in data["enrollments"]:
        user, klass = users[enrollment["userSourcedId"]], classes[enrollment["classSourcedId"]]
        assert enrollment["schoolSourcedId"] == klass["schoolSourcedId"]
        assert enrollment["schoolSourcedId"] in user["orgSourcedIds"].split(",")
        assert enrollment["role"] == user["role"] in ("teacher", "student")
    teachers = Counter(e["classSourcedId"] for e in data["enrollments"] if e["primary"] == "true")
    assert set(teachers) == set(classes) and max(teachers.values()) == 1
    enrolled = {e["userSourcedId"] for e in data["enrollments"] if e["role"] == "student"}
    assert enrolled == {user["sourcedId"] for user in users.values() if user["role"] == "student"}


def test_the_delta_is_stamped_and_changes_what_exists(tmp_path):
    generate(tmp_path / "bulk", SMALL)
    counts = delta(tmp_path / "bulk", tmp_path / "delta", 0.05, seed=SMALL.seed)
    properties = manifest(tmp_path / "delta")
    assert {stem: properties[f"file.{stem}"] for stem in MANIFEST_FILES} == {
        stem: "delta" if stem in counts else "absent" for stem in MANIFEST_FILES
    }
    assert sorted(path.stem for path in (tmp_path / "delta").glob("*.csv")) == sorted([*counts, "manifest"])
    bulk = {stem: {row["sourcedId"]: row for row in table(tmp_path / "bulk", stem)} for stem in counts}
    changes = {stem: table(tmp_path / "delta", stem) for stem in counts}
    assert {stem: len(found) for stem, found in changes.items()} == counts
    for found in changes.values():
        assert all(row["status"] in ("active", "tobedeleted") and STAMP.fullmatch(row["dateLastModified"])
                   for row in found)  # fmt: skip
    users = bulk["users"] | {row["sourcedId"]: row for row in changes["users"]}
    classes = bulk["classes"] | {row["sourcedId"]: row for row in changes["classes"]}
    withdrawn = {row["sourcedId"] for row in changes["users"] if row["status"] == "tobedeleted"}
    assert withdrawn and all(users[user]["role"] == "student" for user in withdrawn)
    existing = {(e["classSourcedId"], e["userSourcedId"]) for e in bulk["enrollments"].values()}
    for row in changes["enrollments"]:
        assert row["classSourcedId"] in classes and row["userSourcedId"] in users
        assert row["schoolSourcedId"] == classes[row["classSourcedId"]]["schoolSourcedId"]
        if row["status"] == "tobedeleted":
            assert bulk["enrollments"][row["sourcedId"]] == {**row, "status": "", "dateLastModified": ""}
        else:
            assert row["sourcedId"] not in bulk["enrollments"]
            assert (row["classSourcedId"], row["userSourcedId"]) not in existing
            assert row["userSourcedId"] not in withdrawn
    ended = {row["sourcedId"] for row in changes["enrollments"] if row["status"] == "tobedeleted"}
    assert {e for e, row in bulk["enrollments"].items() if row["userSourcedId"] in withdrawn} <= ended
    assert {"active"} == {row["status"] for row in changes["classes"]}
    assert sum(row["sourcedId"] not in bulk["classes"] for row in changes["classes"]) == 1


async def organization_for(db, district: District) -> uuid.UUID:
    async with db.as_service() as session:
        tag = uuid.uuid4().hex[:10]
        org_id = await Builder(session, tag).org(f"Roster bench {tag}", f"roster-bench-{tag}", "America/Chicago")
        session.add(OrganizationDomain(organization_id=org_id, domain=district.domain))
        return org_id


async def test_the_importer_takes_the_district_and_its_delta_without_an_error(db, tmp_path):
    flows = pytest.importorskip("schoolbase.roster.flows")
    district = District(users=300, classes=12, enrollments=900, schools=2, domain=f"{uuid.uuid4().hex[:8]}.example.org",
                        outside_domain=f"{uuid.uuid4().hex[:8]}.example.com")  # fmt: skip
    generate(tmp_path / "bulk", district, zip_to=tmp_path / "bulk.zip")
    delta(tmp_path / "bulk", tmp_path / "delta", seed=district.seed)
    org_id = await organization_for(db, district)
    checked = await flows.import_roster(db, org_id, tmp_path / "bulk.zip", apply=False)
    first = await flows.import_roster(db, org_id, tmp_path / "bulk", apply=True)
    again = await flows.import_roster(db, org_id, tmp_path / "bulk", apply=True)
    changes = await flows.import_roster(db, org_id, tmp_path / "delta", apply=True)
    for report in (checked, first, again, changes):
        assert not report.has_errors, report.to_json()
    assert first.counts["enrollment"]["created"] == 900
    assert not {entity: n for entity, c in again.counts.items() for kind, n in c.items() if kind != "unchanged" and n}
    assert changes.counts["enrollment"]["ended"] > 0 and changes.counts["enrollment"]["created"] > 0


def test_the_benchmark_runs_at_a_tiny_size(server_url):
    pytest.importorskip("schoolbase.roster.flows")
    done = subprocess.run(
        [sys.executable, "bench/roster_import.py", "--users", "200", "--classes", "8", "--enrollments", "500"],
        cwd=ROOT, env={**os.environ, "SCHOOLBASE_DATABASE_URL": server_url}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio re-import/first" in done.stdout and "peak RSS full/half size" in done.stdout
