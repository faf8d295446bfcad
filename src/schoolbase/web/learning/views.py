"""What a student's pages (and a parent's, for a child) read: the student's classes in the
organization, every one of their assignments (all pages of ``gradebook.my_assignments``) sorted
into to-do groups, and their posted grades and course percentage per class. Everything runs on
the page's session as the person looking, under row-level security, through the grading
services; nothing here commits."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.grading import gradebook
from schoolbase.grading.gradebook_schemas import MyAssignment
from schoolbase.models import Assignment, AssignmentState, Class, Enrollment, MembershipRole, SubmissionStatus
from schoolbase.pagination import Page, PageParams
from schoolbase.problems import forbidden
from schoolbase.web.context import PageContext

PAGE_SIZE = 200
DUE_SOON = timedelta(days=7)

# What a to-do group means; the order they are shown in.
GROUPS = ("missing", "late", "due_soon", "later")
TURNED_IN = {SubmissionStatus.submitted, SubmissionStatus.graded, SubmissionStatus.returned}


def only_for(page: PageContext, role: str) -> None:
    """A page of one role (``student``, ``parent``): 403 for anyone without it here."""
    if not page.has(role):
        raise forbidden(f"This page is for {role}s. Your pages are in the menu at the top.")


async def every(fetch: Callable[[PageParams], Awaitable[Page]]) -> list[Any]:
    """Every item of a paged service call, page after page."""
    items: list[Any] = []
    cursor = None
    while True:
        page = await fetch(PageParams(cursor=cursor, limit=PAGE_SIZE))
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


@dataclass(frozen=True)
class ClassRef:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    subject: str | None


async def student_classes(
    session: AsyncSession,
    student_id: uuid.UUID,
    *,
    organization_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> list[ClassRef]:
    """The classes ``student_id`` is enrolled in as a student (in one organization, or the one
    class), as far as the caller may see them: a student their own, a parent their child's."""
    stmt = (
        select(Class.id, Class.organization_id, Class.name, Class.subject)
        .join(Enrollment, Enrollment.class_id == Class.id)
        .where(Enrollment.user_id == student_id, Enrollment.role == MembershipRole.student)
        .order_by(Class.name, Class.id)
    )
    if organization_id is not None:
        stmt = stmt.where(Class.organization_id == organization_id)
    if class_id is not None:
        stmt = stmt.where(Class.id == class_id)
    return [ClassRef(*row) for row in await session.execute(stmt)]


# Sorting work into to-do groups


def attempts_used(item: MyAssignment) -> int:
    """Turned-in attempts: a draft, or work marked missing and never turned in, uses none."""
    latest = item.submission
    if latest is None:
        return 0
    return latest.attempt if latest.submitted_at is not None else latest.attempt - 1


def takes_work(item: MyAssignment, now: datetime) -> bool:
    """Would the assignment take work now: published, not closed, due or still taking late work?"""
    return (
        item.state == AssignmentState.published
        and (item.close_at is None or now < item.close_at)
        and (item.due_at is None or now <= item.due_at or item.accept_late)
    )


def group_of(item: MyAssignment, now: datetime) -> str | None:
    """``missing``, ``late`` (turned in late, or past due and still taken late), ``due_soon``
    (in the next 7 days), ``later``; None when nothing is left to do (turned in on time, graded,
    excused)."""
    status = item.status
    if status == SubmissionStatus.late:
        return "late"
    if status in TURNED_IN or status == SubmissionStatus.excused:
        return None
    if status == SubmissionStatus.missing or not takes_work(item, now):
        return "missing"
    if item.due_at is not None and item.due_at < now:
        return "late"
    if item.due_at is not None and item.due_at <= now + DUE_SOON:
        return "due_soon"
    return "later"


@dataclass(frozen=True)
class Work:
    """One assignment on a to-do list."""

    item: MyAssignment
    class_name: str
    group: str | None
    attempts_left: int
    open: bool  # work can be turned in now


@dataclass
class Coursework:
    """A student's classes in an organization and their assignments, with their to-do group."""

    classes: list[ClassRef]
    work: list[Work]

    def grouped(self) -> dict[str, list[Work]]:
        groups: dict[str, list[Work]] = {name: [] for name in GROUPS}
        for work in self.work:
            if work.group is not None:
                groups[work.group].append(work)
        return groups


async def coursework(
    session: AsyncSession,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    now: datetime,
    *,
    student_id: uuid.UUID | None = None,
) -> Coursework:
    """My assignments in the organization's classes (or, with ``student_id``, a parent's
    child's, showing only what the assignment lets parents see), soonest due first."""
    student = student_id or user_id
    classes = await student_classes(session, student, organization_id=organization_id)
    names = {c.id: c.name for c in classes}
    items = await every(lambda params: gradebook.my_assignments(session, user_id, params, student_id=student_id))
    items = [item for item in items if item.class_id in names]
    if student_id is not None:
        shown = await _visible_to_parents(session, [item.id for item in items])
        items = [item for item in items if item.id in shown]
    return Coursework(
        classes,
        [
            Work(
                item,
                names[item.class_id],
                group_of(item, now),
                max(item.allowed_attempts - attempts_used(item), 0),
                takes_work(item, now),
            )
            for item in items
        ],
    )


async def _visible_to_parents(session: AsyncSession, assignment_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of these assignments, the ones their teacher lets parents see (work and grades of the
    others are hidden from parents by row-level security, so they would look not turned in)."""
    if not assignment_ids:
        return set()
    stmt = select(Assignment.id).where(Assignment.id.in_(assignment_ids), Assignment.visible_to_parents.is_(True))
    return set((await session.scalars(stmt)).all())


# Grades


@dataclass
class ClassGrades:
    """One class's course percentage and letter, as the gradebook shows the reader, and the
    posted grades of its assignments."""

    cls: ClassRef
    percentage: Decimal | None
    letter: str | None
    graded: list[MyAssignment] = field(default_factory=list)


async def class_grades(session: AsyncSession, work: Coursework, student_id: uuid.UUID) -> list[ClassGrades]:
    """Per class: the student's course percentage from the class's gradebook (as the reader
    sees it: only posted grades, and for a parent only what parents may see) and the posted
    grades, latest due first."""
    found = []
    for cls in work.classes:
        book = await gradebook.gradebook(session, cls.id)
        row = next((r for r in book.students if r.student_id == student_id), None)
        graded = [w.item for w in work.work if w.item.class_id == cls.id and w.item.grade is not None]
        found.append(
            ClassGrades(
                cls,
                row.course_percentage if row else None,
                row.course_letter if row else None,
                list(reversed(graded)),
            )
        )
    return found


def excerpt(text: str | None, length: int = 140) -> str:
    """The start of a longer text, cut at a word."""
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"
