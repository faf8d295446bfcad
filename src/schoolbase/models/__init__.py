"""All ORM models. The migrations are the source of truth; ``schoolbase db check`` proves these match."""

from schoolbase.models.ai import (
    AiBudgetAlert,
    AiBudgetReservation,
    AiCallStatus,
    AiDailyUserUsage,
    AiFeature,
    AiMonthlyOrgUsage,
    AiOrganizationSettings,
    AiRateLimit,
    AiService,
    AiServicePrice,
    AiUsageLog,
)
from schoolbase.models.base import Base
from schoolbase.models.tenancy import (
    Class,
    Credential,
    Enrollment,
    Guardianship,
    LoginFailure,
    Membership,
    MembershipRole,
    Organization,
    RefreshToken,
    User,
)

__all__ = [
    "AiBudgetAlert",
    "AiBudgetReservation",
    "AiCallStatus",
    "AiDailyUserUsage",
    "AiFeature",
    "AiMonthlyOrgUsage",
    "AiOrganizationSettings",
    "AiRateLimit",
    "AiService",
    "AiServicePrice",
    "AiUsageLog",
    "Base",
    "Class",
    "Credential",
    "Enrollment",
    "Guardianship",
    "LoginFailure",
    "Membership",
    "MembershipRole",
    "Organization",
    "RefreshToken",
    "User",
]
