"""Access JWTs (HS256, Supabase-compatible claims) and opaque refresh tokens."""

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from schoolbase.config import Settings

ALGORITHM = "HS256"


# A claim that limits the token to changing the password (an admin set the current one).
PASSWORD_CHANGE_REQUIRED = "password_change_required"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    raw: dict
    expires_at: int  # seconds since the epoch

    @property
    def password_change_required(self) -> bool:
        return bool(self.raw.get(PASSWORD_CHANGE_REQUIRED))


def issue_access_token(
    settings: Settings,
    user_id: uuid.UUID,
    email: str | None,
    session_id: uuid.UUID,
    *,
    password_change_required: bool = False,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "role": "authenticated",
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        **({"email": email} if email else {}),
        **({PASSWORD_CHANGE_REQUIRED: True} if password_change_required else {}),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


def decode_access_token(settings: Settings, token: str, *, expired_too: bool = False) -> AccessClaims:
    """Verify signature, algorithm, audience and expiry; ``alg: none`` never passes.
    ``expired_too``: an expired token still names its session (the web app renews it
    while the session lasts)."""
    claims = _verified(token, settings.jwt_secret.get_secret_value(), settings.jwt_audience)
    if not expired_too and claims.expires_at <= time.time():
        raise InvalidToken("Signature has expired")
    return claims


# A token's signature and claims are verified once, not on each of its many requests; each use
# still checks its expiry, and the database checks its session. Only tokens that pass are kept,
# so invalid ones cannot crowd the cache, and the key holds the secret: a new one verifies again.
@lru_cache(maxsize=4096)
def _verified(token: str, secret: str, audience: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["sub", "sid", "exp", "aud", "role"], "verify_exp": False},
        )
        if claims["role"] != "authenticated":
            raise InvalidToken("token role is not 'authenticated'")
        return AccessClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), claims, int(claims["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_opaque_token() -> str:
    """Refresh, invitation and reset tokens: 256 random bits, stored only as a hash."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    # 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
