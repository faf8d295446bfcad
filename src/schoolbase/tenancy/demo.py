"""The demo data set: two organizations, so isolation can be seen as well as used, each with
its school year, grading periods and courses (``academics/demo.py``), and a term's worth of
work in each class (``grading/demo.py``), so every page has something to show;
in Maple Grove also its resource library, meetings and a month of AI usage (``resources/demo.py``,
``meetings/demo.py``, ``ai/demo.py``); and a super admin with no organization."""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.academics.demo import load_calendar
from schoolbase.ai.demo import load_usage
from schoolbase.auth.passwords import hash_password
from schoolbase.grading.demo import COURSES, DemoClass, Waiting, load_term
from schoolbase.meetings.demo import load_meetings
from schoolbase.models import (
    Assignment,
    AssignmentCategory,
    Class,
    Enrollment,
    Guardianship,
    Membership,
    MembershipRole,
    Organization,
    OrganizationDomain,
    User,
)
from schoolbase.resources.demo import WorksheetWanted, load_resources
from schoolbase.tenancy.demo_school import DemoSchool
from schoolbase.tenancy.people import create_person

DEMO_PASSWORD = "schoolbase-demo"
SUPER_ADMIN = ("root@schoolbase.example.org", "Robin Root")
# The organization whose library, meetings and AI usage the demo fills.
FULL_DEMO_SLUG = "maple-grove"

ORGS = [
    {
        "name": "Maple Grove Academy",
        "slug": "maple-grove",
        "time_zone": "America/New_York",
        "people": {
            "admin": ("Morgan Admin", ["org_admin"]),
            "ada": ("Ada Lovelace", ["teacher"]),
            "alan": ("Alan Turing", ["teacher"]),
            "grace": ("Grace Hopper", ["student"]),
            "linus": ("Linus Torvalds", ["student"]),
            "margaret": ("Margaret Hamilton", ["student"]),
            "tim": ("Tim Berners-Lee", ["student"]),
            "barbara": ("Barbara Liskov", ["student"]),
            "donald": ("Donald Knuth", ["student"]),
            "pat": ("Pat Hopper", ["parent"]),
            "sam": ("Sam Torvalds", ["parent"]),
            "kim": ("Kim Hamilton-Knuth", ["parent", "teacher"]),
        },
        "classes": {
            "Algebra I": ("Mathematics", "9", ["ada"], ["grace", "linus", "margaret"]),
            "Biology": ("Science", "9", ["alan"], ["grace", "tim", "barbara"]),
            "Computer Science": ("Computing", "10", ["ada", "alan"], ["linus", "margaret", "donald"]),
        },
        "children": {"pat": ["grace"], "sam": ["linus"], "kim": ["margaret", "donald"]},
    },
    {
        "name": "Riverside High",
        "slug": "riverside",
        "time_zone": "Europe/London",
        "people": {
            "admin": ("Riley Admin", ["org_admin"]),
            "edsger": ("Edsger Dijkstra", ["teacher"]),
            "frances": ("Frances Allen", ["student"]),
            "john": ("John Allen", ["parent"]),
        },
        "classes": {"Physics": ("Science", "11", ["edsger"], ["frances"])},
        "children": {"john": ["frances"]},
    },
]


@dataclass
class DemoSummary:
    created: bool
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (organization, email, roles)
    classes_with_new_work: list[str] = field(default_factory=list)
    # Turned-in work to get an AI suggestion for once this is committed (tenancy/flows.py).
    ai_waiting: list[Waiting] = field(default_factory=list)
    # The AI worksheet to generate, pending approval, once this is committed.
    worksheet: WorksheetWanted | None = None


def demo_domain(slug: str) -> str:
    return f"{slug}.example.org"


def demo_email(slug: str, handle: str) -> str:
    return f"{handle}@{demo_domain(slug)}"


async def load_demo(session: AsyncSession) -> DemoSummary:
    """Load the demo organizations as ``service_role``, and the term's work of each demo class
    that has none (also in a database loaded before the demo had work); loading again does nothing."""
    summary = DemoSummary(created=False)
    password_hash = await hash_password(DEMO_PASSWORD)
    for spec in ORGS:
        for handle, (_, roles) in spec["people"].items():
            summary.logins.append((spec["name"], demo_email(spec["slug"], handle), ", ".join(roles)))
        org_id = await session.scalar(select(Organization.id).where(Organization.slug == spec["slug"]))
        if org_id is None:
            summary.created = True
            org_id = await _load_organization(session, spec, password_hash)
        await _own_demo_domain(session, org_id, spec["slug"])
        await _load_calendar(session, org_id, spec)
        await _load_work(session, org_id, spec, summary)
        if spec["slug"] == FULL_DEMO_SLUG:
            summary.worksheet = await _load_part_two(session, org_id, spec)
    await _super_admin(session, password_hash, summary)
    return summary


