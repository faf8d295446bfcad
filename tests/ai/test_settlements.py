"""Calls that finish together are settled together: one statement and one commit for the
batch, then a wait for the disk, every call still its own usage row, the roll-ups still
equal to the logs, and one bad settlement failing only its own call."""

import asyncio
import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.ai.gateway import FLUSHED, SETTLE
from schoolbase.ai.pricing import Usage
from schoolbase.ai.schemas import MessageRequest
from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from schoolbase.models.ai import AiCallStatus
from tests.access import INSUFFICIENT_PRIVILEGE, PEOPLE
from tests.ai.support import assert_released, away_from_minute_edge, fetch, logs, message
from tests.ai.test_gateway import assert_rollups_match_logs
from tests.conftest import rolled_back


@pytest.fixture
def settle_statements(app, monkeypatch) -> list[int]:
    """The size of each batch the gateway's settlements wrote, in order (the statements still run)."""
    db, sizes = app.state.gateway.settlements.db, []
    run = db.service_call

    async def counted(sql, params):
        if sql == SETTLE:
            sizes.append(len(params["calls"].obj))
        elif sql == FLUSHED:
            sizes.append("flushed")
        return await run(sql, params)

    monkeypatch.setattr(db, "service_call", counted)
    return sizes


async def admitted(app, school, calls: int, who: str = "s"):
    await away_from_minute_edge(needed_seconds=10)
    request = MessageRequest.model_validate(message("settle me"))
    return [await app.state.gateway.admit(user_identity(school.people[who]), request, None) for _ in range(calls)]


async def test_calls_finishing_together_are_one_statement_and_each_their_own_row(
    app, db, make_school, settle_statements
):
    school = await make_school()
    calls = await admitted(app, school, 30)
    started = (await fetch(db, "select now() as t"))[0]["t"]
    gateway = app.state.gateway
    settled = await asyncio.gather(
        *(gateway.settle(call, AiCallStatus.succeeded, Usage(10 + n, 5)) for n, call in enumerate(calls))
    )
    assert settle_statements == [30, "flushed"]
    marked = await fetch(db, "select count(*) as n from private.ai_flush_marks where marked_at >= :t", t=started)
    assert marked[0]["n"] >= 1, "the wait for the disk wrote its mark"
    rows = {row["id"]: row for row in await logs(db, school.org_id)}
    assert len(rows) == 30
    for n, (log_id, cost) in enumerate(settled):  # each caller gets its own row back
        assert rows[log_id]["input_tokens"] == 10 + n
        assert rows[log_id]["cost_usd"] == cost
    await assert_rollups_match_logs(db, school.org_id)
    await assert_released(db, school.org_id)


async def test_settlements_arriving_while_a_batch_is_written_make_the_next(app, db, make_school, settle_statements):
    school = await make_school()
    first, *rest = await admitted(app, school, 6)
    gateway = app.state.gateway
    alone = asyncio.create_task(gateway.settle(first, AiCallStatus.succeeded, Usage(1, 1)))
    await asyncio.sleep(0)  # the first batch is on its way to the database
    await asyncio.gather(alone, *(gateway.settle(call, AiCallStatus.succeeded, Usage(1, 1)) for call in rest))
    assert settle_statements == [1, "flushed", 5, "flushed"]
    assert len(await logs(db, school.org_id)) == 6
    await assert_rollups_match_logs(db, school.org_id)


async def test_one_bad_settlement_fails_only_its_own_call(app, db, make_school, settle_statements):
    school = await make_school()
    good, bad, also_good = await admitted(app, school, 3)
    bad.service_id = uuid.uuid4()  # no such service: its usage row cannot be written
    gateway = app.state.gateway
    outcomes = await asyncio.gather(
        *(gateway.settle(call, AiCallStatus.succeeded, Usage(3, 2)) for call in (good, bad, also_good)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Exception)
    assert not isinstance(outcomes[0], Exception) and not isinstance(outcomes[2], Exception)
    assert settle_statements == [3, 1, "flushed", 1, 1, "flushed"]  # the batch, then each call on its own
    assert {row["id"] for row in await logs(db, school.org_id)} == {outcomes[0][0], outcomes[2][0]}
    await assert_rollups_match_logs(db, school.org_id)


async def test_a_caller_that_stops_waiting_still_has_its_call_settled(app, db, make_school):
    school = await make_school()
    (call,) = await admitted(app, school, 1)
    waiting = asyncio.create_task(app.state.gateway.settle(call, AiCallStatus.succeeded, Usage(7, 3)))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await app.state.gateway.settlements.aclose()
    assert [row["input_tokens"] for row in await logs(db, school.org_id)] == [7]
    await assert_released(db, school.org_id)


async def test_a_flush_that_fails_neither_fails_nor_repeats_the_settled_calls(app, db, make_school, monkeypatch):
    """The batch is committed before the wait for the disk: written again, it would be billed twice."""
    school = await make_school()
    calls = await admitted(app, school, 2)
    settlements = app.state.gateway.settlements
    run = settlements.db.service_call

    async def flush_fails(sql, params):
        if sql == FLUSHED:
            raise OSError("connection lost")
        return await run(sql, params)

    monkeypatch.setattr(settlements.db, "service_call", flush_fails)
    gateway = app.state.gateway
    settled = await asyncio.gather(*(gateway.settle(call, AiCallStatus.succeeded, Usage(4, 4)) for call in calls))
    assert sorted(row["id"] for row in await logs(db, school.org_id)) == sorted(log_id for log_id, _ in settled)
    await assert_rollups_match_logs(db, school.org_id)


async def test_a_batch_whose_connection_fails_is_not_written_again(app, db, make_school, monkeypatch):
    """It may have been committed before the connection went: each call fails instead."""
    school = await make_school()
    calls = await admitted(app, school, 3)
    settlements = app.state.gateway.settlements
    tries = []

    async def connection_lost(sql, params):
        tries.append(sql)
        raise psycopg.OperationalError("connection lost")

    monkeypatch.setattr(settlements.db, "service_call", connection_lost)
    gateway = app.state.gateway
    outcomes = await asyncio.gather(
        *(gateway.settle(call, AiCallStatus.succeeded, Usage(1, 1)) for call in calls), return_exceptions=True
    )
    assert all(isinstance(outcome, psycopg.OperationalError) for outcome in outcomes)
    assert tries == [SETTLE]


@pytest.mark.parametrize(
    "statement",
    [
        "select * from private.ai_flush_marks",
        "insert into private.ai_flush_marks values (0, now())",
        "update private.ai_flush_marks set marked_at = now()",
        "delete from private.ai_flush_marks",
    ],
    ids=["select", "insert", "update", "delete"],
)
@pytest.mark.parametrize("actor", PEOPLE + ("anon",))
async def test_no_end_user_reads_or_writes_the_flush_marks(db, world, actor, statement):
    """Only the server (service_role) writes them, for its own wait for the disk."""
    async with rolled_back(db, world.identity(actor)) as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text(statement))
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
