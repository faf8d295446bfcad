import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schoolbase.models import MembershipRole
from schoolbase.models.ai import AiCallStatus, AiFeature
from schoolbase.validation import PositiveInt32, PositiveInt64, Timestamp


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]] = Field(min_length=1)


class MessageRequest(BaseModel):
    """An Anthropic Messages request, plus the feature it serves and the organization that pays."""

    # Unknown fields are refused rather than dropped: a caller must not believe a
    # parameter (say, one the provider SDK no longer takes) was applied.
    model_config = ConfigDict(extra="forbid")

    feature: AiFeature
    organization_id: uuid.UUID | None = Field(
        default=None, description="required when you belong to more than one organization"
    )
    model: str = Field(default="claude-haiku", description="a service alias from GET /ai/services")
    system: str | list[dict[str, Any]] | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    max_tokens: int = Field(ge=1, le=64000)
    stream: bool = False

    def provider_params(self) -> dict[str, Any]:
        params = self.model_dump(include={"system", "messages", "max_tokens"}, exclude_none=True)
        return params


class PriceOut(Out):
    effective_from: datetime
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cache_write_usd_per_mtok: Decimal
    cache_read_usd_per_mtok: Decimal


class PriceCreate(BaseModel):
    effective_from: Timestamp
    input_usd_per_mtok: Decimal = Field(ge=0, max_digits=12, decimal_places=6)
    output_usd_per_mtok: Decimal = Field(ge=0, max_digits=12, decimal_places=6)
    cache_write_usd_per_mtok: Decimal = Field(ge=0, max_digits=12, decimal_places=6)
    cache_read_usd_per_mtok: Decimal = Field(ge=0, max_digits=12, decimal_places=6)


class ServiceOut(Out):
    id: uuid.UUID
    alias: str
    provider: str
    model_id: str
    display_name: str
    context_window: int
    max_output_tokens: int
    enabled: bool
    price: PriceOut | None = None


class AiSettingsOut(Out):
    organization_id: uuid.UUID
    homework_help_enabled: bool
    homework_help_roles: list[MembershipRole]
    grading_assistance_enabled: bool
    grading_assistance_roles: list[MembershipRole]
    resource_generation_enabled: bool
    resource_generation_roles: list[MembershipRole]
    allowed_service_ids: list[uuid.UUID] | None
    monthly_budget_usd: Decimal | None
    daily_token_quota_per_user: int | None
    daily_request_quota_per_user: int | None
    rate_limit_per_minute: int
    rate_limit_per_hour: int
    rate_limit_per_day: int
    store_prompts: bool
    retention_days: int
    alert_thresholds_percent: list[int]


class AiSettingsUpdate(BaseModel):
    homework_help_enabled: bool | None = None
    homework_help_roles: list[MembershipRole] | None = None
    grading_assistance_enabled: bool | None = None
    grading_assistance_roles: list[MembershipRole] | None = None
    resource_generation_enabled: bool | None = None
    resource_generation_roles: list[MembershipRole] | None = None
    allowed_service_ids: list[uuid.UUID] | None = None
    monthly_budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    daily_token_quota_per_user: PositiveInt64 | None = None
    daily_request_quota_per_user: PositiveInt32 | None = None
    rate_limit_per_minute: PositiveInt32 | None = None
    rate_limit_per_hour: PositiveInt32 | None = None
    rate_limit_per_day: PositiveInt32 | None = None
    store_prompts: bool | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    alert_thresholds_percent: list[PositiveInt32] | None = Field(default=None, max_length=10)


class UsageLogOut(Out):
    id: uuid.UUID
    created_at: datetime
    organization_id: uuid.UUID
    user_id: uuid.UUID
    service_id: uuid.UUID
    feature: AiFeature
    request_id: str | None
    status: AiCallStatus
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    cache_write_usd_per_mtok: Decimal | None
    cache_read_usd_per_mtok: Decimal | None
    cost_usd: Decimal
    latency_ms: int | None
    upstream_error: str | None
    quality: dict[str, Any]
    feedback_rating: int | None
    feedback_comment: str | None


class Feedback(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class UsageTotalsOut(Out):
    organization_id: uuid.UUID
    requests: int
    succeeded: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal


class DailyUsageOut(UsageTotalsOut):
    user_id: uuid.UUID
    day: date


class MonthlyUsageOut(UsageTotalsOut):
    month: date
    budget_usd: Decimal | None
    reserved_usd: Decimal


class BudgetAlertOut(Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    month: date
    threshold_percent: int
    spent_usd: Decimal
    budget_usd: Decimal
    created_at: datetime
