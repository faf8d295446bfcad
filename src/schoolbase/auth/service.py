"""Sign-in sessions, refresh-token rotation, throttling counters, passwords and resets.

Runs as ``service_role`` on the server's second login role: credentials, sessions and
counters live in the schema ``server``, which no end-user role can reach.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.schemas import LoginName, SessionOut, TokenPair
from schoolbase.auth.tokens import (
    hash_opaque_token,
    issue_access_token,
    new_opaque_token,
)
from schoolbase.config import Settings
from schoolbase.mail import service as mail
from schoolbase.models import (
    AuthSession,
    Credential,
    LoginFailure,
    Organization,
    PasswordReset,
    RefreshToken,
    User,
)


@dataclass(frozen=True)
class Throttled:
    retry_after: int
    scope: str


@dataclass(frozen=True)
class LoginRejected:
    reason: str


@dataclass(frozen=True)
class Client:
    """Who is signing in from where: the address counts failures, both are shown in /me/sessions."""

    address: str
    user_agent: str | None = None


# Accounts


async def account_for(session: AsyncSession, login: LoginName) -> tuple[User | None, Credential | None]:
    """The account a sign-in names: by email, or by username within the managing organization."""
    stmt = select(User, Credential).outerjoin(Credential, Credential.user_id == User.id)
    if login.email is not None:
        stmt = stmt.where(func.lower(User.email) == login.email.lower())
    else:
        stmt = stmt.join(Organization, Organization.id == User.managed_by_organization_id).where(
            Organization.slug == login.organization, User.username == login.username
        )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else (None, None)


async def account_for_id(session: AsyncSession, user_id: uuid.UUID) -> tuple[User | None, Credential | None]:
    return await session.get(User, user_id), await session.get(Credential, user_id)


# Throttling: failures per (account, address) and per address refuse; per account they only slow.


def failure_keys(login: LoginName, address: str) -> dict[str, str]:
    account = login.key
    return {"account_address": f"{account}|{address}", "address": address, "account": account}


async def recent_failures(
    session: AsyncSession, settings: Settings, keys: dict[str, str]
) -> dict[str, tuple[int, int]]:
    """For each scope: failures in the current window and the seconds until it ends."""
    window = timedelta(seconds=settings.login_window_seconds)
    now = datetime.now(UTC)
    rows = await session.scalars(
        select(LoginFailure).where(
            func.row(LoginFailure.scope, LoginFailure.key).in_([func.row(s, k) for s, k in keys.items()])
        )
    )
    counts = {}
    for row in rows:
        if row.window_started_at + window > now:
            counts[row.scope] = (row.failures, int((row.window_started_at + window - now).total_seconds()) + 1)
    return counts


def throttle(settings: Settings, counts: dict[str, tuple[int, int]]) -> Throttled | None:
    limits = {
        "account_address": (settings.login_max_failures_per_account_address, "account from this address"),
        "address": (settings.login_max_failures_per_address, "address"),
    }
    for scope, (limit, what) in limits.items():
        failures, retry_after = counts.get(scope, (0, 0))
        if failures >= limit:
            return Throttled(retry_after, what)
    return None


def slowdown_seconds(settings: Settings, counts: dict[str, tuple[int, int]]) -> float:
    """Past the threshold, every further failure of the account doubles the wait, up to the cap."""
    failures, _ = counts.get("account", (0, 0))
    beyond = failures - settings.login_account_slowdown_after
    if beyond < 0:
        return 0.0
    return min(settings.login_account_max_delay_seconds, 0.25 * 2 ** min(beyond, 16))


async def record_failure(session: AsyncSession, settings: Settings, keys: dict[str, str]) -> None:
    """Count a failure in every scope; a window that has run out starts again at one."""
    expired = LoginFailure.window_started_at < func.now() - timedelta(seconds=settings.login_window_seconds)
    stmt = insert(LoginFailure).values(
        [{"scope": scope, "key": key, "window_started_at": func.now(), "failures": 1} for scope, key in keys.items()]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope", "key"],
            set_={
                "failures": case((expired, 1), else_=LoginFailure.failures + 1),
                "window_started_at": case((expired, func.now()), else_=LoginFailure.window_started_at),
            },
        )
    )


async def forget_failures(session: AsyncSession, keys: dict[str, str]) -> None:
    """A success clears the account's counters; the address keeps its own."""
    await session.execute(
        delete(LoginFailure).where(
            func.row(LoginFailure.scope, LoginFailure.key).in_(
                [func.row(s, k) for s, k in keys.items() if s != "address"]
            )
        )
    )


# Sessions


