"""Deltas and removals: changes apply, removed people and enrollments end, and nothing a
student did is deleted."""

import shutil

from sqlalchemy import text

from tests.roster.support import make_district, roster_set, run_import
from tests.roster.test_import import digest, rows


async def _graded_work(db, district, student_email: str, class_code: str) -> None:
    """An assignment in the class with the student's submission and a grade, as a teacher would leave them."""
    async with db.as_service() as session:
        params = {"org": district.org_id, "email": student_email, "code": class_code}
        await session.execute(
            text(
                """with c as (select id from classes where organization_id = :org and class_code = :code),
                        cat as (insert into assignment_categories (organization_id, class_id, name, weight_percent)
                                select :org, id, 'Homework', 100 from c returning id, class_id),
                        a as (insert into assignments (organization_id, class_id, category_id, title, points_possible, state)
                              select :org, class_id, id, 'Cells', 10, 'published' from cat returning id, class_id),
                        s as (insert into assignment_submissions (organization_id, class_id, assignment_id, student_id, status, submitted_at)
                              select :org, a.class_id, a.id, u.id, 'submitted', now() from a, users u where u.email = :email
                              returning id, class_id, assignment_id, student_id)
                   insert into assignment_grades (organization_id, class_id, assignment_id, submission_id, student_id,
                                                  points, points_possible, state)
                   select :org, class_id, assignment_id, id, student_id, 8, 10, 'final' from s"""
            ),
            params,
        )


async def test_a_delta_applies_changes_and_ends_without_deleting(db, tmp_path):
    district = await make_district(db)
    await run_import(db, district, roster_set("valid-1.1", tmp_path / "base", district, base=None))
    ben = district.email("ben.muller", "students.riverside.example.org")
    await _graded_work(db, district, ben, "BIO1-1")
    delta = roster_set("delta", tmp_path / "delta", district, base=None)
    report = await run_import(db, district, delta)
    assert report.applied and not report.issues, report.issues
    assert report.counts["user"] == {"created": 1, "updated": 1, "unchanged": 0, "ended": 1}
    assert report.counts["enrollment"]["ended"] == 1 and report.counts["enrollment"]["created"] == 3
    assert report.counts["class"] == {"created": 1, "updated": 1, "unchanged": 0, "ended": 0}
    org = district.org_id
    assert await rows(db, "select display_name from users where email = :e", e=ben) == [("Ben Miller",)]
    # Ben left Biology period 1: the enrollment ended, his submission and grade stay.
    assert await rows(
        db,
        """select c.class_code, e.ended_at is not null from enrollments e join classes c on c.id = e.class_id
           join users u on u.id = e.user_id where e.organization_id = :org and u.email = :e order by 1""",
        org=org,
        e=ben,
    ) == [("BIO1-1", True), ("BIO1-3", False)]
    assert await rows(
        db,
        "select count(*) from assignment_grades g join users u on u.id = g.student_id where u.email = :e",
        e=ben,
    ) == [(1,)]
    # Dev was removed: his memberships and enrollments end, the account stays.
    assert await rows(
        db,
        """select bool_and(m.ended_at is not null) from memberships m join users u on u.id = m.user_id
           where m.organization_id = :org and u.username = 'dev.patel'""",
        org=org,
    ) == [(True,)]
    assert await rows(
        db, "select name from classes where organization_id = :org and class_code = 'ENG7-H'", org=org
    ) == [("English 7 - Homeroom B",)]
    before = await digest(db, org)
    again = await run_import(db, district, delta)
    assert await digest(db, org) == before
    assert all(counts["created"] == counts["updated"] == 0 for counts in again.counts.values())


async def test_a_bulk_set_without_someone_ends_them(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "base", district, base=None)
    await run_import(db, district, folder)
    smaller = tmp_path / "smaller"
    shutil.copytree(folder, smaller)
    for name, drop in (("users.csv", "u-s4,"), ("enrollments.csv", "e9,")):
        lines = (smaller / name).read_text().splitlines(keepends=True)
        (smaller / name).write_text("".join(line for line in lines if not line.startswith(drop)))
    report = await run_import(db, district, smaller)
    assert report.counts["user"]["ended"] == 1 and report.counts["enrollment"]["ended"] == 1
    assert await rows(
        db,
        """select count(*) from memberships m join users u on u.id = m.user_id
           where m.organization_id = :org and u.username = 'dev.patel' and m.ended_at is null""",
        org=district.org_id,
    ) == [(0,)]
    back = await run_import(db, district, folder)
    assert back.counts["user"]["updated"] + back.counts["user"]["unchanged"] == 10
    assert await rows(
        db,
        """select count(*) from memberships m join users u on u.id = m.user_id
           where m.organization_id = :org and u.username = 'dev.patel' and m.ended_at is null""",
        org=district.org_id,
    ) == [(1,)]
