"""Helpers for the academics tests: a school year with two semesters and a grading period
in each, made through the API by a ``make_school`` school's org admin."""

from dataclasses import dataclass

from tests.grading.support import ok


@dataclass
class Year:
    year: dict
    fall: dict
    spring: dict
    q1: dict  # a grading period of the fall semester: 2030-09-01 .. 2030-10-31
    q3: dict  # a grading period of the spring semester: 2031-01-15 .. 2031-03-31


async def session(client, school, who: str = "oa", status: int = 201, **body) -> dict:
    response = await client.post(
        f"/organizations/{school.org_id}/academic-sessions", json=body, headers=school.headers[who]
    )
    return ok(response, status)


async def school_year(client, school) -> Year:
    year = await session(
        client, school, title="2030-31", type="school_year", start_date="2030-08-15", end_date="2031-06-30"
    )
    fall, spring = [
        await session(client, school, title=title, type="semester", start_date=s, end_date=e, parent_id=year["id"])
        for title, s, e in (("Fall", "2030-08-15", "2031-01-14"), ("Spring", "2031-01-15", "2031-06-30"))
    ]
    q1 = await session(
        client,
        school,
        title="Q1",
        type="grading_period",
        start_date="2030-09-01",
        end_date="2030-10-31",
        parent_id=fall["id"],
    )
    q3 = await session(
        client,
        school,
        title="Q3",
        type="grading_period",
        start_date="2031-01-15",
        end_date="2031-03-31",
        parent_id=spring["id"],
    )
    return Year(year, fall, spring, q1, q3)


async def close(client, school, period_id: str, who: str = "oa", status: int = 200) -> dict:
    return ok(await client.post(f"/academic-sessions/{period_id}/close", json={}, headers=school.headers[who]), status)


async def reopen(client, school, period_id: str, reason: str = "A late correction", status: int = 200) -> dict:
    response = await client.post(
        f"/academic-sessions/{period_id}/reopen", json={"reason": reason}, headers=school.headers["oa"]
    )
    return ok(response, status)
