import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, Timestamps, tenant_fk, uuid_pk


class MembershipRole(enum.StrEnum):
    org_admin = "org_admin"
    teacher = "teacher"
    student = "student"
    parent = "parent"


membership_role = Enum(
    MembershipRole, name="membership_role", create_type=False, values_callable=lambda e: [m.value for m in e]
)


class Organization(Timestamps, Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    time_zone: Mapped[str] = mapped_column(Text, server_default=text("'UTC'"))
    settings: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))


class User(Timestamps, Base):
    """A person. With an address in a domain an organization owns, or with a username and no
    address, the account is managed by that organization (the database derives the owner
    from the address)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("users_email_key", func.lower(text("email")), unique=True),
        Index("users_email_domain_idx", func.lower(func.split_part(text("email"), "@", 2))),
        Index("users_managed_by_idx", "managed_by_organization_id"),
        Index(
            "users_username_key",
            "managed_by_organization_id",
            "username",
            unique=True,
            postgresql_where=text("username is not null"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    managed_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    display_name: Mapped[str] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    is_super_admin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(TenantRow, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "user_id", "role"),
        Index("memberships_user_idx", "user_id", "role"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[MembershipRole] = mapped_column(membership_role)
    # Set when a roster removed it: the row stays (with what hangs off it) but gives no reach.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Class(TenantRow, Base):
    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        Index("classes_org_name_idx", "organization_id", "name"),
        tenant_fk("schools", name="classes_school_fk", school_id="id"),
        tenant_fk("courses", name="classes_course_fk", course_id="id"),
        Index("classes_school_idx", "organization_id", "school_id"),
        Index("classes_course_idx", "organization_id", "course_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    grade_level: Mapped[str | None] = mapped_column(Text)
    term: Mapped[str | None] = mapped_column(Text)
    school_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    class_code: Mapped[str | None] = mapped_column(Text)


class Enrollment(TenantRow, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "class_id", "user_id"),
        UniqueConstraint("organization_id", "class_id", "user_id", "role", name="enrollments_class_member_key"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
        tenant_fk("memberships", user_id="user_id", role="role", ondelete="CASCADE"),
        CheckConstraint("role in ('teacher', 'student')"),
        Index("enrollments_member_idx", "organization_id", "user_id", "role"),
        Index("enrollments_user_idx", "user_id", "role", "class_id"),
        # A class's people, looked up by the class alone (rosters, private.visible_user_ids).
        Index("enrollments_class_role_idx", "class_id", "role"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    role: Mapped[MembershipRole] = mapped_column(membership_role)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Guardianship(TenantRow, Base):
    __tablename__ = "guardianships"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "parent_id", "student_id"),
        tenant_fk("memberships", parent_id="user_id", parent_role="role", ondelete="CASCADE"),
        tenant_fk("memberships", student_id="user_id", student_role="role", ondelete="CASCADE"),
        Index("guardianships_parent_member_idx", "organization_id", "parent_id", "parent_role"),
        Index("guardianships_student_member_idx", "organization_id", "student_id", "student_role"),
        Index("guardianships_parent_idx", "parent_id", "student_id"),
    )

    parent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    parent_role: Mapped[MembershipRole] = mapped_column(membership_role, server_default=text("'parent'"))
    student_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    student_role: Mapped[MembershipRole] = mapped_column(membership_role, server_default=text("'student'"))
