import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, org_fk, pg_enum, tenant_fk, user_fk


class ResourceType(enum.StrEnum):
    video = "video"
    document = "document"
    interactive_activity = "interactive_activity"
    link = "link"
    worksheet = "worksheet"
    quiz = "quiz"


class ResourceState(enum.StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    archived = "archived"


class ResourceCategory(TenantRow, Base):
    __tablename__ = "resource_categories"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "parent_id", "name", postgresql_nulls_not_distinct=True),
        tenant_fk("resource_categories", parent_id="id"),
        Index("resource_categories_parent_idx", "organization_id", "parent_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class Resource(TenantRow, Base):
    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("resource_categories", category_id="id"),
        tenant_fk("classes", class_id="id", ondelete="CASCADE"),
        Index("resources_search_idx", "search", postgresql_using="gin"),
        Index("resources_org_state_idx", "organization_id", "state", "type"),
        Index("resources_category_idx", "organization_id", "category_id"),
        Index("resources_class_idx", "organization_id", "class_id"),
        Index("resources_author_idx", "author_id"),
        Index("resources_reviewer_idx", "reviewer_id"),
        Index("resources_grade_levels_idx", "grade_levels", postgresql_using="gin"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[ResourceType] = mapped_column(pg_enum(ResourceType, "resource_type"))
    url: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(Text)
    file_content_type: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(Text)
    grade_levels: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    class_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    state: Mapped[ResourceState] = mapped_column(
        pg_enum(ResourceState, "resource_state"), server_default=text("'draft'")
    )
    author_id: Mapped[uuid.UUID] = user_fk()
    reviewer_id: Mapped[uuid.UUID | None] = user_fk()
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ai_generated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    ai_usage_log_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rating_average: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    rating_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Only ever used inside queries: never loaded with the row (and an accidental load raises).
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("private.resource_search_vector(title, description, tags)", persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )


class ResourceReview(TenantRow, Base):
    __tablename__ = "resource_reviews"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "resource_id", "user_id"),
        tenant_fk("resources", resource_id="id", ondelete="CASCADE"),
        Index("resource_reviews_user_idx", "user_id"),
    )

    resource_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = user_fk("CASCADE")
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
