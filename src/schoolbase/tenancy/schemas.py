import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from schoolbase.auth.passwords import MIN_PASSWORD_LENGTH
from schoolbase.auth.schemas import SLUG_PATTERN, USERNAME_PATTERN
from schoolbase.models import MembershipRole
from schoolbase.validation import JsonObject

Name = Field(min_length=1, max_length=200)
OptionalName = Field(default=None, min_length=1, max_length=200)
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"


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
    settings: JsonObject = Field(default_factory=dict)

    _zone = field_validator("time_zone")(_known_zone)


class OrganizationUpdate(BaseModel):
    name: str | None = OptionalName
    time_zone: str | None = None
    settings: JsonObject | None = None

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
    email: str | None
    username: str | None = Field(description="sign-in name within the managing organization, for people without email")
    managed_by_organization_id: uuid.UUID | None = Field(
        description="the organization whose admins may set this account's password or disable it"
    )
    display_name: str
    avatar_url: str | None
    is_super_admin: bool
    disabled_at: datetime | None


class UserUpdate(BaseModel):
    """End users change their display name and avatar; a super admin may change the rest."""

    display_name: str | None = OptionalName
    # Only http(s): an avatar is put in other people's pages, where javascript: or data: would run
    # in their browser. The database's users_avatar_url_http check refuses the rest too.
    avatar_url: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://\S+$", description="an http(s) URL; null removes it"
    )
    is_super_admin: bool | None = None
    disabled: bool | None = None


class MemberCreate(BaseModel):
    """A person to add. An address in one of the organization's own domains, or a username
    (no address), gets an account managed by the organization at once; any other address
    gets an invitation the person accepts."""

    email: EmailStr | None = None
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN, description="for people without email")
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[MembershipRole] = Field(min_length=1, max_length=4)
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description="a first password for a managed account; the person must change it at first sign-in",
    )

    @model_validator(mode="after")
    def _email_or_username(self) -> "MemberCreate":
        if (self.email is None) == (self.username is None):
            raise ValueError("give either email or username")
        if self.username is not None and self.display_name is None:
            raise ValueError("display_name is required for a person without email")
        self.roles = sorted(set(self.roles))
        return self


class InvitationOut(Out):
    """What the inviting organization knows until the person accepts: the address it typed."""

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    roles: list[MembershipRole]
    display_name: str | None
    state: Literal["held", "pending", "accepted", "revoked", "expired"] = Field(
        description="held: made by a roster import and not sent yet (send it, or send all held ones)"
    )
    sent_at: datetime | None
    expires_at: datetime
    created_at: datetime


class HeldSent(BaseModel):
    sent: int = Field(description="how many held invitations were sent")


class MemberAdded(BaseModel):
    outcome: Literal["added", "invited"] = Field(
        description="added: an account of the organization's own, member at once; invited: an invitation "
        "was sent (whether or not the address has an account)"
    )
    memberships: list["MembershipOut"] = Field(default_factory=list)
    invitation: InvitationOut | None = None


class DomainCreate(BaseModel):
    domain: str = Field(min_length=3, max_length=253, pattern=DOMAIN_PATTERN, examples=["maple-grove.example.org"])

    @field_validator("domain", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class DomainOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    domain: str
    created_at: datetime


class ManagedPassword(BaseModel):
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


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
    school_id: uuid.UUID | None = Field(default=None, description="set with PUT /classes/{id}/academics")
    course_id: uuid.UUID | None = Field(default=None, description="set with PUT /classes/{id}/academics")
    class_code: str | None = Field(default=None, description="set with PUT /classes/{id}/academics")
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
    time_zone: str
    roles: list[MembershipRole]


class Me(BaseModel):
    user: UserOut
    organizations: list[MyOrganization]
