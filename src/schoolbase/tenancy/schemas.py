import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from schoolbase.auth.passwords import MIN_PASSWORD_LENGTH
from schoolbase.models import MembershipRole

Name = Field(min_length=1, max_length=200)
OptionalName = Field(default=None, min_length=1, max_length=200)
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


def _known_zone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin'")
    return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganizationCreate(BaseModel):
    name: str = Name
    slug: str = Field(pattern=SLUG_PATTERN, description="lowercase letters, digits and dashes")
    time_zone: str = "UTC"
    settings: dict[str, Any] = Field(default_factory=dict)

    _zone = field_validator("time_zone")(_known_zone)


class OrganizationUpdate(BaseModel):
    name: str | None = OptionalName
    time_zone: str | None = None
    settings: dict[str, Any] | None = None

    _zone = field_validator("time_zone")(_known_zone)


class OrganizationOut(Out):
    id: uuid.UUID
    name: str
    slug: str
    time_zone: str
    settings: dict[str, Any]
    created_at: datetime


class UserOut(Out):
    id: uuid.UUID
    email: str
    display_name: str
    avatar_url: str | None
    is_super_admin: bool
    disabled_at: datetime | None


class UserUpdate(BaseModel):
    """End users change their display name and avatar; a super admin may change the rest."""

    display_name: str | None = OptionalName
    avatar_url: str | None = Field(default=None, max_length=2000)
    is_super_admin: bool | None = None
    disabled: bool | None = None


class MemberCreate(BaseModel):
    email: EmailStr
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[MembershipRole] = Field(min_length=1)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class MembershipCreate(BaseModel):
    user_id: uuid.UUID
    role: MembershipRole


class MembershipOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: MembershipRole
    created_at: datetime


class MemberOut(MembershipOut):
    email: str | None = Field(description="null when the caller may not read this person's profile")
    display_name: str | None


class ClassCreate(BaseModel):
    name: str = Name
    subject: str | None = Field(default=None, max_length=200)
    grade_level: str | None = Field(default=None, max_length=50)
    term: str | None = Field(default=None, max_length=100)


class ClassUpdate(BaseModel):
    name: str | None = OptionalName
    subject: str | None = Field(default=None, max_length=200)
    grade_level: str | None = Field(default=None, max_length=50)
    term: str | None = Field(default=None, max_length=100)


class ClassOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    subject: str | None
    grade_level: str | None
    term: str | None
    created_at: datetime


class EnrollmentCreate(BaseModel):
    user_id: uuid.UUID
    role: Literal["teacher", "student"]


class EnrollmentOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    class_id: uuid.UUID
    user_id: uuid.UUID
    role: MembershipRole
    created_at: datetime


class GuardianshipCreate(BaseModel):
    parent_id: uuid.UUID
    student_id: uuid.UUID


class GuardianshipOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    parent_id: uuid.UUID
    student_id: uuid.UUID
    created_at: datetime


class MyOrganization(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    roles: list[MembershipRole]


class Me(BaseModel):
    user: UserOut
    organizations: list[MyOrganization]
