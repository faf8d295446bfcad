from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from schoolbase.auth import service
from schoolbase.auth.deps import get_database, get_settings, unauthorized
from schoolbase.auth.schemas import PasswordLogin, RefreshRequest, TokenPair
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.errors import Problem

router = APIRouter(prefix="/auth", tags=["auth"])

Db = Annotated[Database, Depends(get_database)]
Config = Annotated[Settings, Depends(get_settings)]

TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string", "description": "email"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            },
            "application/json": {"schema": PasswordLogin.model_json_schema()},
        },
    }
}


async def read_login(request: Request) -> PasswordLogin:
    """The OAuth2 password form (username = email) or a JSON body."""
    content_type = request.headers.get("content-type", "").lower()
    try:
        if content_type.startswith("application/json"):
            return PasswordLogin.model_validate_json(await request.body())
        form = await request.form()
        grant_type = form.get("grant_type")
        if grant_type not in (None, "", "password"):
            raise Problem(400, "unsupported-grant-type", "Unsupported grant type", "only grant_type=password")
        return PasswordLogin(email=form.get("username") or "", password=form.get("password") or "")
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Problem(422, "validation", "Invalid request", detail) from exc


def reject(outcome: service.Throttled | service.LoginRejected) -> Problem:
    if isinstance(outcome, service.Throttled):
        return Problem(
            429,
            "too-many-login-failures",
            "Too many failed logins",
            f"too many failed logins for this {outcome.scope}; try again in {outcome.retry_after} s",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    return unauthorized(outcome.reason)


@router.post("/token", response_model=TokenPair, openapi_extra=TOKEN_BODY)
async def token(request: Request, db: Db, settings: Config) -> TokenPair:
    """Sign in with email and password; returns an access token and a refresh token."""
    login = await read_login(request)
    address = request.client.host if request.client else "unknown"
    # The failure count must be committed even though the answer is an error.
    async with db.service() as session:
        outcome = await service.login(session, settings, login.email, login.password, address)
    if isinstance(outcome, TokenPair):
        return outcome
    raise reject(outcome)


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, db: Db, settings: Config) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    async with db.service() as session:
        outcome = await service.refresh(session, settings, body.refresh_token)
    if isinstance(outcome, TokenPair):
        return outcome
    raise reject(outcome)


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, db: Db) -> Response:
    """Revoke the refresh token and every token rotated from the same sign-in."""
    async with db.service() as session:
        await service.logout(session, body.refresh_token)
    return Response(status_code=204)
