"""Importing the gradebook files: categories per class, line items as assignments, results as
submissions and final posted grades; a second import changes nothing; the export gives
the same line items and results back under their sourcedIds."""

import csv
import io
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from schoolbase.roster.export import export_roster
from tests.roster.support import issue_lines, make_district, roster_set, run_import


async def rows(db, sql: str, **params) -> list[tuple]:
    async with db.as_service() as session:
        return [tuple(row) for row in (await session.execute(text(sql), params)).all()]


async def test_a_gradebook_becomes_assignments_and_posted_grades(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("gradebook-1.1", tmp_path / "set", district)
    report = await run_import(db, district, folder)
    assert report.applied
    assert not report.has_errors
    gradebook_issues = [
        line for line in issue_lines(report) if line[0] in ("categories.csv", "lineItems.csv", "results.csv")
    ]
    assert gradebook_issues == [["results.csv", 7, "warning", "result-not-kept"]]
    assert {entity: report.counts[entity] for entity in ("category", "lineItem", "result")} == {
        "category": {"created": 3, "updated": 0, "unchanged": 0, "ended": 0},
        "lineItem": {"created": 3, "updated": 0, "unchanged": 0, "ended": 0},
        "result": {"created": 5, "updated": 0, "unchanged": 0, "ended": 0},
    }
    org = district.org_id

    # Homework is used by two classes: one category in each; weights start at 0 (1.1 has none).
    assert await rows(
        db,
        """select c.name, k.class_code, c.weight_percent from assignment_categories c
           join classes k on k.id = c.class_id where c.organization_id = :org order by 2, 1""",
        org=org,
    ) == [("Homework", "ALG1-2", Decimal(0)), ("Homework", "BIO1-1", Decimal(0)), ("Tests", "BIO1-1", Decimal(0))]
    # Due at 23:59 on the due date in the organization's time zone (America/Chicago), open from the assign date.
    assert await rows(
        db,
        """select a.title, a.instructions, a.points_possible, a.state::text,
                  (a.available_from at time zone 'America/Chicago')::text, (a.due_at at time zone 'America/Chicago')::text,
                  c.name, p.title
           from assignments a join assignment_categories c on c.id = a.category_id
           left join academic_sessions p on p.id = private.grading_period_of(a.organization_id, a.class_id, a.due_at)
           where a.organization_id = :org order by a.due_at""",
        org=org,
    ) == [
        (
            "Cell diagram",
            "Label the parts of a cell",
            Decimal(10),
            "published",
            "2026-09-01 00:00:00",
            "2026-09-08 23:59:00",
            "Homework",
            "Q1",
        ),
        ("Unit test 1", None, Decimal(50), "published", "2026-09-20 00:00:00", "2026-09-25 23:59:00", "Tests", "Q1"),
        ("Worksheet 1", None, Decimal(20), "published", "2026-11-03 00:00:00", "2026-11-10 23:59:00", "Homework", "Q2"),
    ]
    assert await rows(
        db,
        """select l.sourced_id, a.title, g.points, g.state::text, (g.posted_at at time zone 'America/Chicago')::date,
                  g.feedback
           from roster_links l join assignment_grades g on g.id = l.target_id
           join assignments a on a.id = g.assignment_id
           where l.organization_id = :org and l.entity = 'result' order by 1""",
        org=org,
    ) == [
        ("r1", "Cell diagram", Decimal("9.00"), "final", date(2026, 9, 10), "Nice labels"),
        ("r3", "Unit test 1", Decimal("42.50"), "final", date(2026, 9, 27), None),
        ("r5", "Worksheet 1", Decimal("18.00"), "final", date(2026, 11, 12), None),
    ]
    assert await rows(
        db,
        """select a.title, u.sourced_id, sub.status::text from assignment_submissions sub
           join assignments a on a.id = sub.assignment_id
           join roster_links u on u.organization_id = sub.organization_id and u.entity = 'user'
             and u.target_id = sub.student_id
           where sub.organization_id = :org order by 1, 2""",
        org=org,
    ) == [
        ("Cell diagram", "u-s1", "returned"),
        ("Cell diagram", "u-s2", "excused"),
        ("Unit test 1", "u-s1", "returned"),
        ("Worksheet 1", "u-s1", "missing"),
        ("Worksheet 1", "u-s3", "returned"),
    ]
    # u-s3 is not in Algebra: the grade is kept on an enrollment that is already over.
    assert await rows(
        db,
        """select k.class_code, e.ended_at is not null from enrollments e join classes k on k.id = e.class_id
           join roster_links l on l.organization_id = e.organization_id and l.entity = 'user' and l.target_id = e.user_id
           where e.organization_id = :org and l.sourced_id = 'u-s3' order by 1""",
        org=org,
    ) == [("ALG1-2", True), ("ENG7-H", False)]

    again = await run_import(db, district, folder)
    assert again.applied
    for entity in ("category", "lineItem", "result"):
        assert again.counts[entity].get("created", 0) == again.counts[entity].get("updated", 0) == 0, entity

    async with db.as_service() as session:
        await export_roster(session, org, tmp_path / "out")
    exported = {
        stem: list(csv.reader(io.StringIO((tmp_path / "out" / f"{stem}.csv").read_text())))[1:]
        for stem in ("lineItems", "results")
    }
    assert [(row[0], row[5], row[6], row[7], row[9], row[11]) for row in exported["lineItems"]] == [
        ("li-alg-1", "2026-11-03", "2026-11-10", "k-alg2", "gp2", "20.00"),
        ("li-bio-1", "2026-09-01", "2026-09-08", "k-bio1", "gp1", "10.00"),
        ("li-bio-2", "2026-09-20", "2026-09-25", "k-bio1", "gp1", "50.00"),
    ]
    assert [(row[0], row[3], row[4], row[6], row[7], row[8]) for row in exported["results"]] == [
        ("r1", "li-bio-1", "u-s1", "9.00", "2026-09-10", "Nice labels"),
        ("r3", "li-bio-2", "u-s1", "42.50", "2026-09-27", ""),
        ("r5", "li-alg-1", "u-s3", "18.00", "2026-11-12", ""),
    ]


async def test_a_closed_grading_period_keeps_its_grades_and_the_changes_wait(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("gradebook-1.1", tmp_path / "set", district)
    assert (await run_import(db, district, folder)).applied
    org = district.org_id
    async with db.as_service() as session:
        await session.execute(
            text("update academic_sessions set closed_at = now() where organization_id = :org and title = 'Q1'"),
            {"org": org},
        )
    results = (
        (folder / "results.csv")
        .read_text()
        .replace("r1,,,li-bio-1,u-s1,fully graded,9,", "r1,,,li-bio-1,u-s1,fully graded,7,")
    )
    (folder / "results.csv").write_text(results)
    items = (
        (folder / "lineItems.csv")
        .read_text()
        .replace("2026-09-08,k-bio1,cat-hw,gp1,0,10", "2026-09-09,k-bio1,cat-hw,gp1,0,12")
    )
    (folder / "lineItems.csv").write_text(items)

    waiting = await run_import(db, district, folder)
    assert waiting.applied and not waiting.has_errors
    assert [line for line in issue_lines(waiting) if line[3] in ("period-closed", "points-fixed")] == [
        ["lineItems.csv", 2, "warning", "period-closed"],
        ["lineItems.csv", 2, "warning", "points-fixed"],
        ["results.csv", 2, "warning", "period-closed"],
    ]
    graded = """select (a.due_at at time zone 'America/Chicago')::date, a.points_possible, g.points
                from assignment_grades g join assignments a on a.id = g.assignment_id
                join roster_links l on l.target_id = g.id and l.entity = 'result' where l.sourced_id = 'r1'
                and l.organization_id = :org"""
    assert await rows(db, graded, org=org) == [(date(2026, 9, 8), Decimal(10), Decimal(9))]

    async with db.as_service() as session:
        await session.execute(
            text("update academic_sessions set closed_at = null, state_note = 'regrade' where organization_id = :org"),
            {"org": org},
        )
    reopened = await run_import(db, district, folder)
    # Reopened: the due date and the grade change; the points possible of a graded line item never do.
    assert reopened.applied
    assert [line for line in issue_lines(reopened) if line[3] in ("period-closed", "points-fixed")] == [
        ["lineItems.csv", 2, "warning", "points-fixed"]
    ]
    assert await rows(db, graded, org=org) == [(date(2026, 9, 9), Decimal(10), Decimal(7))]
