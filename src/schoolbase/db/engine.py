"""The server's connection pool and its identity-scoped transactions."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from schoolbase.db.rls import SERVICE, DbIdentity, apply_identity
from schoolbase.db.urls import sqlalchemy_url


class Database:
    def __init__(self, app_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(app_url, async_driver=True),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, identity: DbIdentity) -> AsyncIterator[AsyncSession]:
        """One transaction as ``identity``: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            await apply_identity(session, identity)
            yield session

    def service(self) -> "AsyncIterator[AsyncSession]":
        return self.transaction(SERVICE)

    async def dispose(self) -> None:
        await self.engine.dispose()