async def start_session(session: AsyncSession, settings: Settings, user: User, client: Client) -> TokenPair:
    row = AuthSession(
        user_id=user.id,
        client=(client.user_agent or "")[:300] or None,
        address=client.address[:100],
        expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
    )
    session.add(row)
    await session.flush()
    must_change = await session.scalar(select(Credential.must_change).where(Credential.user_id == user.id))
    return await issue_tokens(session, settings, user, row.id, password_change_required=bool(must_change))


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    user: User,
    session_id: uuid.UUID,
    *,
    password_change_required: bool = False,
) -> TokenPair:
    refresh = new_opaque_token()
    expires_at = datetime.now(UTC) + timedelta(days=settings.refresh_token_days)
    session.add(
        RefreshToken(
            user_id=user.id, session_id=session_id, token_hash=hash_opaque_token(refresh), expires_at=expires_at
        )
    )
    # Each use of the session slides its end along with the newest refresh token.
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(last_used_at=func.now(), expires_at=expires_at)
    )
    await session.flush()
    return TokenPair(
        access_token=issue_access_token(
            settings, user.id, user.email, session_id, password_change_required=password_change_required
        ),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=refresh,
        password_change_required=password_change_required,
    )


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenPair | LoginRejected:
    """Rotate: the presented token is spent. Presenting a spent token again means it
    was stolen or replayed, so its whole session ends."""
    row = (
        await session.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == hash_opaque_token(token))
            .with_for_update()
        )
    ).first()
    if row is None:
        return LoginRejected("unknown refresh token")
    token_row, auth_session = row
    if token_row.revoked_at is not None:
        await end_session(session, auth_session.id)
        return LoginRejected("refresh token was already used; its session is signed out")
    if auth_session.revoked_at is not None:
        return LoginRejected("this session has ended; sign in again")
    if token_row.expires_at <= datetime.now(UTC):
        return LoginRejected("refresh token expired")
    user, credential = await account_for_id(session, token_row.user_id)
    if user is None or user.disabled_at is not None:
        return LoginRejected("this account is disabled")
    token_row.revoked_at = datetime.now(UTC)
    return await issue_tokens(
        session, settings, user, auth_session.id, password_change_required=bool(credential and credential.must_change)
    )


async def renew_access(session: AsyncSession, settings: Settings, session_id: uuid.UUID) -> str | None:
    """A new access token for a session that is still open (the web app's cookie carries only
    the access token, renewed here while the session lasts); None once it has ended, expired
    or its account is disabled. Each renewal slides the session's end, as a refresh does."""
    row = (
        await session.execute(
            select(User, Credential.must_change)
            .join(AuthSession, AuthSession.user_id == User.id)
            .outerjoin(Credential, Credential.user_id == User.id)
            .where(
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > func.now(),
                User.disabled_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    user, must_change = row
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id)
        .values(last_used_at=func.now(), expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days))
    )
    return issue_access_token(settings, user.id, user.email, session_id, password_change_required=bool(must_change))


async def end_session(session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID | None = None) -> bool:
    """End one session (of ``user_id``, when given); its access and refresh tokens stop at once."""
    stmt = update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(AuthSession.user_id == user_id)
    ended = await session.scalar(stmt.values(revoked_at=func.now()).returning(AuthSession.id))
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return ended is not None


async def end_sessions(session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
    """End every session of a person, but ``keep``."""
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    await session.execute(stmt.values(revoked_at=func.now()))


async def session_of_refresh_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    return await session.scalar(
        select(RefreshToken.session_id).where(RefreshToken.token_hash == hash_opaque_token(token))
    )


async def active_sessions(session: AsyncSession, user_id: uuid.UUID, current: uuid.UUID) -> list[SessionOut]:
    rows = await session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > func.now())
        .order_by(AuthSession.last_used_at.desc())
    )
    return [SessionOut.model_validate(row).model_copy(update={"current": row.id == current}) for row in rows]


# Passwords


async def set_password(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    """A password the person chose themselves: nothing left to change at the next sign-in."""
    stmt = insert(Credential).values(user_id=user_id, password_hash=password_hash, must_change=False)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id"], set_={"password_hash": stmt.excluded.password_hash, "must_change": False}
        )
    )


async def request_reset(session: AsyncSession, settings: Settings, login: LoginName) -> None:
    """Queue a reset message for an active account; for an unknown or disabled one, nothing.
    At most three resets an hour per account, so the address cannot be flooded."""
    user, _ = await account_for(session, login)
    if user is None or user.disabled_at is not None or user.email is None:
        return
    recent = await session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > func.now() - timedelta(hours=1))
    )
    if recent >= 3:
        return
    reset = PasswordReset(
        user_id=user.id, expires_at=datetime.now(UTC) + timedelta(minutes=settings.password_reset_minutes)
    )
    session.add(reset)
    await session.flush()
    await mail.queue(
        session,
        kind="password_reset",
        reference_id=reset.id,
        to_address=user.email,
        organization_id=user.managed_by_organization_id,
    )


async def confirm_reset(session: AsyncSession, token: str, password_hash: str) -> bool:
    """Spend a reset token: the new password is set and every session of the person ends."""
    reset = await session.scalar(
        select(PasswordReset)
        .where(
            PasswordReset.token_hash == hash_opaque_token(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > func.now(),
        )
        .with_for_update()
    )
    if reset is None:
        return False
    reset.used_at = datetime.now(UTC)
    await set_password(session, reset.user_id, password_hash)
    await end_sessions(session, reset.user_id)
    # One reset spends every other link sent before it.
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))
        .values(used_at=func.now())
    )
    return True
