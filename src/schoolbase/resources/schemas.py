import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from schoolbase.models import ResourceState, ResourceType


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _text(max_length: int, min_length: int = 1):
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]


Label = _text(50)
Name = _text(200)
Title = _text(300)
Topic = _text(500)
Note = _text(2000)
Comment = _text(5000)
Body = _text(200_000)
CategoryDescription = _text(2000, 0)
Description = _text(10000, 0)
SEVERAL_ORGANIZATIONS = "required when you teach or administer in several organizations"
# Only http(s): a link is opened by other people, where javascript: or data: would run in their
# browser. The database's resources_url_check refuses the rest too.
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$", max_length=2000)]
GradeLevels = Annotated[list[Label], Field(max_length=20, description='e.g. ["5"] or ["K", "1"]')]
Tags = Annotated[list[Label], Field(max_length=50)]


# Categories


class CategoryCreate(BaseModel):
    name: Name
    description: CategoryDescription | None = None
    parent_id: uuid.UUID | None = Field(default=None, description="null: a top-level category")


class CategoryUpdate(BaseModel):
    """Rename, describe, or move (``parent_id``; an explicit null moves it to the top level)."""

    name: Name | None = None
    description: CategoryDescription | None = None
    parent_id: uuid.UUID | None = None


class CategoryOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class SubtreeCategory(CategoryOut):
    depth: int = Field(description="0 for the category asked for, 1 for its children, …")


# Resources


class ResourceFields(BaseModel):
    title: Title
    description: Description | None = None
    type: ResourceType
    subject: Name | None = None
    grade_levels: GradeLevels = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)
    category_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = Field(
        default=None, description="only this class's teachers, students and parents see it"
    )


class ResourceCreate(ResourceFields):
    """A link (``url``) or a text resource (``body``); files go through ``POST /resources/upload``."""

    organization_id: uuid.UUID | None = Field(default=None, description=SEVERAL_ORGANIZATIONS)
    url: Url | None = None
    body: Body | None = None
    state: Literal["draft", "pending_review"] = Field(
        default="draft", description="pending_review submits it for an org admin's review at once"
    )

    @model_validator(mode="after")
    def _content(self) -> "ResourceCreate":
        if self.url is None and self.body is None:
            raise ValueError("give a url or a body (upload a file with POST /resources/upload)")
        return self


class FileResourceCreate(ResourceFields):
    """The form fields sent with an uploaded file."""

    organization_id: uuid.UUID | None = None
    type: ResourceType = ResourceType.document
    state: Literal["draft", "pending_review"] = "draft"

    @classmethod
    def from_form(cls, fields: list[tuple[str, str]]) -> "FileResourceCreate":
        """From a multipart form's fields: blank ones count as absent; ``grade_levels`` and
        ``tags`` repeat, and of any other field sent twice the last one counts."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            given = [value for key, value in fields if key == name and value.strip()]
            if name in ("grade_levels", "tags"):
                if given:
                    values[name] = given
            elif given:
                values[name] = given[-1]
        return cls.model_validate(values)


class ResourceUpdate(BaseModel):
    title: Title | None = None
    description: Description | None = None
    type: ResourceType | None = None
    url: Url | None = None
    body: Body | None = None
    subject: Name | None = None
    grade_levels: GradeLevels | None = None
    tags: Tags | None = None
    category_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None


class Decision(BaseModel):
    note: Note | None = Field(default=None, description="shown to the author")


class Rejection(BaseModel):
    note: Note = Field(description="why it was rejected, shown to the author")


class ResourceSummary(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    description: str | None
    type: ResourceType
    url: str | None
    file_content_type: str | None
    file_size: int | None
    subject: str | None
    grade_levels: list[str]
    tags: list[str]
    category_id: uuid.UUID | None
    class_id: uuid.UUID | None
    state: ResourceState
    author_id: uuid.UUID
    reviewer_id: uuid.UUID | None
    review_note: str | None
    reviewed_at: datetime | None
    ai_generated: bool
    ai_usage_log_id: uuid.UUID | None
    rating_average: float | None
    rating_count: int
    created_at: datetime
    updated_at: datetime

    @computed_field
    @property
    def file_url(self) -> str | None:
        return f"/resources/{self.id}/file" if self.file_content_type else None


class ResourceOut(ResourceSummary):
    body: str | None


class SearchHit(ResourceSummary):
    rank: float | None = Field(default=None, description="text-search rank when q is given")


# Reviews


class ReviewCreate(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: Comment | None = None


class ReviewUpdate(BaseModel):
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: Comment | None = None


class ReviewOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    resource_id: uuid.UUID
    user_id: uuid.UUID
    rating: int
    comment: str | None
    created_at: datetime
    updated_at: datetime


# AI generation


class GenerateRequest(BaseModel):
    organization_id: uuid.UUID | None = Field(default=None, description=SEVERAL_ORGANIZATIONS)
    topic: Topic
    grade_level: Label
    kind: Literal["worksheet", "quiz"]
    length: int = Field(ge=1, le=50, description="number of exercises or questions")
    subject: Name | None = None
    title: Title | None = Field(default=None, description="default: made from kind and topic")
    category_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    model: str = Field(default="claude-haiku", description="a service alias from GET /ai/services")
