"""The gradebook on a small class computed by hand: weighted categories, drop-lowest,
excused and missing work, what each role sees, and the CSV export.

Homework (40 %, drop the lowest 1): H1 10 pts, H2 10 pts, H3 20 pts.
Tests (60 %): T1 50 pts, T2 100 pts. A draft assignment D does not show.

    student  H1       H2     H3      T1      T2
    s        10       4      15      40      excused
    s2       missing  8      10      45      missing
    s3       —        —      (ungraded submission)

s:  homework drops H2 (40 %): (10 + 15) / (10 + 20) = 83.333 %; tests 40 / 50 = 80 % (T2 excused)
    course = 0.4 × 83.333 + 0.6 × 80 = 81.33 → B
s2: homework drops H1 (missing, 0 %): (8 + 10) / (10 + 20) = 60 %; tests (45 + 0) / (50 + 100) = 30 %
    course = 0.4 × 60 + 0.6 × 30 = 42.00 → F
s3: nothing counted: no course percentage.
"""

import csv
import io

from tests.conftest import add_student, assert_problem
from tests.grading.support import assignment, category, enroll, grade, ok, turn_in


async def build_class(client, db, settings, make_school):
    school = await make_school()
    await enroll(db, school, "s2")
    await add_student(db, settings, school, "s3")
    t = school.headers["t"]
    homework = await category(client, school, "Homework", 40, drop_lowest=1)
    tests = await category(client, school, "Tests", 60)
    a = {}
    for name, cat, points in (
        ("H1", homework, 10),
        ("H2", homework, 10),
        ("H3", homework, 20),
        ("T1", tests, 50),
        ("T2", tests, 100),
    ):
        a[name] = await assignment(client, school, cat["id"], title=name, points_possible=str(points))
    a["D"] = await assignment(client, school, homework["id"], title="D", publish=False)

    async def graded(who: str, name: str, points: str) -> None:
        work = await turn_in(client, school, a[name]["id"], who=who)
        await grade(client, school, work["id"], points=points, state="final")

    for name, points in (("H1", "10"), ("H2", "4"), ("H3", "15"), ("T1", "40")):
        await graded("s", name, points)
    ok(await client.post(f"/assignments/{a['T2']['id']}/students/{school.people['s']}/excuse", headers=t))
    for name, points in (("H2", "8"), ("H3", "10"), ("T1", "45")):
        await graded("s2", name, points)
    for name in ("H1", "T2"):
        ok(await client.post(f"/assignments/{a[name]['id']}/students/{school.people['s2']}/missing", headers=t))
    await turn_in(client, school, a["H3"]["id"], who="s3")
    return school, a


def by_student(book: dict) -> dict[str, dict]:
    return {row["student_id"]: row for row in book["students"]}


def cell_values(row: dict, columns: list[dict]) -> list:
    cells = {cell["assignment_id"]: cell for cell in row["cells"]}
    return [(cells[c["assignment_id"]]["status"], cells[c["assignment_id"]]["final_points"]) for c in columns]


async def test_gradebook_numbers(client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    book = ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["t"]))
    assert [c["title"] for c in book["assignments"]] == ["H1", "H2", "H3", "T1", "T2"]
    assert [(c["name"], c["weight_percent"], c["drop_lowest"]) for c in book["categories"]] == [
        ("Homework", "40.00", 1),
        ("Tests", "60.00", 0),
    ]
    rows = by_student(book)
    s, s2, s3 = (rows[str(school.people[who])] for who in ("s", "s2", "s3"))
    assert (s["course_percentage"], s["course_letter"]) == ("81.33", "B")
    assert (s2["course_percentage"], s2["course_letter"]) == ("42.00", "F")
    assert (s3["course_percentage"], s3["course_letter"]) == (None, None)
    assert s3["display_name"].startswith("s3")
    assert cell_values(s, book["assignments"]) == [
        ("graded", "10.00"),
        ("graded", "4.00"),
        ("graded", "15.00"),
        ("graded", "40.00"),
        ("excused", None),
    ]
    assert cell_values(s2, book["assignments"]) == [
        ("missing", None),
        ("graded", "8.00"),
        ("graded", "10.00"),
        ("graded", "45.00"),
        ("missing", None),
    ]
    assert cell_values(s3, book["assignments"]) == [
        (None, None),
        (None, None),
        ("submitted", None),
        (None, None),
        (None, None),
    ]
    counted = {c["assignment_id"]: c["counted"] for c in s2["cells"]}
    assert counted[a["H1"]["id"]] and counted[a["T2"]["id"]]  # missing counts (as 0)
    assert not {c["assignment_id"]: c["counted"] for c in s["cells"]}[a["T2"]["id"]]  # excused does not
    # The org admin sees the same book; the JSON and CSV agree with ?format=csv.
    assert ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["oa"])) == book


