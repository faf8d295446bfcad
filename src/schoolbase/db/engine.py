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
from schoolbase.db.urls import sqlalchemy_url


class Database:
    def __init__(self, app_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        url = sqlalchemy_url(app_url, async_driver=True)
        # No pre-ping: it would cost a round trip per transaction; recycling bounds staleness.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # The gateway's hot path: connections that start as service_role (libpq
        # options), in autocommit, each statement a transaction of its own. Used
        # only for single statements that are atomic by themselves.
        self.service_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            isolation_level="AUTOCOMMIT",
            connect_args={"options": f"-c role={SERVICE_ROLE}"},
        )

    @asynccontextmanager
    async def transaction(self, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
        """One transaction as ``identity``: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            await apply_identity(session, identity)
            yield session

    def service(self) -> "AsyncIterator[AsyncSession]":
        return self.transaction(SERVICE)

    def service_statements(self) -> "AsyncIterator[AsyncConnection]":
        """A ``service_role`` connection whose every statement commits on its own."""
        return self.service_engine.connect()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.service_engine.dispose()