async def _load_calendar(session: AsyncSession, org_id: uuid.UUID, spec: dict) -> None:
    organization = await session.get(Organization, org_id)
    classes = {name: (subject, grade) for name, (subject, grade, _, _) in spec["classes"].items()}
    now = await session.scalar(select(func.now()))
    await load_calendar(session, org_id, spec["name"], spec["slug"], organization.time_zone, now, classes)


async def _super_admin(session: AsyncSession, password_hash: str, summary: DemoSummary) -> None:
    email, name = SUPER_ADMIN
    summary.logins.append(("Platform (no organization)", email, "super admin"))
    if not await session.scalar(select(exists().where(func.lower(User.email) == email))):
        await create_person(session, email, name, password_hash, super_admin=True)


async def _people(session: AsyncSession, spec: dict) -> dict[str, uuid.UUID]:
    emails = {demo_email(spec["slug"], handle): handle for handle in spec["people"]}
    rows = await session.execute(select(User.email, User.id).where(func.lower(User.email).in_(list(emails))))
    return {emails[email.lower()]: user_id for email, user_id in rows}


async def _load_part_two(session: AsyncSession, org_id: uuid.UUID, spec: dict) -> WorksheetWanted | None:
    """The library, the meetings and the AI usage, each loaded once (left alone once there)."""
    people = await _people(session, spec)
    if set(people) != set(spec["people"]):
        return None  # someone removed a demo person: leave the rest alone
    classes = dict((await session.execute(select(Class.name, Class.id).where(Class.organization_id == org_id))).all())
    organization = await session.get(Organization, org_id)
    school = DemoSchool(org_id, organization.time_zone, people, classes, await session.scalar(select(func.now())))
    await load_meetings(session, school)
    await load_usage(session, school)
    return await load_resources(session, school)


async def _load_work(session: AsyncSession, org_id: uuid.UUID, spec: dict, summary: DemoSummary) -> None:
    people = await _people(session, spec)
    time_zone = await session.scalar(select(Organization.time_zone).where(Organization.id == org_id))
    for class_name, (_, _, teachers, students) in spec["classes"].items():
        class_id = await session.scalar(
            select(Class.id).where(Class.organization_id == org_id, Class.name == class_name)
        )
        if class_id is None or teachers[0] not in people or await _has_work(session, class_id):
            continue
        enrolled = set(
            await session.scalars(
                select(Enrollment.user_id).where(
                    Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student
                )
            )
        )
        demo = DemoClass(
            organization_id=org_id,
            class_id=class_id,
            time_zone=time_zone,
            teacher_id=people[teachers[0]],
            students=[people[s] for s in students if people.get(s) in enrolled],
            seed=f"{spec['slug']}/{class_name}",
        )
        summary.ai_waiting += await load_term(session, COURSES[class_name], demo)
        summary.classes_with_new_work.append(f"{spec['name']}: {class_name}")


async def _has_work(session: AsyncSession, class_id: uuid.UUID) -> bool:
    """Whether the class has categories or assignments (the demo leaves alone a class someone used)."""
    return bool(
        await session.scalar(
            select(
                or_(
                    exists().where(AssignmentCategory.class_id == class_id),
                    exists().where(Assignment.class_id == class_id),
                )
            )
        )
    )


async def _own_demo_domain(session: AsyncSession, org_id: uuid.UUID, slug: str) -> None:
    """Each demo school owns its demo domain, so its people are accounts it manages (also in
    a database loaded before domains existed)."""
    stmt = insert(OrganizationDomain).values(organization_id=org_id, domain=demo_domain(slug))
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["domain"]))


async def _load_organization(session: AsyncSession, spec: dict, password_hash: str) -> uuid.UUID:
    org = Organization(name=spec["name"], slug=spec["slug"], time_zone=spec["time_zone"])
    session.add(org)
    await session.flush()
    await _own_demo_domain(session, org.id, spec["slug"])
    people = {}
    for handle, (name, roles) in spec["people"].items():
        user = await create_person(session, demo_email(spec["slug"], handle), name, password_hash)
        people[handle] = user.id
        session.add_all(Membership(organization_id=org.id, user_id=user.id, role=MembershipRole(r)) for r in roles)
    await session.flush()
    for class_name, (subject, grade, teachers, students) in spec["classes"].items():
        cls = Class(organization_id=org.id, name=class_name, subject=subject, grade_level=grade, term="2026-27")
        session.add(cls)
        await session.flush()
        for role, handles in (("teacher", teachers), ("student", students)):
            session.add_all(
                Enrollment(organization_id=org.id, class_id=cls.id, user_id=people[h], role=MembershipRole(role))
                for h in handles
            )
    for parent, children in spec["children"].items():
        session.add_all(
            Guardianship(organization_id=org.id, parent_id=people[parent], student_id=people[c]) for c in children
        )
    await session.flush()
    return org.id
