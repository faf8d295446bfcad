"""Helpers for the grading tests: a school with a gradeable class, and API shortcuts.

``make_school`` (tests/conftest.py) gives a fresh organization with ``oa``, ``t``
(teaching ``school.class_id``), ``s`` (enrolled), ``s2`` (not enrolled) and ``p``
(parent of ``s``), each with a minted token.
"""

import uuid
from typing import Any

from sqlalchemy import text

from schoolbase.models import Enrollment, MembershipRole


async def enroll(db, school, who: str = "s2") -> None:
    async with db.as_service() as session:
        session.add(
            Enrollment(
                organization_id=school.org_id,
                class_id=school.class_id,
                user_id=school.people[who],
                role=MembershipRole.student,
            )
        )


async def sql(db, statement: str, **params) -> list[dict[str, Any]]:
    """Run ``statement`` as service_role (row-level security off, triggers on); rows as dicts."""
    async with db.as_service() as session:
        result = await session.execute(text(statement), params)
        return [dict(row._mapping) for row in result.all()] if result.returns_rows else []


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def category(
    client, school, name: str = "Homework", weight: str | int = 40, drop_lowest: int = 0, who: str = "t"
) -> dict:
    response = await client.post(
        f"/classes/{school.class_id}/assignment-categories",
        json={"name": name, "weight_percent": str(weight), "drop_lowest": drop_lowest},
        headers=school.headers[who],
    )
    return ok(response, 201)


async def assignment(client, school, category_id: str, *, publish: bool = True, who: str = "t", **fields) -> dict:
    body = {"category_id": category_id, "title": "Essay", "points_possible": "100", **fields}
    created = ok(
        await client.post(f"/classes/{school.class_id}/assignments", json=body, headers=school.headers[who]), 201
    )
    if publish:
        return ok(await client.post(f"/assignments/{created['id']}/publish", headers=school.headers[who]))
    return created


async def ready(client, school, **fields) -> dict:
    """A published assignment in a fresh category."""
    cat = await category(client, school, name=f"Cat {uuid.uuid4().hex[:6]}", weight=10)
    return await assignment(client, school, cat["id"], **fields)


async def turn_in(
    client, school, assignment_id: str, who: str = "s", body: str = "My work", submit: bool = True, status: int = 201
) -> dict:
    response = await client.post(
        f"/assignments/{assignment_id}/submissions", json={"body": body, "submit": submit}, headers=school.headers[who]
    )
    return ok(response, status)


async def grade(client, school, submission_id: str, who: str = "t", status: int = 200, **body) -> dict:
    response = await client.put(f"/submissions/{submission_id}/grade", json=body, headers=school.headers[who])
    return ok(response, status)


async def due_ago(db, assignment_id: str, interval: str) -> None:
    """Move the due date into the past by ``interval`` (an SQL interval), relative to the database's clock."""
    await sql(
        db, "update assignments set due_at = now() - cast(:i as interval) where id = :a", i=interval, a=assignment_id
    )


RUBRIC = {
    "title": "Essay rubric",
    "criteria": [
        {
            "title": "Thesis",
            "max_points": "4",
            "levels": [
                {"title": "Clear", "points": "4"},
                {"title": "Vague", "points": "2"},
                {"title": "None", "points": "0"},
            ],
        },
        {"title": "Evidence", "max_points": "6", "description": "Sources and quotes"},
    ],
}


async def rubric_assignment(client, school, **fields) -> tuple[dict, dict]:
    """A published assignment of 10 points graded by ``RUBRIC``: (assignment, rubric)."""
    a = await ready(client, school, points_possible="10", **fields)
    rubric = ok(await client.put(f"/assignments/{a['id']}/rubric", json=RUBRIC, headers=school.headers["t"]))
    return a, rubric
