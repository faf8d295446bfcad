import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from schoolbase.auth import flows, invitations, service
from schoolbase.auth.deps import (
    MailKick,
    OptionalIdentity,
    SignedIn,
    get_database,
    get_settings,
)
from schoolbase.auth.schemas import (
    Accepted,
    InvitationAccept,
    InvitationAccepted,
    InvitationToken,
    InvitationView,
    LoginName,
    LogoutRequest,
    PasswordChange,
    PasswordLogin,
    RefreshRequest,
    ResetConfirm,
    ResetRequest,
    SessionOut,
    TokenPair,
)
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.problems import (
    TOO_MANY_LOGIN_FAILURES,
    UNSUPPORTED_GRANT_TYPE,
    Problem,
    not_found,
    unauthorized,
    validation_problem,
)

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
    """The OAuth2 password form (``username`` = email, or ``organization/username``) or a JSON body."""
    content_type = request.headers.get("content-type", "").lower()
    try:
        if content_type.startswith("application/json"):
            return PasswordLogin.model_validate_json(await request.body())
        form = await request.form()
        grant_type = form.get("grant_type")
        if grant_type not in (None, "", "password"):
            raise UNSUPPORTED_GRANT_TYPE("only grant_type=password")
        name = LoginName.parse(str(form.get("username") or ""))
        return PasswordLogin(**name.model_dump(), password=form.get("password") or "")
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from exc


def client_of(request: Request) -> service.Client:
    return service.Client(request.client.host if request.client else "unknown", request.headers.get("user-agent"))


def reject(outcome: service.Throttled | service.LoginRejected) -> Problem:
    if isinstance(outcome, service.Throttled):
        return TOO_MANY_LOGIN_FAILURES(
            f"too many failed sign-ins for this {outcome.scope}; try again in {outcome.retry_after} s",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    return unauthorized(outcome.reason)


def answer(outcome: TokenPair | service.Throttled | service.LoginRejected) -> TokenPair:
    if isinstance(outcome, TokenPair):
        return outcome
    raise reject(outcome)


@router.post("/token", response_model=TokenPair, openapi_extra=TOKEN_BODY)
async def token(request: Request, db: Db, settings: Config) -> TokenPair:
    """Sign in with email (or organization and username) and password: an access token and a
    refresh token for a new session. Failures are throttled per account and address."""
    login = await read_login(request)
    return answer(await flows.sign_in(db, settings, login, login.password, client_of(request)))


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, db: Db, settings: Config) -> TokenPair:
    """Trade a refresh token for a new pair in the same session; the old refresh token stops working."""
    # A reused token ends its session: that must be committed even though the answer is an error.
    async with db.as_service() as session:
        outcome = await service.refresh(session, settings, body.refresh_token)
    return answer(outcome)


@router.post("/logout", status_code=204)
async def logout(db: Db, identity: OptionalIdentity, body: LogoutRequest | None = None) -> Response:
    """End this session: the one of the bearer access token, or of ``refresh_token``. Its access
    and refresh tokens stop working at once."""
    async with db.as_service() as session:
        session_id = identity.session_id
        if session_id is None and body is not None and body.refresh_token:
            session_id = await service.session_of_refresh_token(session, body.refresh_token)
        if session_id is not None:
            await service.end_session(session, session_id)
    return Response(status_code=204)


@router.post("/logout-all", status_code=204)
async def logout_all(db: Db, identity: SignedIn) -> Response:
    """End every session of mine, this one included."""
    async with db.as_service() as session:
        await service.end_sessions(session, identity.user_id)
    return Response(status_code=204)


@router.post("/password", response_model=TokenPair)
async def change_password(body: PasswordChange, db: Db, settings: Config, identity: SignedIn) -> TokenPair:
    """Change my password. Every other session ends; this one goes on with new tokens."""
    return await flows.change_password(db, settings, identity, body)


@router.post("/password-reset", status_code=202, response_model=Accepted)
async def request_password_reset(body: ResetRequest, db: Db, settings: Config, mail: MailKick) -> Accepted:
    """Email a single-use reset link. Answered alike whether or not the account exists."""
    async with db.as_service() as session:
        await service.request_reset(session, settings, body)
    mail()
    return Accepted(status="if this account exists, a reset link is on its way")


@router.post("/password-reset/confirm", status_code=204)
async def confirm_password_reset(body: ResetConfirm, db: Db) -> Response:
    """Set a new password with the emailed token. Every session of the account ends."""
    await flows.confirm_reset(db, body.token, body.new_password)
    return Response(status_code=204)


# Invitations, from the emailed link


@router.post("/invitations/inspect", response_model=InvitationView)
async def inspect_invitation(body: InvitationToken, db: Db) -> InvitationView:
    """What an invitation link offers, and whether to sign in or choose a password to accept it."""
    async with db.as_service() as session:
        found = await invitations.open_invitation(session, body.token)
    return InvitationView(
        organization=found.organization.name,
        email=found.invitation.email,
        roles=[str(role) for role in found.invitation.roles],
        expires_at=found.invitation.expires_at,
        account_exists=found.account is not None,
    )


@router.post("/invitations/accept", response_model=InvitationAccepted)
async def accept_invitation(
    body: InvitationAccept, request: Request, db: Db, settings: Config, identity: OptionalIdentity
) -> InvitationAccepted:
    """Accept: signed in as the invited address, or with a password for a new account (which
    then signs in). The memberships exist from now on."""
    return await flows.accept_invitation(db, settings, body, identity, client_of(request))


# My sessions

me_router = APIRouter(prefix="/me/sessions", tags=["auth"])


@me_router.get("", response_model=list[SessionOut])
async def my_sessions(db: Db, identity: SignedIn) -> list[SessionOut]:
    """My active sessions: when each began, was last used, and from which client."""
    async with db.as_service() as session:
        return await service.active_sessions(session, identity.user_id, identity.session_id)


@me_router.delete("/{session_id}", status_code=204)
async def end_my_session(session_id: uuid.UUID, db: Db, identity: SignedIn) -> Response:
    """End one of my sessions (sign out a lost phone)."""
    async with db.as_service() as session:
        if not await service.end_session(session, session_id, identity.user_id):
            raise not_found("session")
    return Response(status_code=204)
