"""Account work that spans transactions or needs its own: sign-in (the counters are read, a
slowed account waits with no connection held, then the password is checked and the outcome
counted), password changes and resets, and accepting an invitation. The API and the web app
both call these."""

import uuid

import anyio

from schoolbase.auth import invitations, service
from schoolbase.auth.passwords import hash_password, verify_password
from schoolbase.auth.schemas import (
    InvitationAccept,
    InvitationAccepted,
    JoinedRole,
    LoginName,
    PasswordChange,
    TokenPair,
)
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.problems import INVALID_TOKEN, WRONG_PASSWORD

WRONG = service.LoginRejected("wrong sign-in name or password")


async def sign_in(
    db: Database, settings: Settings, login: LoginName, password: str, client: service.Client
) -> TokenPair | service.Throttled | service.LoginRejected:
    keys = service.failure_keys(login, client.address)
    async with db.as_service() as session:
        counts = await service.recent_failures(session, settings, keys)
    if blocked := service.throttle(settings, counts):
        return blocked
    # Guessing one account from many addresses is slowed, never locked: the owner gets in.
    if delay := service.slowdown_seconds(settings, counts):
        await anyio.sleep(delay)
    # The failure count must be committed even though the answer is an error.
    async with db.as_service() as session:
        user, credential = await service.account_for(session, login)
        password_ok = await verify_password(password, credential.password_hash if credential else None)
        # A disabled account answers exactly as a wrong password does.
        if not password_ok or user is None or user.disabled_at is not None:
            await service.record_failure(session, settings, keys)
            return WRONG
        await service.forget_failures(session, keys)
        return await service.start_session(session, settings, user, client)


async def change_password(db: Database, settings: Settings, identity: DbIdentity, body: PasswordChange) -> TokenPair:
    """Change my password. Every other session ends; this one goes on with new tokens."""
    new_hash = await hash_password(body.new_password)
    async with db.as_service() as session:
        user, credential = await service.account_for_id(session, identity.user_id)
        if not await verify_password(body.current_password, credential.password_hash if credential else None):
            raise WRONG_PASSWORD("the current password is not right")
        await service.set_password(session, identity.user_id, new_hash)
        await service.end_sessions(session, identity.user_id, keep=identity.session_id)
        return await service.issue_tokens(session, settings, user, identity.session_id)


async def confirm_reset(db: Database, token: str, new_password: str) -> None:
    """Set a new password with an emailed token; every session of the account ends."""
    new_hash = await hash_password(new_password)
    async with db.as_service() as session:
        if not await service.confirm_reset(session, token, new_hash):
            raise INVALID_TOKEN("this reset link was used, replaced or has expired")


async def accept_invitation(
    db: Database, settings: Settings, body: InvitationAccept, identity: DbIdentity, client: service.Client
) -> InvitationAccepted:
    """Accept: signed in as the invited address, or with a password for a new account (which
    then signs in)."""
    password_hash = await hash_password(body.password) if body.password else None
    signed_in: uuid.UUID | None = identity.user_id
    if signed_in is not None:
        async with db.as_user(identity):
            pass  # refuses a token whose session has ended
    async with db.as_service() as session:
        user, memberships, created = await invitations.accept(
            session, body.token, signed_in, password_hash, body.display_name
        )
        tokens = await service.start_session(session, settings, user, client) if created else None
    return InvitationAccepted(
        user_id=user.id, memberships=[JoinedRole.model_validate(m) for m in memberships], tokens=tokens
    )
