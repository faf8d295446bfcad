import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schoolbase.grading import schemas as grading_schemas


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AiGradeRequest(BaseModel):
    model: str | None = Field(
        default=None, max_length=100, description="a service alias from GET /ai/services; default from settings"
    )


class RubricScoreOut(Out):
    criterion_id: uuid.UUID
    title: str
    position: int
    max_points: Decimal
    points: Decimal
    level_title: str | None
    comment: str | None


class GradeOut(grading_schemas.GradeOut):
    organization_id: uuid.UUID
    ai_usage_log_id: uuid.UUID | None
    ai_difference: Decimal | None = Field(
        description="points − ai_suggested_points: how far the teacher moved from the AI suggestion"
    )
    rubric: list[RubricScoreOut]
    created_at: datetime
    updated_at: datetime


class RubricScoreIn(BaseModel):
    criterion_id: uuid.UUID
    points: Decimal = Field(ge=0, max_digits=8, decimal_places=2)
    level_title: str | None = Field(default=None, max_length=300)
    comment: str | None = Field(default=None, max_length=5000)


class GradeEdit(BaseModel):
    """A teacher's edit: new points, or new scores for some rubric criteria (the others keep
    theirs), and/or new feedback. The grade becomes the teacher's (source teacher)."""

    points: Decimal | None = Field(default=None, ge=0, max_digits=8, decimal_places=2)
    rubric: list[RubricScoreIn] | None = Field(default=None, min_length=1, max_length=200)
    feedback: str | None = Field(default=None, max_length=20000)
    state: Literal["final", "draft"] = "final"

    @model_validator(mode="after")
    def _one_way(self) -> "GradeEdit":
        if self.points is not None and self.rubric is not None:
            raise ValueError("give either points or rubric scores, not both")
        if self.rubric is not None and len({r.criterion_id for r in self.rubric}) != len(self.rubric):
            raise ValueError("each criterion may appear once")
        return self


class AgreementOut(BaseModel):
    organization_id: uuid.UUID
    tolerance: Decimal
    finalized: int = Field(description="AI suggestions a teacher finalized (accepted or edited)")
    agreed: int = Field(description="finalized with |final points − suggested points| ≤ tolerance")
    agreement_rate: Decimal | None = Field(description="agreed / finalized; null when nothing was finalized")
    mean_absolute_difference: Decimal | None
    mean_difference: Decimal | None = Field(description="mean of final − suggested: > 0, teachers give more")
    accepted_unchanged: int = Field(description="finalized with exactly the suggested points")
    edited: int = Field(description="finalized with other points than suggested")
    in_review: int = Field(description="suggestions awaiting review or in a teacher's draft")
    rejected: int = Field(description="suggestions a teacher deleted")


class JobItemOut(Out):
    submission_id: uuid.UUID
    state: str
    attempts: int
    grade_id: uuid.UUID | None
    usage_log_id: uuid.UUID | None
    error: str | None


class JobOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    class_id: uuid.UUID
    assignment_id: uuid.UUID
    requested_by: uuid.UUID | None
    model: str
    state: str = Field(description="queued, running, completed, or failed (stopped early: see error)")
    total: int
    done: int
    failed: int
    skipped: int = Field(description="graded meanwhile by someone else, or no longer gradable")
    pending: int = Field(description="not finished yet (waiting or being graded)")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    items: list[JobItemOut]
