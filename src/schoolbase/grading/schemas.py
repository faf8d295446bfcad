"""Request and response shapes for grading: scales, categories, assignments, rubrics,
submissions and grades (the gradebook's are in ``gradebook_schemas.py``). Amounts are
``Decimal`` (JSON strings), as stored."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from schoolbase.models import (
    AssignmentState,
    AssignmentType,
    GradeSource,
    GradeState,
    SubmissionStatus,
)
from schoolbase.validation import AwareTimestamp

# The column types: numeric(8, 2) points, numeric(5, 2) percentages.
Points = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2)]
PositivePoints = Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Title = Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
CENT = Decimal("0.01")
MAX_POINTS = Decimal("999999.99")  # numeric(8, 2), the type of every points column


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Patch(BaseModel):
    """A partial update: only the fields sent are changed."""

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# Grading scale


class ScaleLevel(Out):
    letter: str = Field(min_length=1, max_length=5, pattern=r"^\S(.*\S)?$")
    min_percent: Percent


class GradingScaleIn(BaseModel):
    """The whole scale; an empty list goes back to the default A–F scale."""

    levels: list[ScaleLevel] = Field(max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> "GradingScaleIn":
        letters = [level.letter for level in self.levels]
        minimums = [level.min_percent for level in self.levels]
        if len(set(letters)) != len(letters):
            raise ValueError("each letter may appear only once")
        if len(set(minimums)) != len(minimums):
            raise ValueError("each min_percent may appear only once")
        if self.levels and min(minimums) != 0:
            raise ValueError("the lowest level must start at 0, so that every percentage has a letter")
        return self


class GradingScaleOut(BaseModel):
    organization_id: uuid.UUID
    is_default: bool = Field(
        description="true when the organization has no scale of its own (A 90, B 80, C 70, D 60, F 0)"
    )
    levels: list[ScaleLevel] = Field(description="highest first")


# Categories


class CategoryCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    weight_percent: Percent = Field(description="the weights of a class's categories add up to at most 100")
    drop_lowest: int = Field(default=0, ge=0, le=50, description="how many of the lowest scores are dropped")


class CategoryUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    weight_percent: Percent | None = None
    drop_lowest: int | None = Field(default=None, ge=0, le=50)


class CategoryOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    class_id: uuid.UUID
    name: str
    weight_percent: Decimal
    drop_lowest: int
    created_at: datetime


# Assignments


class _AssignmentFields(BaseModel):
    instructions: str | None = Field(default=None, max_length=50000)
    available_from: AwareTimestamp | None = None
    due_at: AwareTimestamp | None = None
    close_at: AwareTimestamp | None = Field(default=None, description="no submissions after this time")


class AssignmentCreate(_AssignmentFields):
    category_id: uuid.UUID
    title: Title
    type: AssignmentType = AssignmentType.homework
    points_possible: PositivePoints
    accept_late: bool = True
    late_penalty_percent_per_day: Percent = Field(default=Decimal(0), description="taken off per started day late")
    late_penalty_floor_percent: Percent = Field(
        default=Decimal(0), description="the penalty never takes a late grade below this share of its points"
    )
    allowed_attempts: int = Field(default=1, ge=1, le=100)
    visible_to_parents: bool = True

    @model_validator(mode="after")
    def _dates_in_order(self) -> "AssignmentCreate":
        if self.available_from and self.due_at and self.due_at < self.available_from:
            raise ValueError("due_at must not be before available_from")
        if self.due_at and self.close_at and self.close_at < self.due_at:
            raise ValueError("close_at must not be before due_at")
        return self


class AssignmentUpdate(_AssignmentFields, Patch):
    category_id: uuid.UUID | None = None
    title: Title | None = None
    type: AssignmentType | None = None
    points_possible: PositivePoints | None = None
    accept_late: bool | None = None
    late_penalty_percent_per_day: Percent | None = None
    late_penalty_floor_percent: Percent | None = None
    allowed_attempts: int | None = Field(default=None, ge=1, le=100)
    visible_to_parents: bool | None = None


class AssignmentOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    class_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    instructions: str | None
    type: AssignmentType
    points_possible: Decimal
    available_from: datetime | None
    due_at: datetime | None
    close_at: datetime | None
    state: AssignmentState
    accept_late: bool
    late_penalty_percent_per_day: Decimal
    late_penalty_floor_percent: Decimal
    allowed_attempts: int
    visible_to_parents: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MarkedMissing(BaseModel):
    marked: int
    student_ids: list[uuid.UUID]


class PostedGrades(BaseModel):
    posted: int


# Rubrics


class RubricLevel(BaseModel):
    title: str = Field(min_length=1, max_length=300, pattern=r"\S")
    points: Points
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("points")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        return value.quantize(CENT)

    def stored(self) -> dict[str, Any]:
        """As kept in ``assignment_rubric_criteria.levels``: points as a JSON number."""
        return {"title": self.title, "points": float(self.points), "description": self.description}


class CriterionIn(BaseModel):
    title: Title
    description: str | None = Field(default=None, max_length=5000)
    max_points: PositivePoints
    levels: list[RubricLevel] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _levels_within_max(self) -> "CriterionIn":
        for level in self.levels:
            if level.points > self.max_points:
                raise ValueError(
                    f"level {level.title!r} has {level.points} points, more than max_points {self.max_points}"
                )
        return self


class RubricIn(BaseModel):
    title: Title
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _total_fits_the_points_column(self) -> "RubricIn":
        # A rubric grade's points are the sum of its criteria's scores, stored as numeric(8, 2).
        total = sum((c.max_points for c in self.criteria), Decimal(0))
        if total > MAX_POINTS:
            raise ValueError(f"the criteria's max_points add up to {total}, more than {MAX_POINTS}")
        return self


class CriterionOut(Out):
    id: uuid.UUID
    position: int
    title: str
    description: str | None
    max_points: Decimal
    levels: list[RubricLevel]


class RubricOut(BaseModel):
    id: uuid.UUID
    assignment_id: uuid.UUID
    title: str
    total_points: Decimal = Field(description="the sum of the criteria's max_points")
    criteria: list[CriterionOut]


# Submissions


Link = HttpUrl


class SubmissionCreate(BaseModel):
    body: str | None = Field(default=None, max_length=200000)
    links: list[Link] = Field(default_factory=list, max_length=20)
    submit: bool = Field(default=False, description="turn it in now; otherwise it is saved as a draft")


class SubmissionUpdate(BaseModel):
    body: str | None = Field(default=None, max_length=200000)
    links: list[Link] | None = Field(default=None, max_length=20)
    submit: bool = False


class RubricScoreOut(Out):
    criterion_id: uuid.UUID
    points: Decimal
    level_title: str | None
    comment: str | None


class GradeOut(Out):
    id: uuid.UUID
    submission_id: uuid.UUID
    assignment_id: uuid.UUID
    class_id: uuid.UUID
    student_id: uuid.UUID
    points: Decimal
    points_possible: Decimal
    late_penalty_points: Decimal
    final_points: Decimal
    percentage: Decimal
    letter_grade: str | None
    feedback: str | None
    grader_id: uuid.UUID | None
    source: GradeSource
    state: GradeState
    posted_at: datetime | None
    ai_confidence: Decimal | None
    ai_suggested_points: Decimal | None
    created_at: datetime
    updated_at: datetime
    rubric: list[RubricScoreOut] = Field(default_factory=list)


class SubmissionOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    class_id: uuid.UUID
    assignment_id: uuid.UUID
    student_id: uuid.UUID
    attempt: int
    body: str | None
    links: list[str]
    submitted_at: datetime | None
    status: SubmissionStatus
    created_at: datetime
    updated_at: datetime
    grade: GradeOut | None = Field(default=None, description="present when you may see it (students: once posted)")


# Grades


class RubricScoreIn(BaseModel):
    criterion_id: uuid.UUID
    points: Points
    level_title: str | None = Field(default=None, max_length=300)
    comment: str | None = Field(default=None, max_length=5000)


class GradeIn(BaseModel):
    """Grade by ``points`` or by ``rubric`` (one score per criterion; their sum becomes the points)."""

    points: Points | None = None
    rubric: list[RubricScoreIn] | None = Field(default=None, min_length=1, max_length=50)
    state: Literal["draft", "final"] = "draft"
    feedback: str | None = Field(default=None, max_length=20000)

    @model_validator(mode="after")
    def _one_way(self) -> "GradeIn":
        if (self.points is None) == (self.rubric is None):
            raise ValueError("send either points or rubric")
        if self.rubric is not None:
            ids = [score.criterion_id for score in self.rubric]
            if len(set(ids)) != len(ids):
                raise ValueError("each criterion may be scored only once")
        return self


class GradeHistoryOut(Out):
    id: uuid.UUID
    grade_id: uuid.UUID
    operation: str
    changed_by: uuid.UUID | None
    changed_at: datetime
    old_row: dict | None
    new_row: dict | None
