import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSTZMULTIRANGE, UUID, Range
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import Base, TenantRow, org_fk, pg_enum, tenant_fk, user_fk


class MeetingState(enum.StrEnum):
    scheduled = "scheduled"
    live = "live"
    ended = "ended"
    cancelled = "cancelled"


class ActionItemState(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"


class MeetingRoom(TenantRow, Base):
    __tablename__ = "meeting_rooms"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "name"),
        Index("meeting_rooms_owner_idx", "owner_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    join_url: Mapped[str | None] = mapped_column(Text)
    provider_settings: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    owner_id: Mapped[uuid.UUID] = user_fk()
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class MeetingSession(TenantRow, Base):
    __tablename__ = "meeting_sessions"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("meeting_rooms", room_id="id", ondelete="CASCADE"),
        tenant_fk("classes", class_id="id", ondelete="SET NULL (class_id)"),
        Index("meeting_sessions_room_idx", "organization_id", "room_id", "starts_at"),
        Index("meeting_sessions_class_idx", "organization_id", "class_id"),
        Index("meeting_sessions_host_idx", "host_id"),
    )

    room_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    class_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    host_id: Mapped[uuid.UUID] = user_fk()
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[MeetingState] = mapped_column(
        pg_enum(MeetingState, "meeting_state"), server_default=text("'scheduled'")
    )


class MeetingParticipant(TenantRow, Base):
    __tablename__ = "meeting_participants"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "session_id", "user_id"),
        tenant_fk("meeting_sessions", session_id="id", ondelete="CASCADE"),
        Index("meeting_participants_user_idx", "user_id", "session_id"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = user_fk("CASCADE")
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The gaps between a leave and the next join: attendance is [joined_at, left_at] minus these.
    away: Mapped[list[Range[datetime]]] = mapped_column(TSTZMULTIRANGE, server_default=text("'{}'"))


class MeetingActionItem(TenantRow, Base):
    __tablename__ = "meeting_action_items"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("meeting_sessions", session_id="id", ondelete="CASCADE"),
        Index("meeting_action_items_session_idx", "organization_id", "session_id"),
        Index("meeting_action_items_assignee_idx", "assignee_id", "state"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[uuid.UUID | None] = user_fk()
    due_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[ActionItemState] = mapped_column(
        pg_enum(ActionItemState, "action_item_state"), server_default=text("'open'")
    )
    progress_percent: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
