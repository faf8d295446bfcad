"""Sign-in across transactions: the counters are read, a slowed account waits with no
connection held, then the password is checked and the outcome counted."""

import anyio

from schoolbase.auth import service
from schoolbase.auth.passwords import verify_password
from schoolbase.auth.schemas import LoginName, TokenPair
from schoolbase.config import Settings
from schoolbase.db.engine import Database

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
