"""The grading functions end users may execute answer only about what the caller may see:
``private.letter_grade`` about organizations they are a member of, and
``private.class_organization_id`` (hence ``public.class_gradebook``) about classes the
classes policy shows them. Proved as every actor of ``tests.conftest.World`` through the
server's own login roles, in transactions that are always rolled back.

Org B gets a scale of its own inside each probe's transaction (written by its org admin,
or by service for the service probe), so the common A-F scale, which org A keeps, can
never be mistaken for org B's.
"""

import uuid
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE, apply_identity
from schoolbase.errors import sqlstate
from tests.access import A_PEOPLE, ACTORS, B_PEOPLE, INSUFFICIENT_PRIVILEGE, ORG_OF
from tests.conftest import World, rolled_back

B_SCALE = {"Top": 90, "Pass": 50, "Not": 0}
LETTER = text("select private.letter_grade(:org, :percent)")


async def give_b_a_scale(session, world: World) -> None:
    for letter, minimum in B_SCALE.items():
        await session.execute(
            text("insert into public.grading_scale_levels (organization_id, letter, min_percent) values (:o, :l, :m)"),
            {"o": world.orgs["B"], "l": letter, "m": minimum},
        )


@asynccontextmanager
async def with_b_scale(db, world: World, actor: str):
    """A rolled-back transaction in which org B has its own scale, continued as ``actor``."""
    if actor == "service":
        async with rolled_back(db, SERVICE) as session:
            await give_b_a_scale(session, world)
            yield session
        return
    async with rolled_back(db, world.identity("oaB")) as session:
        await give_b_a_scale(session, world)
        await apply_identity(session, world.identity(actor))
        yield session


def may_see_org(actor: str, org: str) -> bool:
    """M of the organization, the super admin, or the server."""
    return actor in ("sa", "service") or ORG_OF.get(actor) == org


@pytest.mark.parametrize("actor", ACTORS)
async def test_letter_grade_answers_only_for_the_callers_organizations(db, world, actor):
    async with with_b_scale(db, world, actor) as session:
        try:
            b_letters = [await session.scalar(LETTER, {"org": world.orgs["B"], "percent": p}) for p in (95, 60, 10)]
            a_letter = await session.scalar(LETTER, {"org": world.orgs["A"], "percent": 95})
            nowhere = await session.scalar(LETTER, {"org": uuid.uuid4(), "percent": 95})
        except DBAPIError as exc:
            assert actor == "anon" and sqlstate(exc) == INSUFFICIENT_PRIVILEGE
            return
    assert actor != "anon", "anon may not execute letter_grade at all"
    assert b_letters == (["Top", "Pass", "Not"] if may_see_org(actor, "B") else [None, None, None])
    # Org A has no scale of its own: its members get the common one, nobody else anything.
    assert a_letter == ("A" if may_see_org(actor, "A") else None)
    if not may_see_org(actor, "any"):  # for sa and service the common scale applies, as before
        assert nowhere is None


CREATE_GRADED_WORK = [
    """insert into public.assignment_categories (id, organization_id, class_id, name, weight_percent)
       values (:category, :org, :class, 'Leak probe', 10)""",
    """insert into public.assignments (id, organization_id, class_id, category_id, title, points_possible, state)
       values (:assignment, :org, :class, :category, 'Leak probe', 10, 'published')""",
    """insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, status)
       values (:submission, :org, :class, :assignment, :student, 'missing')""",
    """insert into public.assignment_grades (organization_id, class_id, assignment_id, submission_id, student_id,
         points, points_possible) values (:org, :class, :assignment, :submission, :student, 9.5, 10)
       returning letter_grade""",
]


@pytest.mark.parametrize("writer", ["tB", "oaB", "sa", "service"])
async def test_the_grade_trigger_still_letters_grades_of_the_writers_organization(db, world, writer):
    """The trigger runs as the owner but with the writer's role and claims: a teacher and an
    org admin of B, the super admin (a member of nothing) and the server all get B's letter."""
    ids = {key: uuid.uuid4() for key in ("category", "assignment", "submission")}
    params = {**ids, "org": world.orgs["B"], "class": world.classes["cB"], "student": world.users["sB"]}
    async with with_b_scale(db, world, writer) as session:
        for sql in CREATE_GRADED_WORK[:-1]:
            await session.execute(text(sql), params)
        letter = (await session.execute(text(CREATE_GRADED_WORK[-1]), params)).scalar_one()
    assert letter == "Top"


@pytest.mark.parametrize("actor", ACTORS)
async def test_class_organization_id_answers_only_for_classes_the_caller_may_see(db, world, actor):
    """Exactly the classes the classes policy shows the actor have an organization."""
    async with rolled_back(db, world.identity(actor)) as session:
        try:
            got = {
                name: await session.scalar(text("select private.class_organization_id(:c)"), {"c": class_id})
                for name, class_id in world.classes.items()
            }
            stranger = await session.scalar(text("select private.class_organization_id(:c)"), {"c": uuid.uuid4()})
        except DBAPIError as exc:
            assert actor == "anon" and sqlstate(exc) == INSUFFICIENT_PRIVILEGE
            return
        visible = set(
            await session.scalars(
                text("select id from public.classes where id = any (:ids)"), {"ids": list(world.classes.values())}
            )
        )
    assert actor != "anon"
    org_of_class = {name: world.orgs["B" if name == "cB" else "A"] for name in world.classes}
    assert got == {name: org_of_class[name] if world.classes[name] in visible else None for name in world.classes}
    assert stranger is None
    if actor in B_PEOPLE:
        assert (got["c1"], got["c2"], got["c3"]) == (None, None, None)
    if actor in A_PEOPLE:
        assert got["cB"] is None
    if actor == "tB":
        assert got["cB"] == world.orgs["B"]


async def test_a_gradebook_of_another_organizations_class_is_empty(db, world):
    """cB has a published assignment and a student: its teacher sees the row, t1 of org A nothing."""
    category, assignment = uuid.uuid4(), uuid.uuid4()
    params = {"category": category, "assignment": assignment, "org": world.orgs["B"], "class": world.classes["cB"]}
    gradebook = text("select student_id, assignment_id from public.class_gradebook(:class)")
    async with rolled_back(db, world.identity("tB")) as session:
        for sql in CREATE_GRADED_WORK[:2]:
            await session.execute(text(sql), params)
        own = (await session.execute(gradebook, params)).all()
        await apply_identity(session, world.identity("t1"))
        other = (await session.execute(gradebook, params)).all()
        other_org = await session.scalar(text("select private.class_organization_id(:class)"), params)
    assert (world.users["sB"], assignment) in [tuple(row) for row in own]
    assert other == []
    assert other_org is None
