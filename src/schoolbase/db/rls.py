"""How an identity reaches the database: per-transaction role and JWT claims.

Both settings are transaction-local (``set_config(..., true)``), so they vanish
at commit or rollback and can never leak to the next user of a pooled connection.
"""

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

ANON = "anon"
AUTHENTICATED = "authenticated"
SERVICE_ROLE = "service_role"


@dataclass(frozen=True)
class DbIdentity:
    role: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> UUID | None:
        sub = self.claims.get("sub")
        return UUID(sub) if sub else None

    @property
    def session_id(self) -> UUID | None:
        """The sign-in session an access token belongs to (its ``sid``)."""
        sid = self.claims.get("sid")
        return UUID(sid) if sid else None


SERVICE = DbIdentity(SERVICE_ROLE, {"role": SERVICE_ROLE})
ANONYMOUS = DbIdentity(ANON, {"role": ANON})


def user_identity(user_id: UUID, claims: dict[str, Any] | None = None) -> DbIdentity:
    return DbIdentity(AUTHENTICATED, {**(claims or {}), "sub": str(user_id), "role": AUTHENTICATED})


_APPLY_SQL = "select set_config('role', %(role)s, true), set_config('request.jwt.claims', %(claims)s, true)"
_APPLY = text(_APPLY_SQL.replace("%(role)s", ":role").replace("%(claims)s", ":claims"))


def _identity_params(identity: DbIdentity) -> dict[str, str]:
    return {"role": identity.role, "claims": json.dumps(identity.claims)}


async def apply_identity(conn: AsyncSession | AsyncConnection, identity: DbIdentity) -> None:
    await conn.execute(_APPLY, _identity_params(identity))


def apply_identity_sync(conn: psycopg.Connection | psycopg.Cursor, identity: DbIdentity) -> None:
    """The same for a plain psycopg connection or cursor in a transaction (tests, benchmarks)."""
    conn.execute(_APPLY_SQL, _identity_params(identity))
