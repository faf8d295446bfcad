"""`schoolbase ai prices | usage | maintain` in-process against the suite's database, and the
monthly partitions of ai_usage_logs: creation, retention and dropping."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

import schoolbase.ai.cli as ai_cli
from schoolbase.ai.maintenance import maintain
from schoolbase.cli import app
from schoolbase.config import get_settings
from schoolbase.db import migrate
from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from tests.ai.support import HAIKU, SONNET, expected_cost, fetch, logs, message, service_id, unit_prices
from tests.conftest import rolled_back

runner = CliRunner()


def flat(output: str) -> str:
    return " ".join(output.split())


def cells(line: str) -> list[str]:
    """The cells of one Rich table row."""
    return [c.strip() for c in line.strip().strip("│").split("│")]


@pytest.fixture
def cli(urls, monkeypatch):
    """Run the CLI in a thread (it runs its own event loop) against the suite's database."""
    monkeypatch.setenv("SCHOOLBASE_DATABASE_URL", urls.owner)
    monkeypatch.delenv("SCHOOLBASE_APP_DATABASE_URL", raising=False)
    monkeypatch.setattr(ai_cli.console, "_width", 250)  # no wrapping or truncating of the tables
    get_settings.cache_clear()

    async def run(*args: str):
        result = await asyncio.to_thread(runner.invoke, app, ["ai", *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    yield run
    get_settings.cache_clear()


def month_start(months_ahead: int = 0) -> date:
    today = datetime.now(UTC).date()
    index = today.year * 12 + today.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"ai_usage_logs_{month:%Y_%m}"


async def partitions(db) -> set[str]:
    rows = await fetch(
        db,
        """select c.relname::text as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'public.ai_usage_logs'::regclass""",
    )
    return {r["name"] for r in rows}


# ---------------------------------------------------------------- prices


async def test_prices_lists_both_services(cli):
    result = await cli("prices")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    haiku = [line for line in lines if "claude-haiku" in line and "2025-01-01" in line]
    sonnet = [line for line in lines if "claude-sonnet" in line and "2025-01-01" in line]
    assert len(haiku) == 1 and len(sonnet) == 1
    assert cells(sonnet[0])[1:] == ["yes", "2025-01-01 00:00 UTC", "3", "15", "3.75", "0.3"]
    assert cells(haiku[0])[1:] == ["yes", "2025-01-01 00:00 UTC", "1", "5", "1.25", "0.1"]


# Haiku's 2025 prices again, from 2030 on.
SET_HAIKU_2030 = (
    "prices",
    "--set",
    "claude-haiku",
    *("--input", "1", "--output", "5", "--cache-write", "1.25", "--cache-read", "0.1"),
    *("--effective-from", "2030-01-01T00:00:00+00:00"),
)


async def test_prices_set_adds_a_row(cli, db):
    haiku = await service_id(db, "claude-haiku")
    result = await cli(*SET_HAIKU_2030)
    assert result.exit_code == 0, result.output
    assert any("claude-haiku" in line and "2030-01-01" in line for line in result.output.splitlines())
    rows = await fetch(
        db, "select * from public.ai_service_prices where service_id = :s order by effective_from", s=haiku
    )
    assert [r["effective_from"] for r in rows][-1] == datetime(2030, 1, 1, tzinfo=UTC)
    assert unit_prices(rows[-1]) == HAIKU
    # the same start again is a clean error, not a traceback
    again = await cli(*SET_HAIKU_2030)
    assert again.exit_code == 1
    assert len(await fetch(db, "select id from public.ai_service_prices where service_id = :s", s=haiku)) == len(rows)


def set_price(model: str, input_rate: str, *extra: str) -> list[str]:
    """``prices --set`` arguments with ``input_rate`` for input and 1 for the other three rates."""
    return ["--set", model, "--input", input_rate, "--output", "1", "--cache-write", "1", "--cache-read", "1", *extra]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--set", "claude-haiku", "--input", "1"], 2),  # all four rates needed
        (set_price("claude-haiku", "x"), 2),
        (set_price("no-such-model", "1"), 1),
        (set_price("claude-haiku", "-1", "--effective-from", "2031-01-01"), 2),
        (set_price("claude-haiku", "0.0000001"), 2),
    ],
)
async def test_prices_set_rejects_bad_input(cli, db, args, code):
    before = await fetch(db, "select count(*) as n from public.ai_service_prices")
    result = await cli("prices", *args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert await fetch(db, "select count(*) as n from public.ai_service_prices") == before


# ---------------------------------------------------------------- usage


async def test_usage_prints_people_and_totals(cli, client, db, make_school):
    school = await make_school()
    for who, text_, model in [
        ("s", "[[tokens:1000,100]]", "claude-haiku"),
        ("s", "[[tokens:10,1]] [[cache:20,30]]", "claude-haiku"),
        ("t", "[[tokens:2000,200]]", "claude-sonnet"),
        ("s", "[[status:500]]", "claude-haiku"),
    ]:
        await client.post("/ai/messages", json=message(text_, model=model), headers=school.headers[who])
    org = (await fetch(db, "select slug from public.organizations where id = :o", o=school.org_id))[0]["slug"]
    emails = {
        r["id"]: r["email"]
        for r in await fetch(
            db, "select id, email from public.users where id = any(:ids)", ids=list(school.people.values())
        )
    }
    result = await cli("usage", "--org", org, "--month", datetime.now(UTC).strftime("%Y-%m"))
    assert result.exit_code == 0, result.output
    rows = {row[0]: row[1:] for row in (cells(line) for line in result.output.splitlines() if "│" in line)}
    s_cost = expected_cost(HAIKU, 1000, 100) + expected_cost(HAIKU, 10, 1, 20, 30)
    t_cost = expected_cost(SONNET, 2000, 200)
    assert rows[emails[school.people["s"]]] == ["3", "2", str(1000 + 10 + 20 + 30), "101", f"{s_cost:.6f}"]
    assert rows[emails[school.people["t"]]] == ["1", "1", "2000", "200", f"{t_cost:.6f}"]
    assert rows["total"] == ["4", "3", str(3060), "301", f"{s_cost + t_cost:.6f}"]
    assert emails[school.people["s2"]] not in result.output
    assert "budget $100.00" in flat(result.output)
    # the teacher is first: the table is ordered by cost
    assert result.output.index(emails[school.people["t"]]) < result.output.index(emails[school.people["s"]])


async def test_usage_of_a_quiet_month_is_an_empty_table(cli, make_school, db):
    school = await make_school()
    org = (await fetch(db, "select slug from public.organizations where id = :o", o=school.org_id))[0]["slug"]
    result = await cli("usage", "--org", org, "--month", "2020-02")
    assert result.exit_code == 0, result.output
    assert "total" not in result.output


@pytest.mark.parametrize("month", ["2026-13", "nov", "2026/11", ""])
async def test_usage_with_a_bad_month_exits_2(cli, month):
    result = await cli("usage", "--org", "whatever", "--month", month)
    assert result.exit_code == 2, result.output
    assert "YYYY-MM" in result.output


async def test_usage_of_an_unknown_org_exits_1(cli):
    result = await cli("usage", "--org", f"no-such-{uuid.uuid4().hex[:6]}", "--month", "2026-01")
    assert result.exit_code == 1
    assert "no organization" in flat(result.output)


# ---------------------------------------------------------------- maintain and partitions


async def test_maintain_creates_partitions_and_reports(cli, db, urls):
    last = partition_name(month_start(3))
    with migrate.owner_connection(urls.owner) as conn:  # a future partition is empty: drop it to see it made
        conn.execute(text(f"drop table if exists private.{last}"))
        conn.commit()
    assert last not in await partitions(db)
    result = await cli("maintain", "--months-ahead", "3")
    assert result.exit_code == 0, result.output
    assert "partitions created 1," in flat(result.output)
    assert "reservations expired" in result.output
    assert {partition_name(month_start(n)) for n in range(4)} <= await partitions(db)
    again = await cli("maintain", "--months-ahead", "3")
    assert "partitions created 0," in flat(again.output)
    assert (await cli("maintain", "--months-ahead", "25")).exit_code == 2


async def insert_log(db, school, created_at: datetime) -> uuid.UUID:
    async with db.as_service() as session:
        return await session.scalar(
            text("""insert into public.ai_usage_logs (created_at, organization_id, user_id, service_id, feature, status)
                    values (:at, :org, :user, (select id from public.ai_services where alias = 'claude-haiku'),
                            'homework_help', 'succeeded') returning id"""),
            {"at": created_at, "org": school.org_id, "user": school.people["s"]},
        )


async def test_retention_deletes_old_rows_of_each_organization(db, make_school):
    short, long = await make_school(retention_days=30), await make_school(retention_days=3000)
    now = datetime.now(UTC)
    old = await insert_log(db, short, now - timedelta(days=40))  # last month's partition (or the default one)
    ancient = await insert_log(db, short, datetime(2019, 6, 15, tzinfo=UTC))  # the default partition
    recent = await insert_log(db, short, now - timedelta(days=10))
    kept = await insert_log(db, long, now - timedelta(days=400))
    where = await fetch(
        db, "select tableoid::regclass::text as part from public.ai_usage_logs where id = :i", i=ancient
    )
    assert where == [{"part": "private.ai_usage_logs_default"}]
    async with db.as_service() as session:
        report = await maintain(session, months_ahead=0)
    assert report.rows_past_retention >= 2
    assert {r["id"] for r in await logs(db, short.org_id)} == {recent}
    assert {r["id"] for r in await logs(db, long.org_id)} == {kept}
    assert old not in {r["id"] for r in await logs(db, short.org_id)}


async def test_drop_partitions_before(db):
    async with db.as_service() as session:  # as the server's maintenance runs: service_role
        made = await session.scalar(text("select private.ensure_ai_usage_partitions('2020-01-01', 2)"))
    assert made == 2
    assert {"ai_usage_logs_2020_01", "ai_usage_logs_2020_02"} <= await partitions(db)
    async with db.as_service() as session:
        dropped = await session.scalar(text("select private.drop_ai_usage_partitions_before('2020-02-15Z')"))
    assert dropped == 1  # 2020-01 ends before; 2020-02 does not
    current = await partitions(db)
    assert "ai_usage_logs_2020_01" not in current and "ai_usage_logs_2020_02" in current
    assert "ai_usage_logs_default" in current and partition_name(month_start()) in current
    async with db.as_service() as session:
        assert await session.scalar(text("select private.drop_ai_usage_partitions_before('2020-03-01Z')")) == 1
    assert "ai_usage_logs_2020_02" not in await partitions(db)


@pytest.mark.parametrize(
    "sql",
    [
        "select private.drop_ai_usage_partitions_before(now() + interval '10 years')",
        "select private.ensure_ai_usage_partitions('2040-01-01', 1)",
    ],
)
async def test_users_cannot_run_partition_maintenance(db, make_school, sql):
    school = await make_school()
    async with rolled_back(db, user_identity(school.people["oa"])) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text(sql))
    assert sqlstate(caught.value) == "42501"
    assert partition_name(month_start()) in await partitions(db)


async def test_monthly_partitions_hold_this_months_rows(client, db, make_school):
    school = await make_school()
    response = await client.post("/ai/messages", json=message(), headers=school.headers["s"])
    assert response.status_code == 200
    (row,) = await fetch(
        db,
        "select tableoid::regclass::text as part from public.ai_usage_logs where organization_id = :o",
        o=school.org_id,
    )
    assert row["part"] == f"private.{partition_name(month_start())}"
    assert Decimal(response.json()["schoolbase"]["cost_usd"]) > 0
