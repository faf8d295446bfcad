"""Login, refresh-token rotation, logout and login throttling. Runs as ``service_role``:
credentials are readable by no end-user role."""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.passwords import verify_password
from schoolbase.auth.schemas import TokenPair
from schoolbase.auth.tokens import (
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from schoolbase.config import Settings
from schoolbase.models import Credential, LoginFailure, RefreshToken, User


@dataclass(frozen=True)
class Throttled:
    retry_after: int
    scope: str


@dataclass(frozen=True)
class LoginRejected:
    reason: str


async def throttled(session: AsyncSession, settings: Settings, keys: dict[str, str]) -> Throttled | None:
    now = datetime.now(UTC)
    limits = {"account": settings.login_max_failures_per_account, "address": settings.login_max_failures_per_address}
    window = timedelta(seconds=settings.login_window_seconds)
    for scope, key in keys.items():
        row = await session.get(LoginFailure, (scope, key))
        if row and row.failures >= limits[scope] and row.window_started_at + window > now:
            wait = (row.window_started_at + window - now).total_seconds()
            return Throttled(max(1, math.ceil(wait)), scope)
    return None


async def record_failure(session: AsyncSession, settings: Settings, keys: dict[str, str]) -> None:
    """Count a failure; a window that has run out starts again at one."""
    expired = LoginFailure.window_started_at < func.now() - timedelta(seconds=settings.login_window_seconds)
    for scope, key in keys.items():
        stmt = insert(LoginFailure).values(scope=scope, key=key, window_started_at=func.now(), failures=1)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["scope", "key"],
                set_={
                    "failures": case((expired, 1), else_=LoginFailure.failures + 1),
                    "window_started_at": case((expired, func.now()), else_=LoginFailure.window_started_at),
                },
            )
        )


async def issue_tokens(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID | None = None
) -> TokenPair:
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_refresh_token(refresh),
            expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(
        access_token=issue_access_token(settings, user.id, user.email),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=refresh,
    )


async def login(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str
) -> TokenPair | Throttled | LoginRejected:
    keys = {"account": email.lower(), "address": address}
    if blocked := await throttled(session, settings, keys):
        return blocked
    found = (
        await session.execute(
            select(User, Credential.password_hash)
            .outerjoin(Credential, Credential.user_id == User.id)
            .where(func.lower(User.email) == email.lower())
        )
    ).first()
    user, password_hash = found if found else (None, None)
    if not await verify_password(password, password_hash) or user is None:
        await record_failure(session, settings, keys)
        return LoginRejected("wrong email or password")
    if user.disabled_at is not None:
        return LoginRejected("this account is disabled")
    await session.execute(delete(LoginFailure).where(LoginFailure.scope == "account", LoginFailure.key == keys["account"]))
    return await issue_tokens(session, settings, user)


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenPair | LoginRejected:
    """Rotate: the presented token is spent. Presenting a spent token again means it
    was stolen or replayed, so its whole family is revoked."""
    row = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token)).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return LoginRejected("unknown refresh token")
    if row.revoked_at is not None:
        await revoke_family(session, row.family_id)
        return LoginRejected("refresh token was already used; all its sessions are signed out")
    if row.expires_at <= datetime.now(UTC):
        return LoginRejected("refresh token expired")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return LoginRejected("this account is disabled")
    row.revoked_at = datetime.now(UTC)
    return await issue_tokens(session, settings, user, row.family_id)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def logout(session: AsyncSession, token: str) -> None:
    family = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == hash_refresh_token(token))
    )
    if family is not None:
        await revoke_family(session, family)
