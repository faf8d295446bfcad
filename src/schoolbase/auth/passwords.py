"""Password hashing (argon2 through pwdlib), off the event loop since it is CPU-bound by design."""

from functools import lru_cache

import anyio
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

MIN_PASSWORD_LENGTH = 8


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password)


def _verify(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher().verify(password, password_hash or _dummy_hash()) and password_hash is not None
    except UnknownHashError:  # a hash of no scheme we know (a locked or foreign credential) admits no one
        _hasher().verify(password, _dummy_hash())
        return False


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash, spend the same time and fail, so timing reveals no accounts."""
    return await anyio.to_thread.run_sync(_verify, password, password_hash)
