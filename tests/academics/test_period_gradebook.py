"""The gradebook per grading period (only the assignments due in it, the course percentage
over them, each student's override beside the computed grade) and for the year, as JSON and
CSV alike."""

import csv
import io
from decimal import Decimal

from tests.academics.support import close, school_year
from tests.academics.test_closing import IN_Q1, IN_Q3
from tests.conftest import assert_problem
from tests.grading.support import assignment, category, grade, ok, turn_in


async def test_period_and_year(client, make_school):
    school = await make_school(time_zone="America/Los_Angeles")
    t, s = school.headers["t"], school.headers["s"]
    y = await school_year(client, school)
    cat = await category(client, school, weight=100)
    graded = {}
    for due, points in ((IN_Q1, "6"), (IN_Q3, "10"), ("2030-08-20T12:00:00Z", "2")):
        a = await assignment(client, school, cat["id"], points_possible="10", due_at=due)
        work = await turn_in(client, school, a["id"])
        await grade(client, school, work["id"], points=points, state="final")
        graded[due] = a["id"]
    # Due 06:30 UTC on Nov 1 is still October 31 in Los Angeles: in Q1.
    edge = await assignment(client, school, cat["id"], points_possible="10", due_at="2030-11-01T06:30:00Z")
    url = f"/classes/{school.class_id}/gradebook"

    year = ok(await client.get(url, headers=t))
    assert year["period_id"] is None and len(year["assignments"]) == 4
    assert Decimal(year["students"][0]["course_percentage"]) == Decimal("60")  # 18 / 30
    q1 = ok(await client.get(url, params={"period_id": y.q1["id"]}, headers=t))
    assert [a["assignment_id"] for a in q1["assignments"]] == [graded[IN_Q1], edge["id"]]
    assert Decimal(q1["students"][0]["course_percentage"]) == Decimal("60")
    q3 = ok(await client.get(url, params={"period_id": y.q3["id"]}, headers=t))
    assert [a["assignment_id"] for a in q3["assignments"]] == [graded[IN_Q3]]
    assert Decimal(q3["students"][0]["course_percentage"]) == Decimal("100")
    assert q3["students"][0]["override"] is None
    assert_problem(await client.get(url, params={"period_id": y.fall["id"]}, headers=t), 422, "validation")

    override = f"/classes/{school.class_id}/grading-periods/{y.q1['id']}/overrides/{school.people['s']}"
    ok(await client.put(override, json={"percent": "75", "letter": "C", "reason": "Retake counted"}, headers=t))
    q1 = ok(await client.get(url, params={"period_id": y.q1["id"]}, headers=t))
    row = q1["students"][0]
    assert Decimal(row["course_percentage"]) == Decimal("60")
    assert (Decimal(row["override"]["percent"]), row["override"]["letter"], row["override"]["reason"]) == (
        Decimal("75"),
        "C",
        "Retake counted",
    )
    # The student sees no override until the period is closed (and only posted grades).
    assert ok(await client.get(url, params={"period_id": y.q1["id"]}, headers=s))["students"][0]["override"] is None
    await close(client, school, y.q1["id"])
    assert ok(await client.get(url, params={"period_id": y.q1["id"]}, headers=s))["students"][0]["override"]

    # The CSV is the API's gradebook, with the override's columns for a period.
    for params, book in (({}, year), ({"period_id": y.q1["id"]}, q1)):
        for path, extra in ((url, {"format": "csv"}), (f"{url}.csv", {})):
            response = await client.get(path, params={**params, **extra}, headers=t)
            rows = list(csv.reader(io.StringIO(response.text)))
            assert len(rows[0]) == 2 + len(book["assignments"]) + 2 + (3 if params else 0)
            if params:
                assert rows[0][-3:] == ["override_percent", "override_letter", "override_reason"]
                assert rows[1][-3:] == ["75.00", "C", "Retake counted"]
            assert Decimal(rows[1][-5 if params else -2]) == Decimal(book["students"][0]["course_percentage"])