async def test_students_and_parents_see_their_own_posted_grades(client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    url = f"/classes/{school.class_id}/gradebook"
    # Nothing posted yet: the student's own row has no grades, so no percentage.
    [mine] = ok(await client.get(url, headers=school.headers["s"]))["students"]
    assert mine["student_id"] == str(school.people["s"]) and mine["course_percentage"] is None
    assert {cell["final_points"] for cell in mine["cells"]} == {None}
    # Post the homework: the student now sees 83.33 from homework alone (T1 not posted, T2 excused).
    for name in ("H1", "H2", "H3"):
        ok(await client.post(f"/assignments/{a[name]['id']}/post-grades", headers=school.headers["t"]))
    [mine] = ok(await client.get(url, headers=school.headers["s"]))["students"]
    assert (mine["course_percentage"], mine["course_letter"]) == ("83.33", "B")
    [child] = ok(await client.get(url, headers=school.headers["p"]))["students"]
    assert child == mine
    # The teacher's view is unchanged by posting.
    assert (
        by_student(ok(await client.get(url, headers=school.headers["t"])))[str(school.people["s"])]["course_percentage"]
        == "81.33"
    )
    other = await make_school()
    assert_problem(await client.get(url, headers=other.headers["t"]), 404, "not-found")
    assert_problem(await client.get(f"{url}.csv", headers=other.headers["oa"]), 404, "not-found")


async def test_draft_of_a_later_attempt_keeps_the_graded_one(client, db, settings, make_school):
    school = await make_school()
    cat = await category(client, school, "All", 100)
    a = await assignment(client, school, cat["id"], title="A", points_possible="10", allowed_attempts=2)
    work = await turn_in(client, school, a["id"])
    await grade(client, school, work["id"], points="7", state="final")
    await turn_in(client, school, a["id"], submit=False, body="trying again")
    row = by_student(ok(await client.get(f"/classes/{school.class_id}/gradebook", headers=school.headers["t"])))[
        str(school.people["s"])
    ]
    assert (row["course_percentage"], row["cells"][0]["status"], row["cells"][0]["final_points"]) == (
        "70.00",
        "graded",
        "7.00",
    )


async def test_csv_export(client, db, settings, make_school):
    school, a = await build_class(client, db, settings, make_school)
    response = await client.get(f"/classes/{school.class_id}/gradebook.csv", headers=school.headers["t"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    same = await client.get(
        f"/classes/{school.class_id}/gradebook", params={"format": "csv"}, headers=school.headers["t"]
    )
    assert same.text == response.text
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == [
        "student_id",
        "student",
        "H1 (10.00)",
        "H2 (10.00)",
        "H3 (20.00)",
        "T1 (50.00)",
        "T2 (100.00)",
        "course_percentage",
        "course_letter",
    ]
    rows = {r[0]: r for r in table[1:]}
    assert len(rows) == 3
    assert rows[str(school.people["s"])][2:] == ["10.00", "4.00", "15.00", "40.00", "EX", "81.33", "B"]
    assert rows[str(school.people["s2"])][2:] == ["0", "8.00", "10.00", "45.00", "0", "42.00", "F"]
    assert rows[str(school.people["s3"])][2:] == ["", "", "", "", "", "", ""]
    assert_problem(
        await client.get(
            f"/classes/{school.class_id}/gradebook", params={"format": "xml"}, headers=school.headers["t"]
        ),
        422,
        "validation",
    )


async def test_csv_never_carries_a_formula(client, db, settings, make_school):
    school = await make_school()
    cat = await category(client, school, "All", 100)
    await assignment(client, school, cat["id"], title='=HYPERLINK("http://x")', points_possible="10")
    table = list(
        csv.reader(
            io.StringIO(
                (await client.get(f"/classes/{school.class_id}/gradebook.csv", headers=school.headers["t"])).text
            )
        )
    )
    assert table[0][2].startswith("'=HYPERLINK")
