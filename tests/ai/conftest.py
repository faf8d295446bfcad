"""AI fixtures: a service of the test's own. Schools come from ``make_school`` (tests/conftest.py)."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import text


@dataclass
class OwnService:
    id: uuid.UUID
    alias: str
    max_output_tokens: int


@pytest.fixture
async def ai_service(db):
    """A service of this test's own (Sonnet's prices from 2025), so price changes touch no other test.

    Afterwards the organizations that used it (and with them their logs) and the service are deleted.
    """
    alias = f"test-{uuid.uuid4().hex[:12]}"
    async with db.as_service() as session:
        sid = await session.scalar(
            text(
                """insert into public.ai_services (alias, provider, model_id, display_name, context_window,
                                                   max_output_tokens)
                   values (:alias, 'anthropic', :alias, 'Test model', 200000, 1000) returning id"""
            ),
            {"alias": alias},
        )
        await session.execute(
            text(
                """insert into public.ai_service_prices (service_id, effective_from, input_usd_per_mtok,
                     output_usd_per_mtok, cache_write_usd_per_mtok, cache_read_usd_per_mtok)
                   values (:sid, '2025-01-01T00:00:00Z', 3, 15, 3.75, 0.30)"""
            ),
            {"sid": sid},
        )
    yield OwnService(sid, alias, 1000)
    async with db.as_service() as session:
        await session.execute(
            text(
                "delete from public.organizations where id in "
                "(select organization_id from public.ai_usage_logs where service_id = :sid)"
            ),
            {"sid": sid},
        )
        await session.execute(text("delete from public.ai_services where id = :sid"), {"sid": sid})
