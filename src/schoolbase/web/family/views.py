"""What a parent's pages read, as the parent (row-level security shows a parent their own
children only, a grade only once posted, and a child's work and grades only where the
assignment is visible to parents): my children in the organization, and per child their
classes with course percentages, posted grades, missing work and work coming up."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.grading.gradebook_schemas import MyAssignment
from schoolbase.models import SubmissionStatus
from schoolbase.tenancy import service as tenancy
from schoolbase.web.learning.views import ClassGrades, Work, class_grades, coursework, every

UPCOMING = timedelta(days=14)


@dataclass(frozen=True)
class Child:
    id: uuid.UUID
    name: str


@dataclass
class ChildReport:
    child: Child
    classes: list[ClassGrades]
    missing: list[Work]  # marked missing, or past due and not turned in
    upcoming: list[Work]  # due in the next 14 days, turned in or not

    @property
    def graded(self) -> list[tuple[ClassGrades, MyAssignment]]:
        """Every posted grade, with its class."""
        return [(c, item) for c in self.classes for item in c.graded]


async def my_children(session: AsyncSession, parent_id: uuid.UUID, organization_id: uuid.UUID) -> list[Child]:
    """The children of ``parent_id`` in the organization, by name."""
    # Filtered in the query: row-level security alone would test every guardianship of the district.
    guardianships = await every(
        lambda params: tenancy.list_guardianships(session, organization_id, params, parent_id=parent_id)
    )
    children = []
    for student_id in dict.fromkeys(g.student_id for g in guardianships):
        user = await tenancy.get_user(session, student_id)
        children.append(Child(student_id, user.display_name or user.email or "Your child"))
    return sorted(children, key=lambda c: (c.name.lower(), c.id))


async def child_report(
    session: AsyncSession, parent_id: uuid.UUID, child: Child, organization_id: uuid.UUID, now: datetime
) -> ChildReport:
    work = await coursework(session, parent_id, organization_id, now, student_id=child.id)
    return ChildReport(
        child=child,
        classes=await class_grades(session, work, child.id),
        missing=[w for w in work.work if w.group in ("missing", "late") and w.item.status != SubmissionStatus.late],
        upcoming=[
            w
            for w in work.work
            if w.item.due_at is not None
            and now <= w.item.due_at <= now + UPCOMING
            and w.item.status != SubmissionStatus.excused
        ],
    )
