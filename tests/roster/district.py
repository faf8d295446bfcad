"""A small district for the roster tests, built as service_role with the test Builder: two
schools, a school year with a fall semester and two grading periods, a course, a class of
that course in the fall and a homeroom with neither school, course nor term; people with a
guardianship each way, an ended enrollment, and graded, posted work in both periods."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import update

from schoolbase.models import (
    AcademicSession,
    AcademicSessionType,
    Assignment,
    AssignmentCategory,
    AssignmentGrade,
    AssignmentState,
    AssignmentSubmission,
    ClassTerm,
    Course,
    Enrollment,
    GradeState,
    Membership,
    MembershipRole,
    RosterLink,
    School,
    SubmissionStatus,
)
from schoolbase.tenancy.people import create_person
from tests.conftest import Builder

SOURCE = "Test SIS"


@dataclass
class District:
    org_id: uuid.UUID
    slug: str
    name: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def sid(self, key: str) -> str:
        """The sourcedId the export gives ``key``: its link's, else its id."""
        return LINKED.get(key) or str(self.ids[key])


# Rows that "came from an import": the export must give them these sourcedIds.
LINKED = {"org": "district-1", "north": "sch-north", "algebra_a": "cls-alg-a", "t": "usr-teacher"}
PEOPLE = {
    "oa": ("Ola Admin", ["org_admin"]),
    "t": ("Tess Teacher", ["teacher", "parent"]),
    "s": ("Sam Student", ["student"]),
    "s2": ("Sky de la Cruz", ["student"]),
    "p": ("Pat Parent", ["parent"]),
    "gone": ("Gone Student", ["student"]),
}


