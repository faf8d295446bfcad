"""The server's connection pools and its identity-scoped transactions."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from schoolbase.db.rls import SERVICE, SERVICE_ROLE, DbIdentity, apply_identity
from schoolbase.db.urls import DatabaseUrls, sqlalchemy_url


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
        # The gateway's hot path: connections that start as service_role (libpq
        # options), in autocommit, each statement a transaction of its own. Used
        # only for single statements that are atomic by themselves.
        self.service_engine: AsyncEngine = create_async_engine(
            service_url, isolation_level="AUTOCOMMIT", connect_args=as_service, **pool
        )

    def session_for(self, identity: DbIdentity) -> AsyncSession:
        """A new session on the pool whose login role may take ``identity``'s role."""
        return (self.service_sessions if identity.role == SERVICE_ROLE else self.sessions)()

    @asynccontextmanager
    async def transaction(self, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
        """One transaction as ``identity``: committed on success, rolled back on error."""
        async with self.session_for(identity) as session, session.begin():
            await apply_identity(session, identity)
            yield session

    def service(self) -> "AsyncIterator[AsyncSession]":
        return self.transaction(SERVICE)

    def service_statements(self) -> "AsyncIterator[AsyncConnection]":
        """A ``service_role`` connection whose every statement commits on its own."""
        return self.service_engine.connect()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.service_transactions_engine.dispose()
        await self.service_engine.dispose()
