"""Assignments of a class: created as drafts, published (students and parents see them),
closed (no more submissions) and reopened. Points possible are fixed once graded."""

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.grading.access import manages_class, refreshed, require_manager
from schoolbase.grading.schemas import AssignmentCreate, AssignmentOut, AssignmentUpdate
from schoolbase.models import Assignment, AssignmentCategory, AssignmentGrade, AssignmentState, Class
from schoolbase.pagination import Page, PageParams, page_of
from schoolbase.problems import ASSIGNMENT_STATE, INVALID_REFERENCE, POINTS_LOCKED, VALIDATION

# Columns a PATCH may leave out but never set to null.
_NOT_NULL = (
    "title",
    "type",
    "points_possible",
    "accept_late",
    "late_penalty_percent_per_day",
    "late_penalty_floor_percent",
    "allowed_attempts",
    "visible_to_parents",
    "category_id",
)


def assignments_query(cls: Class) -> Select:
    """The class's assignments, found through the organization-first index."""
    return select(Assignment).where(Assignment.organization_id == cls.organization_id, Assignment.class_id == cls.id)


async def list_assignments(
    session: AsyncSession, class_id: uuid.UUID, params: PageParams, state: AssignmentState | None = None
) -> Page:
    """Staff see drafts too; students and parents the published and closed ones (row-level security)."""
    stmt = assignments_query(await get_visible(session, Class, class_id, "class"))
    if state is not None:
        stmt = stmt.where(Assignment.state == state)
    return await page_of(session, stmt, Assignment, params, AssignmentOut)


async def get_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment:
    return await get_visible(session, Assignment, assignment_id, "assignment")


async def delete_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> None:
    """Its submissions and grades go with it (the grade history stays)."""
    await remove(session, Assignment, assignment_id, "assignment")


async def _check_category(session: AsyncSession, class_id: uuid.UUID, category_id: uuid.UUID) -> None:
    found = await session.scalar(
        select(exists().where(AssignmentCategory.id == category_id, AssignmentCategory.class_id == class_id))
    )
    if not found:
        raise INVALID_REFERENCE("category_id is not one of this class's assignment categories")


async def create_assignment(
    session: AsyncSession, user_id: uuid.UUID, class_id: uuid.UUID, body: AssignmentCreate
) -> Assignment:
    """A new assignment, as a draft: students see it once published."""
    cls = await get_visible(session, Class, class_id, "class")
    await _check_category(session, class_id, body.category_id)
    row = Assignment(organization_id=cls.organization_id, class_id=class_id, created_by=user_id, **body.model_dump())
    return await refreshed(session, await add(session, row))


async def update_assignment(session: AsyncSession, assignment_id: uuid.UUID, body: AssignmentUpdate) -> Assignment:
    values = body.values()
    for column in _NOT_NULL:
        if column in values and values[column] is None:
            raise VALIDATION(f"{column} cannot be null")
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    if "category_id" in values:
        await _check_category(session, assignment.class_id, values["category_id"])
    if values.get("points_possible", assignment.points_possible) != assignment.points_possible:
        await _check_points_unlocked(session, assignment)
    return await change(session, Assignment, assignment_id, values, "assignment")


async def _check_points_unlocked(session: AsyncSession, assignment: Assignment) -> None:
    """Points possible are fixed once the assignment has a grade (the trigger
    ``assignments_points_fixed_once_graded`` refuses it from every writer): each grade was given
    out of them, and rescaling behind the teacher's back would change what students were told."""
    if not await manages_class(session, assignment.organization_id, assignment.class_id):
        return  # the update itself is refused (403)
    graded = await session.scalar(
        select(func.count()).select_from(AssignmentGrade).where(AssignmentGrade.assignment_id == assignment.id)
    )
    if graded:
        raise POINTS_LOCKED(
            f"{graded} grade(s) were given out of {assignment.points_possible} points; remove them (or create a new"
            " assignment) before changing the points possible"
        )


async def _transition(
    session: AsyncSession, assignment_id: uuid.UUID, allowed_from: Sequence[AssignmentState], to: AssignmentState
) -> Assignment:
    assignment = await get_visible(session, Assignment, assignment_id, "assignment")
    await require_manager(session, assignment.organization_id, assignment.class_id, f"make an assignment {to}")
    if assignment.state not in allowed_from:
        raise ASSIGNMENT_STATE(f"the assignment is {assignment.state}")
    return await change(session, Assignment, assignment_id, {"state": to}, "assignment")


async def publish_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment:
    """draft (or closed, to reopen) → published: the class's students (and their parents) see it."""
    return await _transition(
        session, assignment_id, (AssignmentState.draft, AssignmentState.closed), AssignmentState.published
    )


async def close_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment:
    """published → closed: no more submissions; it stays visible."""
    return await _transition(session, assignment_id, (AssignmentState.published,), AssignmentState.closed)
