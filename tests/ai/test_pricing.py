"""Cost math: Decimal dollars exact to the micro-dollar, each token kind at its own rate, prices
snapshotted into every log row so a price change never rewrites history."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schoolbase.ai.pricing import Price, Usage, input_token_bound
from tests.ai.support import (
    HAIKU,
    SONNET,
    expected_cost,
    fetch,
    logs,
    message,
    month_row,
    super_admin_headers,
    unit_prices,
)
from tests.conftest import assert_problem

# ---------------------------------------------------------------- unit: Price and Usage

SONNET_PRICE = Price(Decimal("3"), Decimal("15"), Decimal("3.75"), Decimal("0.30"))


@pytest.mark.parametrize(
    ("usage", "cost"),
    [
        (Usage(input_tokens=1), Decimal("0.000003")),
        (Usage(output_tokens=1), Decimal("0.000015")),
        (Usage(cache_write_tokens=1), Decimal("0.00000375")),
        (Usage(cache_read_tokens=1), Decimal("0.0000003")),
        (Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000), Decimal("22.05")),
        (
            Usage(123_457, 9_876, 4_321, 55_555),
            Decimal("0.370371") + Decimal("0.14814") + Decimal("0.01620375") + Decimal("0.0166665"),
        ),
        (Usage(), Decimal(0)),
    ],
)
def test_price_cost_is_exact(usage, cost):
    result = SONNET_PRICE.cost(usage)
    assert isinstance(result, Decimal)
    assert result == cost


def test_price_cost_has_no_float_error():
    # 0.1 + 0.2 style: ten cache reads at $0.10 and twenty at $0.20 are exactly 5 micro-dollars.
    price = Price(Decimal("0"), Decimal("0"), Decimal("0.2"), Decimal("0.1"))
    assert price.cost(Usage(cache_read_tokens=10, cache_write_tokens=20)) == Decimal("0.000005")
    assert price.cost(Usage(cache_read_tokens=3)) * 10 == Decimal("0.000003")


def test_usage_total_and_input_bound():
    assert Usage(1, 2, 3, 4).total == 10
    assert input_token_bound(0) == 1
    assert input_token_bound(1234) == 1234


# ---------------------------------------------------------------- through the gateway


async def charged(client, db, school, text: str, model: str) -> tuple[dict, dict]:
    response = await client.post("/ai/messages", json=message(text, model=model), headers=school.headers["t"])
    assert response.status_code == 200, response.text
    receipt = response.json()["schoolbase"]
    (row,) = [r for r in await logs(db, school.org_id) if str(r["id"]) == receipt["usage_log_id"]]
    return receipt, row


KINDS = {
    # name: (model, prices, directive, token counts as (input, output, cache write, cache read))
    "input": ("claude-sonnet", SONNET, "[[tokens:1234567,0]]", (1234567, 0, 0, 0)),
    "output": ("claude-sonnet", SONNET, "[[tokens:0,654321]]", (0, 654321, 0, 0)),
    "cache_write": ("claude-sonnet", SONNET, "[[tokens:0,0]] [[cache:333333,0]]", (0, 0, 333333, 0)),
    "cache_read": ("claude-haiku", HAIKU, "[[tokens:0,0]] [[cache:0,777777]]", (0, 0, 0, 777777)),
    "haiku_input": ("claude-haiku", HAIKU, "[[tokens:999999,0]]", (999999, 0, 0, 0)),
    "haiku_output": ("claude-haiku", HAIKU, "[[tokens:0,3]]", (0, 3, 0, 0)),
    "haiku_cache_write": ("claude-haiku", HAIKU, "[[tokens:0,0]] [[cache:7,0]]", (0, 0, 7, 0)),
    "sonnet_cache_read": ("claude-sonnet", SONNET, "[[tokens:0,0]] [[cache:0,7]]", (0, 0, 0, 7)),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_price_kind_is_charged_at_its_own_rate(client, db, make_school, kind):
    model, prices, directive, tokens = KINDS[kind]
    school = await make_school()
    receipt, row = await charged(client, db, school, f"price check {directive}", model)
    cost = expected_cost(prices, *tokens)
    assert Decimal(receipt["cost_usd"]) == cost
    assert row["cost_usd"] == cost
    assert (row["input_tokens"], row["output_tokens"], row["cache_write_tokens"], row["cache_read_tokens"]) == tokens
    # the unit prices charged are snapshotted into the row
    assert unit_prices(row) == prices
    assert (await month_row(db, school.org_id))["cost_usd"] == cost


async def test_all_four_kinds_in_one_call_sum_exactly(client, db, make_school):
    school = await make_school()
    receipt, row = await charged(client, db, school, "all [[tokens:123457,9876]] [[cache:4321,55555]]", "claude-sonnet")
    cost = Decimal("0.370371") + Decimal("0.14814") + Decimal("0.01620375") + Decimal("0.0166665")
    assert expected_cost(SONNET, 123457, 9876, 4321, 55555) == cost
    assert row["cost_usd"] == cost
    assert Decimal(receipt["cost_usd"]) == cost
    # a second call: the roll-up keeps the exact sum (no float drift)
    await charged(client, db, school, "again [[tokens:1,1]] [[cache:1,1]]", "claude-sonnet")
    assert (await month_row(db, school.org_id))["cost_usd"] == cost + Decimal("0.00002205")


async def test_price_change_mid_month_keeps_history(client, db, settings, make_school, ai_service):
    school = await make_school()
    directive = "[[tokens:1000000,100000]] [[cache:10000,200000]]"
    _, first = await charged(client, db, school, f"before {directive}", ai_service.alias)
    old_cost = expected_cost(SONNET, 1000000, 100000, 10000, 200000)
    assert first["cost_usd"] == old_cost

    sa = await super_admin_headers(db, settings)
    new = {
        "input_usd_per_mtok": "6",
        "output_usd_per_mtok": "30.5",
        "cache_write_usd_per_mtok": "7.123456",
        "cache_read_usd_per_mtok": "0.000001",
    }
    response = await client.post(
        f"/ai/services/{ai_service.id}/prices",
        json={"effective_from": datetime.now(UTC).isoformat(), **new},
        headers=sa,
    )
    assert response.status_code == 201, response.text
    assert Decimal(response.json()["cache_write_usd_per_mtok"]) == Decimal("7.123456")

    listed = await client.get("/ai/services", headers=school.headers["t"])
    (service,) = [s for s in listed.json() if s["alias"] == ai_service.alias]
    assert Decimal(service["price"]["output_usd_per_mtok"]) == Decimal("30.5")

    _, second = await charged(client, db, school, f"after {directive}", ai_service.alias)
    new_prices = {
        "input": Decimal("6"),
        "output": Decimal("30.5"),
        "cache_write": Decimal("7.123456"),
        "cache_read": Decimal("0.000001"),
    }
    new_cost = expected_cost(new_prices, 1000000, 100000, 10000, 200000)
    assert new_cost == Decimal("6") + Decimal("3.05") + Decimal("0.07123456") + Decimal("0.0000002")
    assert second["cost_usd"] == new_cost
    assert second["output_usd_per_mtok"] == Decimal("30.5")

    # the earlier row keeps the prices and cost it was charged at
    before = [r for r in await logs(db, school.org_id) if r["id"] == first["id"]][0]
    assert before["cost_usd"] == old_cost
    assert unit_prices(before) == SONNET
    assert (await month_row(db, school.org_id))["cost_usd"] == old_cost + new_cost


async def test_a_future_price_is_not_charged_yet(client, db, settings, make_school, ai_service):
    sa = await super_admin_headers(db, settings)
    response = await client.post(
        f"/ai/services/{ai_service.id}/prices",
        json={
            "effective_from": "2099-01-01T00:00:00Z",
            "input_usd_per_mtok": "1000",
            "output_usd_per_mtok": "1000",
            "cache_write_usd_per_mtok": "1000",
            "cache_read_usd_per_mtok": "1000",
        },
        headers=sa,
    )
    assert response.status_code == 201, response.text
    school = await make_school()
    _, row = await charged(client, db, school, "now [[tokens:1000,1000]]", ai_service.alias)
    assert row["cost_usd"] == expected_cost(SONNET, 1000, 1000)


PRICE = {
    "effective_from": "2099-06-01T00:00:00Z",
    "input_usd_per_mtok": "1",
    "output_usd_per_mtok": "2",
    "cache_write_usd_per_mtok": "3",
    "cache_read_usd_per_mtok": "4",
}


@pytest.mark.parametrize("who", ["oa", "t", "s"])
async def test_only_a_super_admin_adds_prices(client, db, make_school, ai_service, who):
    school = await make_school()
    response = await client.post(f"/ai/services/{ai_service.id}/prices", json=PRICE, headers=school.headers[who])
    assert_problem(response, 403)
    rows = await logs(db, school.org_id)
    assert rows == []
    prices = await fetch(db, "select * from public.ai_service_prices where service_id = :s", s=ai_service.id)
    assert len(prices) == 1


async def test_anonymous_cannot_add_prices(client, ai_service):
    assert_problem(await client.post(f"/ai/services/{ai_service.id}/prices", json=PRICE), 401)


@pytest.mark.parametrize(
    "change",
    [
        {"input_usd_per_mtok": "-1"},
        {"output_usd_per_mtok": "0.0000001"},  # finer than a micro-dollar per MTok
        {"cache_read_usd_per_mtok": "1000000000"},  # more digits than numeric(12, 6)
        {"cache_write_usd_per_mtok": "abc"},
        {"effective_from": "yesterday"},
        {"effective_from": None},
    ],
)
async def test_bad_price_input_is_422(client, db, settings, ai_service, change):
    sa = await super_admin_headers(db, settings)
    body = {**PRICE, **change}
    assert_problem(await client.post(f"/ai/services/{ai_service.id}/prices", json=body, headers=sa), 422, "validation")


async def test_price_for_unknown_service_is_404_and_duplicate_is_409(client, db, settings, ai_service):
    sa = await super_admin_headers(db, settings)
    assert_problem(await client.post(f"/ai/services/{uuid.uuid4()}/prices", json=PRICE, headers=sa), 404)
    assert (await client.post(f"/ai/services/{ai_service.id}/prices", json=PRICE, headers=sa)).status_code == 201
    assert_problem(await client.post(f"/ai/services/{ai_service.id}/prices", json=PRICE, headers=sa), 409)
