"""The current identity and the request's transaction.

Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` ones in a
thread pool, a thread hop per dependency per request.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.tokens import InvalidToken, decode_access_token
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import ANONYMOUS, DbIdentity, user_identity
from schoolbase.errors import Problem

bearer = HTTPBearer(auto_error=False, description="Access token from POST /auth/token")


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Not authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.db


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


_ACTIVE_USER = text("select exists (select from public.users where id = auth.uid() and disabled_at is null)")


@asynccontextmanager
async def transaction_as(db: Database, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
    """A transaction as ``identity`` that first checks the account is still active. For handlers
    that must not hold a connection for the whole request (e.g. around an AI call)."""
    async with db.transaction(identity) as session:
        if identity.user_id is not None and not await session.scalar(_ACTIVE_USER):
            raise unauthorized("this account is disabled or no longer exists")
        yield session


async def session_for(
    identity: Annotated[DbIdentity, Depends(get_identity)],
    db: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """The request's one transaction, as the caller. Committed when the handler returns."""
    async with transaction_as(db, identity) as session:
        yield session


async def require_user(identity: Annotated[DbIdentity, Depends(get_identity)]) -> DbIdentity:
    if identity.user_id is None:
        raise unauthorized("sign in first: send 'Authorization: Bearer <access token>'")
    return identity


# Dependencies for route signatures. The session ends (commit or rollback) before
# the response is sent, so a failed commit is reported, never hidden behind a 200.
Session = Annotated[AsyncSession, Depends(session_for, scope="function")]
CurrentUser = Annotated[DbIdentity, Depends(require_user)]
