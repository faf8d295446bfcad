"""Helpers for the AI grading tests: an assignment with a rubric and submitted work in a
``make_school`` school (built as service_role, independent of the plain grading API)."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import text

from schoolbase.models import (
    Assignment,
    AssignmentCategory,
    AssignmentRubric,
    AssignmentRubricCriterion,
    AssignmentSubmission,
)

CRITERIA = (("Thesis", Decimal(4)), ("Evidence", Decimal(6)))


@dataclass
class Work:
    assignment_id: uuid.UUID
    criteria: list[uuid.UUID]
    max_points: dict[uuid.UUID, Decimal]
    submissions: dict[str, uuid.UUID] = field(default_factory=dict)  # student name -> submission id


async def make_work(db, school, bodies: dict[str, str] | None = None, *, criteria=CRITERIA, rubric=True) -> Work:
    """A published assignment with a rubric and one submitted submission per student in ``bodies``
    (default: ``s`` submits an essay)."""
    bodies = {"s": "An essay about photosynthesis."} if bodies is None else bodies
    async with db.as_service() as session:
        category = AssignmentCategory(
            organization_id=school.org_id,
            class_id=school.class_id,
            name=f"Essays {uuid.uuid4().hex[:6]}",
            weight_percent=Decimal(1),
        )
        session.add(category)
        await session.flush()
        assignment = Assignment(
            organization_id=school.org_id,
            class_id=school.class_id,
            category_id=category.id,
            title="Photosynthesis essay",
            instructions="Explain photosynthesis.",
            type="essay",
            points_possible=Decimal(10),
            state="published",
        )
        session.add(assignment)
        await session.flush()
        work = Work(assignment.id, [], {})
        if rubric:
            r = AssignmentRubric(organization_id=school.org_id, assignment_id=assignment.id, title="Essay rubric")
            session.add(r)
            await session.flush()
            for position, (title, most) in enumerate(criteria):
                c = AssignmentRubricCriterion(
                    organization_id=school.org_id,
                    rubric_id=r.id,
                    position=position,
                    title=title,
                    max_points=most,
                    levels=[{"title": "Full", "points": float(most)}, {"title": "None", "points": 0}],
                )
                session.add(c)
                await session.flush()
                work.criteria.append(c.id)
                work.max_points[c.id] = most
        for who, body in bodies.items():
            submission = AssignmentSubmission(
                organization_id=school.org_id,
                class_id=school.class_id,
                assignment_id=assignment.id,
                student_id=school.people[who],
                body=body,
                status="submitted",
            )
            session.add(submission)
            await session.flush()
            work.submissions[who] = submission.id
    return work


async def teacher_grade(db, school, work: Work, who: str, points: int, state: str) -> uuid.UUID:
    """A grade a teacher gave ``who``'s submission (no AI columns), written as the server: its id."""
    async with db.as_service() as session:
        return await session.scalar(
            text(
                "insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id, "
                "student_id, points, points_possible, state) values (:o, :c, :a, :s, :st, :points, 10, :state) "
                "returning id"
            ),
            {
                "o": school.org_id,
                "c": school.class_id,
                "a": work.assignment_id,
                "s": work.submissions[who],
                "st": school.people[who],
                "points": points,
                "state": state,
            },
        )


async def rows(db, sql: str, **params) -> list[dict]:
    async with db.as_service() as session:
        return [dict(r._mapping) for r in (await session.execute(text(sql), params)).all()]


async def grade_of(db, submission_id: uuid.UUID) -> dict | None:
    found = await rows(db, "select * from public.assignment_grades where submission_id = :s", s=submission_id)
    return found[0] if found else None


async def wait_for_job(client, headers, job_id, *, states=("completed", "failed"), timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/ai-grading-jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, f"job still {body['state']}: {body}"
        await asyncio.sleep(0.05)
