"""Every way into the database. Nothing outside ``db/`` opens a transaction as someone or
sets a role: these are the ways in, each documented in docs/architecture.md.

- ``as_user(identity)``: a transaction as a person (or ``anon``), under row-level security,
  that first checks the account is active and the sign-in session has not ended. Requests
  (the ``Session`` dependency), flows around an AI call and jobs working for a person use it.
- ``as_service()``: a transaction as ``service_role`` for work only the server does
  (sign-in, jobs, the mailer, storing an AI suggestion).
- ``service_statement()``: a ``service_role`` connection in autocommit for single statements
  that are atomic by themselves (a job's progress, a bulk run's steps).
- ``service_call(sql, params)``: the one row of one such statement, on a bare psycopg pool
  without SQLAlchemy: the AI gateway's admission and settlement, run for every AI call,
  where SQLAlchemy's pool and result handling cost several times the statement's own
  client-side work.
- ``service_lookup(statement, params)``: one read-only ``service_role`` statement beside a
  person's transaction (see below).

A user's transaction never becomes ``service_role``: its login role cannot. Where a person's
request must ask a question their own rights cannot answer, ``service_lookup`` runs one fixed,
read-only statement as ``service_role`` beside their transaction; where it needs a write only
the server may make, the transaction calls a ``private`` SECURITY DEFINER function that checks
the caller (for example ``private.set_managed_password``).
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Executable, Row, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from schoolbase.db.rls import SERVICE, SERVICE_ROLE, DbIdentity, apply_identity
from schoolbase.db.urls import DatabaseUrls, sqlalchemy_url
from schoolbase.problems import unauthorized

# One query checks both that the account is active and that the token's session has not
# ended, so logout and disabling take effect at once without a second round trip. Work the
# server does for a person outside any request (a bulk AI grading job) has no session: for
# it, the account alone.
_READ_ONLY = text("set transaction read only")
_SESSION_IS_ACTIVE = text("select private.session_is_active()")
_ACCOUNT_IS_ACTIVE = text("select exists (select from public.users where id = auth.uid() and disabled_at is null)")


class Database:
    """Requests log in as ``authenticator``, which can become only ``anon`` or
    ``authenticated``; work as ``service_role`` logs in as ``service_authenticator``. So a
    request's connection can never take the role that bypasses row-level security."""

    def __init__(self, urls: DatabaseUrls, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        # No pre-ping: it would cost a round trip per transaction; recycling bounds staleness.
        pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_recycle": 1800}
        self.engine: AsyncEngine = create_async_engine(sqlalchemy_url(urls.app, async_driver=True), **pool)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        service_url = sqlalchemy_url(urls.service, async_driver=True)
        as_service = {"options": f"-c role={SERVICE_ROLE}"}
        self.service_transactions_engine: AsyncEngine = create_async_engine(
            service_url, connect_args=as_service, **pool
        )
        self.service_sessions = async_sessionmaker(self.service_transactions_engine, expire_on_commit=False)
        # Connections that start as service_role (libpq options), in autocommit, each
        # statement a transaction of its own.
        self.service_engine: AsyncEngine = create_async_engine(
            service_url, isolation_level="AUTOCOMMIT", connect_args=as_service, **pool
        )
        self.call_pool = AsyncConnectionPool(
            urls.service,
            min_size=1,
            max_size=pool_size + max_overflow,
            max_lifetime=pool["pool_recycle"],
            kwargs={"autocommit": True, "row_factory": namedtuple_row, **as_service},
            open=False,
        )
        self._call_pool_open: asyncio.Future | None = None

    def session_for(self, identity: DbIdentity) -> AsyncSession:
        """A new session, not yet begun, on the pool whose login role may take ``identity``'s
        role. For tests that probe inside a transaction they roll back."""
        return (self.service_sessions if identity.role == SERVICE_ROLE else self.sessions)()

    @asynccontextmanager
    async def _transaction(self, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
        async with self.session_for(identity) as session, session.begin():
            await apply_identity(session, identity)
            yield session

    @asynccontextmanager
    async def as_user(self, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
        """One transaction as ``identity``, committed on success and rolled back on error,
        after checking that a person's account is active and their session has not ended
        (401 otherwise)."""
        async with self._transaction(identity) as session:
            if identity.user_id is not None:
                check = _SESSION_IS_ACTIVE if identity.session_id is not None else _ACCOUNT_IS_ACTIVE
                if not await session.scalar(check):
                    raise unauthorized("this session has ended or the account is disabled; sign in again")
            yield session

    def as_service(self) -> "AsyncIterator[AsyncSession]":
        """One transaction as ``service_role``: committed on success, rolled back on error."""
        return self._transaction(SERVICE)

    def service_statement(self) -> "AsyncIterator[AsyncConnection]":
        """A ``service_role`` connection whose every statement commits on its own."""
        return self.service_engine.connect()

    async def service_call(self, sql: str, params: dict[str, Any]) -> Any:
        """The one row ``sql`` returns, run as ``service_role`` in a transaction of its own."""
        if self._call_pool_open is None:
            self._call_pool_open = asyncio.ensure_future(self.call_pool.open())
        await self._call_pool_open
        async with self.call_pool.connection() as conn:
            return await (await conn.execute(sql, params)).fetchone()

    async def service_lookup(self, statement: Executable, params: dict[str, Any]) -> Sequence[Row]:
        """The rows of one read-only statement run as ``service_role`` on a connection of its own,
        for a question a person's request needs answered that their own rights cannot answer (the
        meeting in the way of a booking). Only fixed, narrow queries; the caller says why."""
        async with self.service_sessions() as session, session.begin():
            await session.execute(_READ_ONLY)
            return (await session.execute(statement, params)).all()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.service_transactions_engine.dispose()
        await self.service_engine.dispose()
        if self._call_pool_open is not None:
            await self.call_pool.close()