def at(day: str, hour: int = 14) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def build_district(db, domain: str | None = None) -> District:
    """The district; with ``domain``, its people's addresses are ``who@domain`` (a domain of the
    test's own, which another organization can own once this one is gone), but for the parent
    ``p``, whose address is in no organization's domain."""
    tag = uuid.uuid4().hex[:8]
    async with db.as_service() as session:
        build = Builder(session, tag)
        district = District(await build.org(f"District {tag}", f"district-{tag}", "America/New_York"), "", "")
        district.slug, district.name = f"district-{tag}", f"District {tag}"
        org, ids = district.org_id, district.ids
        ids["org"] = org

        async def add(key: str, row) -> uuid.UUID:
            ids[key] = await build.added(row)
            return ids[key]

        await add("north", School(organization_id=org, name="North", identifier="N1"))
        await add("south", School(organization_id=org, name="South"))
        year = await add(
            "year",
            AcademicSession(
                organization_id=org,
                title="2026-27",
                type=AcademicSessionType.school_year,
                start_date=date(2026, 8, 15),
                end_date=date(2027, 6, 10),
                school_year=2027,
            ),
        )
        fall = await add(
            "fall",
            AcademicSession(
                organization_id=org,
                parent_id=year,
                title="Fall",
                type=AcademicSessionType.semester,
                start_date=date(2026, 8, 15),
                end_date=date(2026, 12, 20),
            ),
        )
        for key, title, start, end in (
            ("q1", "Q1", date(2026, 8, 15), date(2026, 10, 15)),
            ("q2", "Q2", date(2026, 10, 16), date(2026, 12, 20)),
        ):
            await add(
                key,
                AcademicSession(
                    organization_id=org,
                    parent_id=fall,
                    title=title,
                    type=AcademicSessionType.grading_period,
                    start_date=start,
                    end_date=end,
                ),
            )
        await add(
            "algebra",
            Course(
                organization_id=org,
                school_id=ids["north"],
                school_year_id=year,
                title="Algebra",
                code="ALG1",
                subjects=["Mathematics"],
                grade_levels=["09", "10"],
            ),
        )
        ids["algebra_a"] = await build.klass(
            org,
            "Algebra A",
            subject="Mathematics",
            grade_level="9",
            class_code="ALG-A",
            school_id=ids["north"],
            course_id=ids["algebra"],
        )
        await build.added(ClassTerm(organization_id=org, class_id=ids["algebra_a"], session_id=fall))
        ids["homeroom"] = await build.klass(org, "Homeroom")

        for who, (name, roles) in PEOPLE.items():
            if domain is None:
                user, _ = await build.person(who, org, roles, name)
            else:
                # The parent's address is outside the domain: imported, they are invited (held).
                address = f"{who}@{'elsewhere.' if who == 'p' else ''}{domain}"
                user = await create_person(session, address, name, "unused-hash")
                for role in roles:
                    await build.added(Membership(organization_id=org, user_id=user.id, role=MembershipRole(role)))
            ids[who], district.emails[who] = user.id, user.email
        for key, klass, who, role in (
            ("e_t_alg", "algebra_a", "t", "teacher"),
            ("e_s_alg", "algebra_a", "s", "student"),
            ("e_s2_alg", "algebra_a", "s2", "student"),
            ("e_t_home", "homeroom", "t", "teacher"),
            ("e_s_home", "homeroom", "s", "student"),
            ("e_gone_home", "homeroom", "gone", "student"),
        ):
            ids[key] = await build.enroll(org, ids[klass], ids[who], role)
        ids["g_p_s"] = await build.guardian(org, ids["p"], ids["s"])
        ids["g_t_s2"] = await build.guardian(org, ids["t"], ids["s2"])

        await add(
            "homework",
            AssignmentCategory(
                organization_id=org, class_id=ids["algebra_a"], name="Homework", weight_percent=Decimal(60)
            ),
        )
        await add(
            "checkins",
            AssignmentCategory(
                organization_id=org, class_id=ids["homeroom"], name="Check-ins", weight_percent=Decimal(100)
            ),
        )
        for key, klass, category, title, points, due, state in (
            ("a1", "algebra_a", "homework", "Quiz 1", 10, at("2026-09-10"), AssignmentState.published),
            ("a2", "algebra_a", "homework", "Quiz 2", 20, at("2026-11-05"), AssignmentState.closed),
            ("a3", "algebra_a", "homework", "Draft quiz", 5, at("2026-09-20"), AssignmentState.draft),
            ("a4", "homeroom", "checkins", "Check-in", 1, None, AssignmentState.published),
        ):
            await add(
                key,
                Assignment(
                    organization_id=org,
                    class_id=ids[klass],
                    category_id=ids[category],
                    title=title,
                    instructions=f"About {title}" if key != "a4" else None,
                    points_possible=Decimal(points),
                    available_from=at("2026-09-01", 12),
                    due_at=due,
                    state=state,
                ),
            )
        for key, klass, assignment, who, points, state, posted, feedback in (
            ("r_s_a1", "algebra_a", "a1", "s", "8.5", GradeState.final, at("2026-09-12", 16), 'Good, "quoted"\nwork'),
            ("r_s_a2", "algebra_a", "a2", "s", "15", GradeState.final, at("2026-11-06", 3), None),
            ("r_s2_a1", "algebra_a", "a1", "s2", "7", GradeState.final, at("2026-09-12", 16), None),
            ("r_s_a4_draft", "homeroom", "a4", "s", "1", GradeState.draft, None, None),
            ("r_gone_a4", "homeroom", "a4", "gone", "1", GradeState.final, at("2026-09-03"), None),
        ):
            submission = await build.added(
                AssignmentSubmission(
                    organization_id=org,
                    class_id=ids[klass],
                    assignment_id=ids[assignment],
                    student_id=ids[who],
                    status=SubmissionStatus.graded,
                    submitted_at=at("2026-09-09"),
                )
            )
            await add(
                key,
                AssignmentGrade(
                    organization_id=org,
                    class_id=ids[klass],
                    assignment_id=ids[assignment],
                    submission_id=submission,
                    student_id=ids[who],
                    points=Decimal(points),
                    points_possible=Decimal(10),
                    state=state,
                    posted_at=posted,
                    feedback=feedback,
                ),
            )
        # s2 left Algebra A after being graded; "gone" left the organization.
        ended = datetime(2026, 10, 1, tzinfo=UTC)
        await session.execute(update(Enrollment).where(Enrollment.id == ids["e_s2_alg"]).values(ended_at=ended))
        await session.execute(
            update(Membership)
            .where(Membership.organization_id == org, Membership.user_id == ids["gone"])
            .values(ended_at=ended)
        )
        entities = {"org": "org", "north": "org", "algebra_a": "class", "t": "user"}
        for key, sourced_id in LINKED.items():
            session.add(
                RosterLink(
                    organization_id=org,
                    source_system=SOURCE,
                    entity=entities[key],
                    sourced_id=sourced_id,
                    target_id=ids[key],
                )
            )
    return district
