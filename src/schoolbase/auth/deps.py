"""The current identity and the request's transaction.

Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` ones in a
thread pool, a thread hop per dependency per request.
"""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.tokens import (
    PASSWORD_CHANGE_REQUIRED,
    InvalidToken,
    decode_access_token,
)
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import ANONYMOUS, DbIdentity, user_identity
from schoolbase.mail.jobs import kick as kick_mail
from schoolbase.problems import PASSWORD_CHANGE_PENDING, unauthorized

bearer = HTTPBearer(auto_error=False, description="Access token from POST /auth/token")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.db


async def get_mail_kick(request: Request, background: BackgroundTasks) -> Callable[[], None]:
    """Call it when the request queued mail: delivery starts once the response (and so the
    commit of the transaction that queued it) is done; the periodic sweep is the safety net."""

    def after_response() -> None:
        background.add_task(kick_mail, request.app.state.jobs)

    return after_response


MailKick = Annotated[Callable[[], None], Depends(get_mail_kick)]


async def get_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> DbIdentity:
    if credentials is None:
        return ANONYMOUS
    try:
        claims = decode_access_token(settings, credentials.credentials)
    except InvalidToken as exc:
        raise unauthorized(f"invalid access token: {exc}") from exc
    identity = user_identity(claims.user_id, claims.raw)
    request.state.user_id = str(claims.user_id)
    return identity


async def session_for(
    identity: Annotated[DbIdentity, Depends(get_identity)],
    db: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """The request's one transaction, as the caller. Committed when the handler returns."""
    async with db.as_user(identity) as session:
        yield session


async def require_signed_in(identity: Annotated[DbIdentity, Depends(get_identity)]) -> DbIdentity:
    """Signed in, even with a password still to change (the password and sign-out routes)."""
    if identity.user_id is None:
        raise unauthorized("sign in first: send 'Authorization: Bearer <access token>'")
    return identity


async def require_user(identity: Annotated[DbIdentity, Depends(require_signed_in)]) -> DbIdentity:
    if identity.claims.get(PASSWORD_CHANGE_REQUIRED):
        raise PASSWORD_CHANGE_PENDING(
            "an administrator set your password: choose your own with POST /auth/password first"
        )
    return identity


# Dependencies for route signatures. The session ends (commit or rollback) before
# the response is sent, so a failed commit is reported, never hidden behind a 200.
Session = Annotated[AsyncSession, Depends(session_for, scope="function")]
CurrentUser = Annotated[DbIdentity, Depends(require_user)]
OptionalIdentity = Annotated[DbIdentity, Depends(get_identity)]
SignedIn = Annotated[DbIdentity, Depends(require_signed_in)]
