"""Importing OneRoster sets: what a valid set becomes, that a second import changes nothing,
and the hand-written sets of each error class with the report they must give."""

import json

import pytest
from sqlalchemy import text

from tests.roster.support import FIXTURES, issue_lines, make_district, roster_set, run_import, zipped

ERROR_CASES = sorted(
    case.name for case in FIXTURES.iterdir() if (case / "expected.json").exists() and case.name != "unreadable-set"
)


async def rows(db, sql: str, **params) -> list[tuple]:
    async with db.as_service() as session:
        return [tuple(row) for row in (await session.execute(text(sql), params)).all()]


# Every table an import writes, as (table, what identifies the organization's rows).
WRITTEN = {
    "schools": "organization_id = :org",
    "academic_sessions": "organization_id = :org",
    "courses": "organization_id = :org",
    "classes": "organization_id = :org",
    "class_terms": "organization_id = :org",
    "memberships": "organization_id = :org",
    "enrollments": "organization_id = :org",
    "guardianships": "organization_id = :org",
    "invitations": "organization_id = :org",
    "roster_links": "organization_id = :org",
    "users": "managed_by_organization_id = :org",
}


async def digest(db, org_id) -> dict[str, str]:
    """Each written table's rows for the organization, every column (updated_at included)."""
    found = {}
    for table, where in WRITTEN.items():
        found[table] = (
            await rows(
                db,
                f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t where {where}",
                org=org_id,
            )
        )[0][0]
    return found


async def test_a_valid_set_becomes_the_district(db, tmp_path):
    district = await make_district(db)
    report = await run_import(db, district, roster_set("valid-1.1", tmp_path / "set", district, base=None))
    assert report.applied and not report.issues
    assert report.files["demographics"].note.startswith("demographics are not kept")
    assert report.counts["org"]["created"] == 2  # the district is the organization itself
    org = district.org_id
    assert await rows(
        db, "select name, identifier from schools where organization_id = :org order by name", org=org
    ) == [
        ("Riverside High", "RHS"),
        ("Riverside Middle", "RMS"),
    ]
    nested = await rows(
        db,
        """select s.title, s.type::text, p.title from academic_sessions s left join academic_sessions p on p.id = s.parent_id
           where s.organization_id = :org order by s.start_date, s.type""",
        org=org,
    )
    assert ("Q1", "grading_period", "Fall 2026") in nested and ("Fall 2026", "semester", "2026-2027") in nested
    classes = await rows(
        db,
        """select c.name, c.class_code, s.name, co.code, c.subject, c.grade_level,
                  (select count(*) from class_terms t where t.class_id = c.id)
           from classes c join schools s on s.id = c.school_id join courses co on co.id = c.course_id
           where c.organization_id = :org order by c.name""",
        org=org,
    )
    assert classes[0] == ("Algebra I - Period 2", "ALG1-2", "Riverside High", "ALG1", "Mathematics", "09", 2)
    people = dict(
        await rows(
            db,
            """select coalesce(u.email, u.username), string_agg(m.role::text, ',' order by m.role)
               from memberships m join users u on u.id = m.user_id where m.organization_id = :org group by 1""",
            org=org,
        )
    )
    assert people[district.email("ruth.chen")] == "org_admin"
    assert people[district.email("tom.reed")] == "teacher"  # an aide teaches
    assert people[district.email("karl.mueller")] == "parent"  # a guardian is a parent
    assert people["chloe.dubois"] == "student"  # no address: a username, accents folded
    assert (
        await rows(
            db,
            "select disabled_at is not null from users where username = 'dev.patel' and managed_by_organization_id = :org",
            org=org,
        )
    ) == [(True,)]
    # An address outside the district's domains is an invitation, held: no account, no mail.
    held = await rows(db, "select email, roles::text[], sent_at from invitations where organization_id = :org", org=org)
    assert held == [(district.email("lucia.silva", "mail.example.com"), ["parent"], None)]
    assert await rows(db, "select count(*) from users where lower(email) = :email", email=held[0][0]) == [(0,)]
    assert await rows(db, "select count(*) from server.mail_outbox where to_address = :email", email=held[0][0]) == [
        (0,)
    ]
    assert await rows(db, "select count(*) from guardianships where organization_id = :org", org=org) == [(1,)]
    assert await rows(db, "select count(*) from enrollments where organization_id = :org", org=org) == [(9,)]


async def test_importing_the_same_set_again_changes_nothing(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "set", district, base=None)
    await run_import(db, district, folder)
    before = await digest(db, district.org_id)
    again = await run_import(db, district, zipped(folder, tmp_path / "set.zip"))
    assert await digest(db, district.org_id) == before
    assert all(counts["created"] == counts["updated"] == counts["ended"] == 0 for counts in again.counts.values())


async def test_a_dry_run_writes_nothing(db, tmp_path):
    district = await make_district(db)
    report = await run_import(db, district, roster_set("valid-1.1", tmp_path / "set", district, base=None), apply=False)
    assert not report.applied and report.files["users"].rows == 10
    assert set((await digest(db, district.org_id)).values()) == {(await digest(db, None))["schools"]}


async def test_version_1_2_with_roles_gives_the_same_people(db, tmp_path):
    first, second = await make_district(db), await make_district(db)
    await run_import(db, first, roster_set("valid-1.1", tmp_path / "a", first, base=None))
    report = await run_import(db, second, roster_set("valid-1.2", tmp_path / "b", second, base=None))
    assert report.version == "1.2" and not report.issues

    async def roles(district):
        found = await rows(
            db,
            """select coalesce(replace(u.email, :tag, ''), u.username), m.role::text from memberships m
               join users u on u.id = m.user_id where m.organization_id = :org order by 1, 2""",
            org=district.org_id,
            tag=district.tag,
        )
        return found

    assert await roles(first) == await roles(second)
    assert await rows(db, "select display_name from users where email = :e", e=second.email("james.okafor")) == [
        ("Jim Okafor",)
    ]


@pytest.mark.parametrize("case", ERROR_CASES)
async def test_each_error_class_is_reported_and_nothing_is_half_applied(db, tmp_path, case):
    district = await make_district(db)
    folder = roster_set(case, tmp_path / case, district)
    expected = json.loads((FIXTURES / case / "expected.json").read_text())["issues"]
    refused = await run_import(db, district, folder)
    assert issue_lines(refused) == expected
    assert not refused.applied
    assert await rows(db, "select count(*) from roster_links where organization_id = :org", org=district.org_id) == [
        (0,)
    ]
    accepted = await run_import(db, district, folder, accept_errors=True)
    assert accepted.applied and issue_lines(accepted) == expected
    # Exactly the valid rows were applied.
    for stem, entity in (("academicSessions", "academicSession"), ("courses", "course"), ("classes", "class")):
        if stem in accepted.files:
            assert accepted.counts[entity]["created"] == accepted.files[stem].valid, stem
    if "users" in accepted.files:
        assert accepted.counts["user"]["created"] == accepted.files["users"].valid


async def test_a_set_without_a_manifest_is_refused_whole(db, tmp_path):
    district = await make_district(db)
    report = await run_import(db, district, roster_set("unreadable-set", tmp_path / "x", district, base=None))
    assert issue_lines(report) == [["manifest", 0, "error", "unreadable-set"]]
    assert not report.applied
