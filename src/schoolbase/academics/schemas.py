import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schoolbase.models import AcademicSessionType

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Field(max_length=50)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Letter = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Year = Annotated[int, Field(ge=1900, le=2999)]
# A day PostgreSQL and Python both hold, in a range a school calendar can use.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]


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


# Schools


class SchoolCreate(BaseModel):
    name: Title
    identifier: Identifier | None = None


class SchoolUpdate(Patch):
    not_null = ("name",)
    name: Title | None = None
    identifier: Identifier | None = None


class SchoolOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    identifier: str | None
    created_at: datetime


# Academic sessions


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError("end_date must be on or after start_date")


class SessionCreate(BaseModel):
    """A school year has no parent; a semester or term sits in a school year; a grading period
    in a school year, semester or term. Its days lie within its parent's."""

    title: Title
    type: AcademicSessionType
    start_date: Day
    end_date: Day
    parent_id: uuid.UUID | None = None
    school_year: Year | None = None

    @model_validator(mode="after")
    def _dates(self) -> "SessionCreate":
        _check_dates(self.start_date, self.end_date)
        if self.type == AcademicSessionType.school_year and self.parent_id is not None:
            raise ValueError("parent_id: a school year has no parent")
        if self.type != AcademicSessionType.school_year and self.parent_id is None:
            raise ValueError(f"parent_id: a {self.type.value.replace('_', ' ')} belongs to a school year or term")
        return self


class SessionUpdate(Patch):
    not_null = ("title", "start_date", "end_date")
    title: Title | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    school_year: Year | None = None

    @model_validator(mode="after")
    def _dates(self) -> "SessionUpdate":
        _check_dates(self.start_date, self.end_date)
        return self


class SessionOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    parent_id: uuid.UUID | None
    title: str
    type: AcademicSessionType
    start_date: date
    end_date: date
    school_year: int | None
    closed_at: datetime | None
    closed_by: uuid.UUID | None
    state_note: str | None
    created_at: datetime


class ReopenBody(BaseModel):
    reason: Reason


class CloseBody(BaseModel):
    note: Reason | None = None


class HistoryOut(Out):
    id: uuid.UUID
    session_id: uuid.UUID
    class_id: uuid.UUID | None
    student_id: uuid.UUID | None
    action: str
    actor_id: uuid.UUID | None
    reason: str | None
    detail: dict
    created_at: datetime


# Courses


class CourseCreate(BaseModel):
    title: Title
    code: Code | None = None
    school_id: uuid.UUID | None = None
    school_year_id: uuid.UUID | None = None
    subjects: Tags = Field(default_factory=list)
    grade_levels: Tags = Field(default_factory=list)


class CourseUpdate(Patch):
    not_null = ("title", "subjects", "grade_levels")
    title: Title | None = None
    code: Code | None = None
    school_id: uuid.UUID | None = None
    school_year_id: uuid.UUID | None = None
    subjects: Tags | None = None
    grade_levels: Tags | None = None


class CourseOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    school_id: uuid.UUID | None
    school_year_id: uuid.UUID | None
    title: str
    code: str | None
    subjects: list[str]
    grade_levels: list[str]
    created_at: datetime


# A class among them


class ClassAcademics(BaseModel):
    """Where a class belongs: its school, course, code and terms (replaces all four)."""

    school_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    class_code: Code | None = None
    term_ids: Annotated[list[uuid.UUID], Field(max_length=20)] = Field(default_factory=list)


class ClassAcademicsOut(ClassAcademics):
    class_id: uuid.UUID


# Period grade overrides


class OverrideSet(BaseModel):
    """A percentage, a letter or both, and why."""

    percent: Annotated[Decimal, Field(ge=0, le=Decimal("999.99"), max_digits=5, decimal_places=2)] | None = None
    letter: Letter | None = None
    reason: Reason

    @model_validator(mode="after")
    def _value(self) -> "OverrideSet":
        if self.percent is None and self.letter is None:
            raise ValueError("give percent, letter or both")
        return self


class OverrideOut(Out):
    id: uuid.UUID
    class_id: uuid.UUID
    session_id: uuid.UUID
    student_id: uuid.UUID
    percent: Decimal | None
    letter: str | None
    reason: str
    set_by: uuid.UUID | None
    updated_at: datetime
