"""Access JWTs (HS256, Supabase-compatible claims) and opaque refresh tokens."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from schoolbase.config import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    email: str
    raw: dict


def issue_access_token(settings: Settings, user_id: uuid.UUID, email: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": "authenticated",
        "aud": settings.jwt_audience,
        "email": email,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature, algorithm, audience and expiry; ``alg: none`` never passes."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            options={"require": ["sub", "exp", "aud", "role"]},
        )
        if claims["role"] != "authenticated":
            raise InvalidToken("token role is not 'authenticated'")
        return AccessClaims(uuid.UUID(claims["sub"]), claims.get("email", ""), claims)
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # The token is 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
