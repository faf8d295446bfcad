import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from schoolbase.models import ActionItemState, MeetingState
from schoolbase.validation import AwareTimestamp, JsonObject

RoomName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
JoinUrl = Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
Capacity = Annotated[int, Field(gt=0, le=100_000)]
Progress = Annotated[int, Field(ge=0, le=100)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Patch(BaseModel):
    """A partial update: absent fields stay; ``null`` is refused for the fields in ``not_null``."""

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> "Patch":
        nulls = [name for name in self.not_null if name in self.model_fields_set and getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and not starts_at < ends_at:
        raise ValueError("starts_at must be before ends_at")


# Rooms


class RoomCreate(BaseModel):
    name: RoomName
    capacity: Capacity | None = None
    join_url: JoinUrl | None = None
    provider_settings: JsonObject = Field(default_factory=dict)
    active: bool = True


class RoomUpdate(Patch):
    not_null = ("name", "provider_settings", "active")

    name: RoomName | None = None
    capacity: Capacity | None = None
    join_url: JoinUrl | None = None
    provider_settings: JsonObject | None = None
    active: bool | None = None


class RoomOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    capacity: int | None
    join_url: str | None
    provider_settings: dict[str, Any]
    owner_id: uuid.UUID
    active: bool
    created_at: datetime
    updated_at: datetime


# Sessions


class SessionCreate(BaseModel):
    title: Title
    class_id: uuid.UUID | None = None
    starts_at: AwareTimestamp = Field(description="with a time zone, e.g. 2026-03-02T10:00:00+01:00")
    ends_at: AwareTimestamp = Field(description="after starts_at; sessions in a room occupy [starts_at, ends_at)")

    @model_validator(mode="after")
    def _window(self) -> "SessionCreate":
        _check_window(self.starts_at, self.ends_at)
        return self


class SessionUpdate(Patch):
    """Reschedule (times, room), retitle, change the class, or move the state:
    scheduled → live → ended, and scheduled or live → cancelled."""

    not_null = ("title", "room_id", "starts_at", "ends_at", "state")

    title: Title | None = None
    class_id: uuid.UUID | None = None
    room_id: uuid.UUID | None = None
    starts_at: AwareTimestamp | None = None
    ends_at: AwareTimestamp | None = None
    state: MeetingState | None = None

    @model_validator(mode="after")
    def _window(self) -> "SessionUpdate":
        _check_window(self.starts_at, self.ends_at)
        return self


class SessionOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    room_id: uuid.UUID
    title: str
    class_id: uuid.UUID | None
    host_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    state: MeetingState
    created_at: datetime
    updated_at: datetime


# Participants and attendance


class ParticipantCreate(BaseModel):
    user_id: uuid.UUID


class ParticipantOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    session_id: uuid.UUID
    user_id: uuid.UUID
    joined_at: datetime | None
    left_at: datetime | None
    created_at: datetime


class AttendanceRow(BaseModel):
    user_id: uuid.UUID
    display_name: str | None = Field(description="null when you may not read this person's profile")
    joined_at: datetime | None
    left_at: datetime | None
    minutes: float = Field(description="minutes present inside the session's window")


class SessionAttendance(BaseModel):
    session_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    participants: list[AttendanceRow]


class StudentAttendance(BaseModel):
    user_id: uuid.UUID
    display_name: str | None
    minutes: float
    sessions_attended: int


class ClassAttendance(BaseModel):
    class_id: uuid.UUID
    since: datetime | None
    until: datetime | None
    sessions: int = Field(description="sessions of the class in the period (cancelled ones excluded)")
    students: list[StudentAttendance]


# Action items


class ActionItemCreate(BaseModel):
    title: Title
    description: str | None = Field(default=None, max_length=5000)
    assignee_id: uuid.UUID | None = None
    due_date: date | None = None
    state: ActionItemState = ActionItemState.open
    progress_percent: Progress | None = Field(default=None, description="0 by default; 100 when the state is done")


class ActionItemUpdate(Patch):
    """The host or an org admin may change everything; the assignee only state and progress."""

    not_null = ("title", "state", "progress_percent")

    title: Title | None = None
    description: str | None = Field(default=None, max_length=5000)
    assignee_id: uuid.UUID | None = None
    due_date: date | None = None
    state: ActionItemState | None = None
    progress_percent: Progress | None = None


class ActionItemOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    session_id: uuid.UUID
    title: str
    description: str | None
    assignee_id: uuid.UUID | None
    due_date: date | None
    state: ActionItemState
    progress_percent: int
    created_at: datetime
    updated_at: datetime


class MyActionItemOut(ActionItemOut):
    session_title: str | None = Field(description="null when the session is no longer visible to you")
    session_starts_at: datetime | None
