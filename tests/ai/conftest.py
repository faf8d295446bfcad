"""AI fixtures: fresh schools with their own settings, and minted tokens (no password hashing per person)."""

import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import update

from schoolbase.models import (
    AiOrganizationSettings,
    Class,
    Enrollment,
    Guardianship,
    Membership,
    MembershipRole,
    Organization,
)
from schoolbase.tenancy.people import create_person
from tests.conftest import signed_in

# name -> roles; "t" teaches class c with student "s"; "s2" is a student not in c; "p" is s's parent.
SCHOOL_PEOPLE = {"oa": ["org_admin"], "t": ["teacher"], "s": ["student"], "s2": ["student"], "p": ["parent"]}


@dataclass
class School:
    org_id: uuid.UUID
    time_zone: str
    people: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    class_id: uuid.UUID | None = None


@pytest.fixture
def make_school(db, settings):
    """``await make_school(time_zone=..., **ai_settings)`` → a School with its own people and AI settings."""

    async def make(time_zone: str = "UTC", **ai_settings) -> School:
        tag = uuid.uuid4().hex[:10]
        async with db.as_service() as session:
            org = Organization(name=f"AI School {tag}", slug=f"ai-{tag}", time_zone=time_zone)
            session.add(org)
            await session.flush()
            school = School(org.id, time_zone)
            for name, roles in SCHOOL_PEOPLE.items():
                email = f"{name}-{tag}@example.org"
                user = await create_person(session, email, f"{name} {tag}", "unused-hash")
                school.people[name] = user.id
                session.add_all(
                    Membership(organization_id=org.id, user_id=user.id, role=MembershipRole(r)) for r in roles
                )
            await session.flush()
            cls = Class(organization_id=org.id, name="AI class")
            session.add(cls)
            await session.flush()
            school.class_id = cls.id
            session.add_all(
                Enrollment(
                    organization_id=org.id, class_id=cls.id, user_id=school.people[who], role=MembershipRole(role)
                )
                for who, role in (("t", "teacher"), ("s", "student"))
            )
            session.add(
                Guardianship(organization_id=org.id, parent_id=school.people["p"], student_id=school.people["s"])
            )
            if ai_settings:
                await session.execute(
                    update(AiOrganizationSettings)
                    .where(AiOrganizationSettings.organization_id == org.id)
                    .values(**ai_settings)
                )
        for name, user_id in school.people.items():
            school.headers[name] = await signed_in(db, settings, user_id)
        return school

    return make


def message(text: str = "Explain photosynthesis briefly.", **extra) -> dict:
    """A valid gateway request body for homework help."""
    return {"feature": "homework_help", "max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}
