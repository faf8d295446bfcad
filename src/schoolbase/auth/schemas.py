import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from schoolbase.auth.passwords import MIN_PASSWORD_LENGTH

SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"

Password = Field(min_length=1, max_length=1024)
NewPassword = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
OpaqueToken = Field(min_length=1, max_length=200)


class LoginName(BaseModel):
    """Who signs in: an email address, or a username within the organization that manages
    the account (young students without an address)."""

    email: EmailStr | None = None
    organization: str | None = Field(default=None, pattern=SLUG_PATTERN, description="organization slug")
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN)

    @model_validator(mode="after")
    def _one_way(self) -> "LoginName":
        by_username = self.organization is not None or self.username is not None
        if (self.email is not None) == by_username or (by_username and not (self.organization and self.username)):
            raise ValueError("give either email, or organization and username")
        return self

    @property
    def key(self) -> str:
        """What throttling counts failures against."""
        return self.email.lower() if self.email else f"{self.organization}/{self.username}"

    @classmethod
    def parse(cls, name: str) -> "LoginName":
        """The OAuth2 form's single ``username`` field: an email, or ``organization/username``."""
        if "@" in name or "/" not in name:
            return cls(email=name)
        organization, _, username = name.partition("/")
        return cls(organization=organization, username=username.lower())


class PasswordLogin(LoginName):
    password: str = Password


class RefreshRequest(BaseModel):
    refresh_token: str = OpaqueToken


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    password_change_required: bool = Field(
        default=False,
        description="an administrator set this password: until it is changed (POST /auth/password), "
        "the access token is good only for that",
    )


class PasswordChange(BaseModel):
    current_password: str = Password
    new_password: str = NewPassword


class ResetRequest(LoginName):
    pass


class ResetConfirm(BaseModel):
    token: str = OpaqueToken
    new_password: str = NewPassword


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client: str | None
    address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool = False


class Accepted(BaseModel):
    status: str = Field(description="what happened; the same whether or not the address has an account")


class InvitationToken(BaseModel):
    token: str = OpaqueToken


class InvitationAccept(InvitationToken):
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description="for a new account: the password you choose",
    )
    display_name: str | None = Field(default=None, min_length=1, max_length=200)


class InvitationView(BaseModel):
    """What the link's holder (the address's owner) sees before accepting."""

    organization: str
    email: str
    roles: list[str]
    expires_at: datetime
    account_exists: bool = Field(description="true: sign in with this address to accept; false: choose a password")


class JoinedRole(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organization_id: uuid.UUID
    role: str


class InvitationAccepted(BaseModel):
    user_id: uuid.UUID
    memberships: list[JoinedRole]
    tokens: TokenPair | None = Field(description="a session for a new account; null when you were signed in")
