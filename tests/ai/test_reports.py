"""Usage reports (GET /ai/usage, /daily, /monthly, CSV), feedback, and the AI settings API."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schoolbase.ai.schemas import UsageLogOut
from tests.ai.support import logs, message, service_id
from tests.conftest import assert_problem


async def ask(client, school, who, text="question", **extra):
    return await client.post("/ai/messages", json=message(text, **extra), headers=school.headers[who])


@pytest.fixture
async def busy_school(client, make_school):
    """Calls by everyone: s (2 ok, 1 failed), s2 (1), t (1 grading), oa (1 resources), p (denied)."""
    school = await make_school()
    other = await make_school()
    for who, text, extra in [
        ("s", "s one [[tokens:10,1]]", {}),
        ("s", "s two [[tokens:20,2]]", {}),
        ("s", "s fails [[status:500]]", {}),
        ("s2", "s2 one [[tokens:30,3]]", {}),
        ("t", "t grades [[tokens:40,4]]", {"feature": "grading_assistance"}),
        ("oa", "oa makes [[tokens:50,5]]", {"feature": "resource_generation"}),
        ("p", "p asks", {}),
    ]:
        await ask(client, school, who, text, **extra)
    await ask(client, other, "s", "elsewhere [[tokens:60,6]]")
    return school, other


async def usage(client, headers, **params) -> list[dict]:
    response = await client.get("/ai/usage", params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


def users_of(items) -> list[str]:
    return sorted(i["user_id"] for i in items)


async def test_what_each_role_sees(client, busy_school):
    school, other = busy_school
    people = {k: str(v) for k, v in school.people.items()}
    org = {"organization_id": str(school.org_id)}
    assert users_of(await usage(client, school.headers["oa"], **org)) == sorted(
        [people["s"]] * 3 + [people["s2"], people["t"], people["oa"], people["p"]]
    )
    assert users_of(await usage(client, school.headers["s"], **org)) == [people["s"]] * 3
    assert users_of(await usage(client, school.headers["s2"], **org)) == [people["s2"]]
    # the teacher: own calls and their student's, not the other student's
    assert users_of(await usage(client, school.headers["t"], **org)) == sorted([people["s"]] * 3 + [people["t"]])
    # the parent: the child's calls and their own (denied) one
    assert users_of(await usage(client, school.headers["p"], **org)) == sorted([people["s"]] * 3 + [people["p"]])
    # another organization's admin sees nothing of this one
    assert await usage(client, other.headers["oa"], **org) == []
    everything = await usage(client, other.headers["oa"])
    assert {i["organization_id"] for i in everything} == {str(other.org_id)}
    # without a filter a student sees only their own rows, whatever the organization
    assert {i["user_id"] for i in await usage(client, other.headers["s"])} == {str(other.people["s"])}


async def test_usage_rows_carry_the_call(client, db, busy_school):
    school, _ = busy_school
    items = await usage(client, school.headers["s"], organization_id=str(school.org_id), status="succeeded")
    assert sorted((i["input_tokens"], i["output_tokens"]) for i in items) == [(10, 1), (20, 2)]
    item = items[0]
    assert item["feature"] == "homework_help" and item["service_id"] == str(await service_id(db, "claude-haiku"))
    assert Decimal(item["cost_usd"]) == (item["input_tokens"] * 1 + item["output_tokens"] * 5) / Decimal(1_000_000)
    assert Decimal(item["input_usd_per_mtok"]) == 1
    assert "prompt_text" not in item and "response_text" not in item


async def test_usage_filters(client, busy_school):
    school, _ = busy_school
    oa, org = school.headers["oa"], {"organization_id": str(school.org_id)}
    people = {k: str(v) for k, v in school.people.items()}
    assert users_of(await usage(client, oa, user_id=people["s"], **org)) == [people["s"]] * 3
    assert users_of(await usage(client, oa, feature="grading_assistance", **org)) == [people["t"]]
    assert users_of(await usage(client, oa, feature="resource_generation", **org)) == [people["oa"]]
    assert users_of(await usage(client, oa, status="failed", **org)) == [people["s"]]
    assert users_of(await usage(client, oa, status="feature_disabled", **org)) == [people["p"]]
    assert await usage(client, oa, status="over_budget", **org) == []
    assert len(await usage(client, oa, user_id=people["s"], status="succeeded", **org)) == 2

    rows = await usage(client, oa, **org)
    times = sorted(datetime.fromisoformat(r["created_at"]) for r in rows)
    middle = times[3]
    assert len(await usage(client, oa, since=middle.isoformat(), **org)) == len(rows) - 3
    assert len(await usage(client, oa, until=middle.isoformat(), **org)) == 3
    assert len(await usage(client, oa, since=middle.isoformat(), until=middle.isoformat(), **org)) == 0
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await usage(client, oa, since=future, **org) == []
    assert len(await usage(client, oa, until=future, **org)) == len(rows)
    # a student filtering on someone else gets nothing
    assert await usage(client, school.headers["s"], user_id=people["s2"], **org) == []


@pytest.mark.parametrize(
    "params",
    [
        {"feature": "cheating"},
        {"status": "maybe"},
        {"since": "last week"},
        {"user_id": "bob"},
        {"format": "xml"},
        {"limit": 0},
        {"limit": 201},
    ],
)
async def test_bad_usage_filters_are_422(client, make_school, params):
    school = await make_school()
    assert_problem(await client.get("/ai/usage", params=params, headers=school.headers["oa"]), 422, "validation")


async def test_bad_cursor_is_400(client, make_school):
    school = await make_school()
    response = await client.get("/ai/usage", params={"cursor": "garbage"}, headers=school.headers["oa"])
    assert_problem(response, 400, "invalid-cursor")


async def test_usage_is_paged_by_cursor(client, busy_school):
    school, _ = busy_school
    oa, org = school.headers["oa"], {"organization_id": str(school.org_id)}
    everything = await usage(client, oa, **org)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **org, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/ai/usage", params=params, headers=oa)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 7 rows: 3 + 3 + 1
    assert [i["id"] for i in seen] == [i["id"] for i in everything]
    assert len({i["id"] for i in seen}) == 7
    assert [i["created_at"] for i in seen] == sorted(i["created_at"] for i in seen)


async def test_usage_as_csv(client, busy_school):
    school, _ = busy_school
    response = await client.get(
        "/ai/usage", params={"format": "csv", "organization_id": str(school.org_id)}, headers=school.headers["oa"]
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(UsageLogOut.model_fields)
    assert len(rows) == 1 + 7
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert sorted(r["status"] for r in records) == ["failed", "feature_disabled"] + ["succeeded"] * 5
    failed = [r for r in records if r["status"] == "failed"][0]
    assert failed["upstream_error"] and failed["feedback_rating"] == ""
    # filters apply to the export, and it is scoped like the JSON
    mine = await client.get("/ai/usage", params={"format": "csv", "status": "succeeded"}, headers=school.headers["s"])
    assert len(list(csv.reader(io.StringIO(mine.text)))) == 1 + 2
    nothing = await client.get(
        "/ai/usage", params={"format": "csv", "organization_id": str(uuid.uuid4())}, headers=school.headers["oa"]
    )
    assert list(csv.reader(io.StringIO(nothing.text))) == [list(UsageLogOut.model_fields)]


async def test_daily_usage(client, busy_school):
    school, other = busy_school
    people = {k: str(v) for k, v in school.people.items()}
    org = {"organization_id": str(school.org_id)}

    async def daily(who, **params):
        response = await client.get("/ai/usage/daily", params={**org, **params}, headers=school.headers[who])
        assert response.status_code == 200, response.text
        return {i["user_id"]: i for i in response.json()["items"]}

    everyone = await daily("oa")
    assert set(everyone) == {people[k] for k in ("s", "s2", "t", "oa", "p")}
    s = everyone[people["s"]]
    assert (s["requests"], s["succeeded"], s["input_tokens"], s["output_tokens"]) == (3, 2, 30, 3)
    assert Decimal(s["cost_usd"]) == Decimal("0.000045")
    assert s["day"] == datetime.now(UTC).date().isoformat()
    assert everyone[people["p"]]["requests"] == 1 and everyone[people["p"]]["succeeded"] == 0
    assert set(await daily("s")) == {people["s"]}
    assert set(await daily("t")) == {people["s"], people["t"]}
    assert set(await daily("p")) == {people["s"], people["p"]}
    assert set(await daily("oa", user_id=people["t"])) == {people["t"]}
    today = datetime.now(UTC).date()
    assert await daily("oa", since=(today + timedelta(days=1)).isoformat()) == {}
    assert len(await daily("oa", since=today.isoformat(), until=today.isoformat())) == 5
    response = await client.get("/ai/usage/daily", params=org, headers=other.headers["oa"])
    assert response.json()["items"] == []


async def test_monthly_usage_is_for_org_admins(client, busy_school):
    school, _ = busy_school
    org = {"organization_id": str(school.org_id)}
    response = await client.get("/ai/usage/monthly", params=org, headers=school.headers["oa"])
    assert response.status_code == 200
    (month,) = response.json()["items"]
    assert (month["requests"], month["succeeded"]) == (7, 5)
    assert (month["input_tokens"], month["output_tokens"]) == (150, 15)
    assert Decimal(month["cost_usd"]) == Decimal(150 + 15 * 5) / 1_000_000
    assert Decimal(month["budget_usd"]) == 100 and Decimal(month["reserved_usd"]) == 0
    assert month["month"] == datetime.now(UTC).date().replace(day=1).isoformat()
    for who in ("s", "t", "p"):
        response = await client.get("/ai/usage/monthly", params=org, headers=school.headers[who])
        assert response.status_code == 200 and response.json()["items"] == []


async def test_reports_need_a_login(client):
    for path in ("/ai/usage", "/ai/usage/daily", "/ai/usage/monthly"):
        assert_problem(await client.get(path), 401, "unauthorized")


# ---------------------------------------------------------------- feedback


async def test_feedback_by_the_owner_only(client, db, busy_school):
    school, other = busy_school
    s_row = [r for r in await logs(db, school.org_id) if r["user_id"] == school.people["s"]][0]
    url = f"/ai/usage/{s_row['id']}/feedback"
    response = await client.post(url, json={"rating": 4, "comment": "helpful"}, headers=school.headers["s"])
    assert response.status_code == 200, response.text
    assert (response.json()["feedback_rating"], response.json()["feedback_comment"]) == (4, "helpful")
    # people who can see the row but do not own it: 403
    for who in ("oa", "t", "p"):
        body = assert_problem(await client.post(url, json={"rating": 1}, headers=school.headers[who]), 403)
        assert "rate" in body["detail"]
    # people who cannot see it: 404
    assert_problem(await client.post(url, json={"rating": 1}, headers=school.headers["s2"]), 404)
    assert_problem(await client.post(url, json={"rating": 1}, headers=other.headers["oa"]), 404)
    assert_problem(
        await client.post(f"/ai/usage/{uuid.uuid4()}/feedback", json={"rating": 1}, headers=school.headers["s"]), 404
    )
    assert_problem(await client.post(url, json={"rating": 1}), 401)
    (row,) = [r for r in await logs(db, school.org_id) if r["id"] == s_row["id"]]
    assert (row["feedback_rating"], row["feedback_comment"]) == (4, "helpful") and row["feedback_at"] is not None
    # the owner may change it; nothing else in the row moves
    response = await client.post(url, json={"rating": 5}, headers=school.headers["s"])
    assert response.json()["feedback_rating"] == 5 and response.json()["feedback_comment"] is None
    (after,) = [r for r in await logs(db, school.org_id) if r["id"] == s_row["id"]]
    assert {k: v for k, v in after.items() if not k.startswith("feedback") and k != "updated_at"} == {
        k: v for k, v in row.items() if not k.startswith("feedback") and k != "updated_at"
    }


@pytest.mark.parametrize(
    "body", [{"rating": 0}, {"rating": 6}, {}, {"rating": "great"}, {"rating": 3, "comment": "x" * 2001}]
)
async def test_bad_feedback_is_422(client, db, busy_school, body):
    school, _ = busy_school
    s_row = [r for r in await logs(db, school.org_id) if r["user_id"] == school.people["s"]][0]
    response = await client.post(f"/ai/usage/{s_row['id']}/feedback", json=body, headers=school.headers["s"])
    assert_problem(response, 422, "validation")


# ---------------------------------------------------------------- settings API


async def test_settings_are_readable_by_members(client, make_school):
    school, other = await make_school(), await make_school()
    url = f"/organizations/{school.org_id}/ai-settings"
    for who in ("oa", "t", "s", "p"):
        response = await client.get(url, headers=school.headers[who])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["organization_id"] == str(school.org_id)
        assert body["grading_assistance_roles"] == ["teacher", "org_admin"]
        assert (body["rate_limit_per_minute"], body["rate_limit_per_hour"], body["rate_limit_per_day"]) == (
            60,
            1000,
            10000,
        )
        assert Decimal(body["monthly_budget_usd"]) == 100 and body["alert_thresholds_percent"] == [50, 80, 100]
        assert body["store_prompts"] is False and body["allowed_service_ids"] is None
    assert_problem(await client.get(url, headers=other.headers["oa"]), 404)
    assert_problem(await client.get(url), 401)


async def test_org_admin_changes_settings_and_the_gateway_follows(client, db, make_school):
    school = await make_school(monthly_budget_usd=0)
    url = f"/organizations/{school.org_id}/ai-settings"
    assert_problem(await ask(client, school, "s"), 402)
    change = {
        "rate_limit_per_minute": 2,
        "monthly_budget_usd": None,
        "homework_help_roles": ["teacher"],
        "grading_assistance_roles": ["teacher", "student"],
        "store_prompts": True,
        "allowed_service_ids": [str(await service_id(db, "claude-haiku"))],
        "alert_thresholds_percent": [90],
    }
    response = await client.patch(url, json=change, headers=school.headers["oa"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in change} == change
    assert body["rate_limit_per_hour"] == 1000  # untouched
    # the gateway follows: no budget, students may not ask for homework help but may grade
    assert_problem(await ask(client, school, "s"), 403, "ai-feature-disabled")
    assert (await ask(client, school, "s", feature="grading_assistance")).status_code == 200
    assert_problem(await ask(client, school, "t", model="claude-sonnet"), 403, "ai-feature-disabled")
    assert (await ask(client, school, "t", "[[tokens:1000000,1000000]]")).status_code == 200  # $6, no budget
    rows = await logs(db, school.org_id)
    assert rows[-1]["prompt_text"] is not None
    # an empty change changes nothing
    same = await client.patch(url, json={}, headers=school.headers["oa"])
    assert same.status_code == 200 and same.json() == body


@pytest.mark.parametrize("who", ["t", "s", "p"])
async def test_only_org_admins_change_settings(client, make_school, who):
    school, other = await make_school(), await make_school()
    url = f"/organizations/{school.org_id}/ai-settings"
    assert_problem(await client.patch(url, json={"store_prompts": True}, headers=school.headers[who]), 403)
    assert_problem(await client.patch(url, json={"store_prompts": True}, headers=other.headers["oa"]), 404)
    assert_problem(await client.patch(url, json={"store_prompts": True}), 401)
    assert (await client.get(url, headers=school.headers["oa"])).json()["store_prompts"] is False


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"monthly_budget_usd": -1}, "validation"),
        ({"monthly_budget_usd": "0.001"}, "validation"),
        ({"homework_help_roles": ["wizard"]}, "validation"),
        ({"rate_limit_per_minute": 0}, "validation"),
        ({"daily_token_quota_per_user": -5}, "validation"),
        ({"retention_days": 0}, "validation"),
        ({"retention_days": 3651}, "validation"),
        ({"alert_thresholds_percent": list(range(1, 12))}, "validation"),
        ({"alert_thresholds_percent": [0]}, None),
        ({"alert_thresholds_percent": [1001]}, None),
        ({"allowed_service_ids": ["not-a-uuid"]}, "validation"),
        ({"allowed_service_ids": ["00000000-0000-0000-0000-000000000001"]}, "invalid-reference"),
        ({"rate_limit_per_minute": None}, None),
        ({"homework_help_roles": None}, None),
    ],
)
async def test_bad_settings_are_422(client, make_school, change, kind):
    school = await make_school()
    url = f"/organizations/{school.org_id}/ai-settings"
    assert_problem(await client.patch(url, json=change, headers=school.headers["oa"]), 422, kind)
    body = (await client.get(url, headers=school.headers["oa"])).json()
    assert body["rate_limit_per_minute"] == 60 and body["allowed_service_ids"] is None
