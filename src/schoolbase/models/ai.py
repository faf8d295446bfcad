import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from schoolbase.models.base import (
    Base,
    TenantRow,
    Timestamps,
    org_fk,
    pg_enum,
    tenant_fk,
    user_fk,
    uuid_pk,
)
from schoolbase.models.tenancy import MembershipRole, membership_role


class AiFeature(enum.StrEnum):
    homework_help = "homework_help"
    grading_assistance = "grading_assistance"
    resource_generation = "resource_generation"


class AiCallStatus(enum.StrEnum):
    succeeded = "succeeded"
    failed = "failed"
    rate_limited = "rate_limited"
    over_budget = "over_budget"
    feature_disabled = "feature_disabled"


ai_feature = pg_enum(AiFeature, "ai_feature")
ai_call_status = pg_enum(AiCallStatus, "ai_call_status")
PRICE = Numeric(12, 6)
MONEY = Numeric()


def _count(kind=Integer) -> Mapped[int]:
    return mapped_column(kind, server_default=text("0"))


class AiService(Timestamps, Base):
    __tablename__ = "ai_services"
    __table_args__ = (UniqueConstraint("provider", "model_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    alias: Mapped[str] = mapped_column(Text, unique=True)
    provider: Mapped[str] = mapped_column(Text)
    model_id: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    context_window: Mapped[int] = mapped_column(Integer)
    max_output_tokens: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class AiServicePrice(Timestamps, Base):
    __tablename__ = "ai_service_prices"
    __table_args__ = (UniqueConstraint("service_id", "effective_from"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ai_services.id", ondelete="CASCADE"))
    effective_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    input_usd_per_mtok: Mapped[Decimal] = mapped_column(PRICE)
    output_usd_per_mtok: Mapped[Decimal] = mapped_column(PRICE)
    cache_write_usd_per_mtok: Mapped[Decimal] = mapped_column(PRICE)
    cache_read_usd_per_mtok: Mapped[Decimal] = mapped_column(PRICE)


def _roles(default: str) -> Mapped[list[MembershipRole]]:
    return mapped_column(ARRAY(membership_role), server_default=text(f"'{default}'"))


class AiOrganizationSettings(TenantRow, Base):
    __tablename__ = "ai_organization_settings"
    __table_args__ = (UniqueConstraint("organization_id", "id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    homework_help_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    homework_help_roles: Mapped[list[MembershipRole]] = _roles("{student,teacher,org_admin}")
    grading_assistance_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    grading_assistance_roles: Mapped[list[MembershipRole]] = _roles("{teacher,org_admin}")
    resource_generation_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    resource_generation_roles: Mapped[list[MembershipRole]] = _roles("{teacher,org_admin}")
    allowed_service_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), server_default=text("100"))
    daily_token_quota_per_user: Mapped[int | None] = mapped_column(BigInteger)
    daily_request_quota_per_user: Mapped[int | None] = mapped_column(Integer)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, server_default=text("60"))
    rate_limit_per_hour: Mapped[int] = mapped_column(Integer, server_default=text("1000"))
    rate_limit_per_day: Mapped[int] = mapped_column(Integer, server_default=text("10000"))
    store_prompts: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    retention_days: Mapped[int] = mapped_column(Integer, server_default=text("365"))
    alert_thresholds_percent: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{50,80,100}'"))


class AiUsageLog(Base):
    __tablename__ = "ai_usage_logs"
    __table_args__ = (
        PrimaryKeyConstraint("organization_id", "id", "created_at"),
        Index("ai_usage_logs_org_time_idx", "organization_id", "created_at"),
        Index("ai_usage_logs_user_time_idx", "user_id", "created_at"),
        Index("ai_usage_logs_id_idx", "id"),
        Index("ai_usage_logs_service_idx", "service_id"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=text("gen_random_uuid()"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = user_fk()
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ai_services.id"))
    feature: Mapped[AiFeature] = mapped_column(ai_feature)
    request_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AiCallStatus] = mapped_column(ai_call_status)
    input_tokens: Mapped[int] = _count()
    output_tokens: Mapped[int] = _count()
    cache_write_tokens: Mapped[int] = _count()
    cache_read_tokens: Mapped[int] = _count()
    input_usd_per_mtok: Mapped[Decimal | None] = mapped_column(PRICE)
    output_usd_per_mtok: Mapped[Decimal | None] = mapped_column(PRICE)
    cache_write_usd_per_mtok: Mapped[Decimal | None] = mapped_column(PRICE)
    cache_read_usd_per_mtok: Mapped[Decimal | None] = mapped_column(PRICE)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, server_default=text("0"))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    upstream_error: Mapped[str | None] = mapped_column(Text)
    prompt_text: Mapped[str | None] = mapped_column(Text)
    response_text: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    feedback_rating: Mapped[int | None] = mapped_column(SmallInteger)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UsageTotals:
    requests: Mapped[int] = _count()
    succeeded: Mapped[int] = _count()
    input_tokens: Mapped[int] = _count(BigInteger)
    output_tokens: Mapped[int] = _count(BigInteger)
    cache_write_tokens: Mapped[int] = _count(BigInteger)
    cache_read_tokens: Mapped[int] = _count(BigInteger)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, server_default=text("0"))


class AiDailyUserUsage(UsageTotals, TenantRow, Base):
    __tablename__ = "ai_daily_user_usage"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "user_id", "day"),
        Index("ai_daily_user_usage_user_idx", "user_id", "day"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = user_fk()
    day: Mapped[date] = mapped_column(Date)


class AiMonthlyOrgUsage(UsageTotals, TenantRow, Base):
    __tablename__ = "ai_monthly_org_usage"
    __table_args__ = (UniqueConstraint("organization_id", "id"), UniqueConstraint("organization_id", "month"))

    organization_id: Mapped[uuid.UUID] = org_fk()
    month: Mapped[date] = mapped_column(Date)
    budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    reserved_usd: Mapped[Decimal] = mapped_column(MONEY, server_default=text("0"))


class AiBudgetReservation(TenantRow, Base):
    __tablename__ = "ai_budget_reservations"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        tenant_fk("ai_monthly_org_usage", month="month", ondelete="CASCADE"),
        Index("ai_budget_reservations_expiry_idx", "organization_id", "month", "expires_at"),
    )

    month: Mapped[date] = mapped_column(Date)
    amount_usd: Mapped[Decimal] = mapped_column(MONEY)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AiRateLimit(TenantRow, Base):
    __tablename__ = "ai_rate_limits"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "user_id", "window_kind"),
        Index("ai_rate_limits_user_idx", "user_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    user_id: Mapped[uuid.UUID] = user_fk("CASCADE")
    window_kind: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[int] = mapped_column(Integer)


class AiBudgetAlert(TenantRow, Base):
    __tablename__ = "ai_budget_alerts"
    __table_args__ = (
        UniqueConstraint("organization_id", "id"),
        UniqueConstraint("organization_id", "month", "threshold_percent"),
    )

    organization_id: Mapped[uuid.UUID] = org_fk()
    month: Mapped[date] = mapped_column(Date)
    threshold_percent: Mapped[int] = mapped_column(Integer)
    spent_usd: Mapped[Decimal] = mapped_column(MONEY)
    budget_usd: Mapped[Decimal] = mapped_column(MONEY)
