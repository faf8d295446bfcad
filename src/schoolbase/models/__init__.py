"""All ORM models. The migrations are the source of truth; ``schoolbase db check`` proves these match."""

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
