"""Hostile input through the HTTP API: each is a 4xx problem document, never a 500, and nothing
the database could not read back is stored (issue 10). Edge types: schoolbase.validation."""

import base64
import json

import pytest

from tests.conftest import assert_problem
from tests.grading.support import grade, ok, ready, turn_in
from tests.meetings.support import at, book, make_room
from tests.resources.conftest import portal, school  # noqa: F401 - fixtures


def forged(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ("9999-12-31T20:00:00-05:00", "9999-12-31T23:00:00-05:00"),  # after 9999 in UTC
        ("0001-01-01T00:30:00+01:00", "2026-03-02T10:00:00+00:00"),  # before year 1 in UTC
    ],
)
async def test_session_outside_the_representable_years_is_refused(client, make_school, starts, ends):
    school = await make_school()
    room = await make_room(client, school)
    body = assert_problem(await book(client, school, room["id"], starts, ends), 422, "validation")
    assert "between the years 1 and 9999" in body["detail"]
    # Nothing was stored: the room's sessions and the host's list still answer.
    ok(await client.get(f"/meeting-rooms/{room['id']}/sessions", headers=school.headers["t"]))
    ok(await client.get("/me/meeting-sessions", headers=school.headers["t"]))
    # A normal session still books.
    assert (await book(client, school, room["id"], at("10:00"), at("11:00"))).status_code == 201


async def test_assignment_due_after_9999_is_refused(client, make_school):
    school = await make_school()
    cats = ok(
        await client.post(
            f"/classes/{school.class_id}/assignment-categories",
            json={"name": "Homework", "weight_percent": "10"},
            headers=school.headers["t"],
        ),
        201,
    )
    body = {"category_id": cats["id"], "title": "Essay", "points_possible": "10", "due_at": "9999-12-31T23:30:00-01:00"}
    response = await client.post(f"/classes/{school.class_id}/assignments", json=body, headers=school.headers["t"])
    assert_problem(response, 422, "validation")


# ---------------------------------------------------------------- numbers past their column


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_limit_per_minute", 2**31),
        ("rate_limit_per_hour", 2**31),
        ("rate_limit_per_day", 2**40),
        ("daily_request_quota_per_user", 2**31),
        ("daily_token_quota_per_user", 2**63),
        ("alert_thresholds_percent", [2**31]),
    ],
)
async def test_ai_limits_past_their_column_are_refused_for_anyone(client, make_school, field, value):
    school = await make_school()
    url = f"/organizations/{school.org_id}/ai-settings"
    for who in ("oa", "s"):  # validation comes before row-level security decides
        assert_problem(await client.patch(url, json={field: value}, headers=school.headers[who]), 422, "validation")


async def test_ai_limits_at_their_column_maximum_are_stored(client, make_school):
    school = await make_school()
    url = f"/organizations/{school.org_id}/ai-settings"
    change = {"rate_limit_per_day": 2**31 - 1, "daily_token_quota_per_user": 2**63 - 1}
    body = ok(await client.patch(url, json=change, headers=school.headers["oa"]))
    assert {k: body[k] for k in change} == change


async def test_grade_whose_percentage_overflows_is_a_422(client, make_school):
    school = await make_school()
    a = await ready(client, school, points_possible="0.01")
    sub = await turn_in(client, school, a["id"])
    body = await grade(client, school, sub["id"], status=422, points="999999.99")
    assert "numeric" not in body["detail"] and "overflow" not in body["detail"]


async def test_rubric_summing_past_the_points_column_is_a_422(client, make_school):
    school = await make_school()
    a = await ready(client, school, points_possible="10")
    rubric = {"title": "Huge", "criteria": [{"title": f"C{i}", "max_points": "999999.99"} for i in range(3)]}
    response = await client.put(f"/assignments/{a['id']}/rubric", json=rubric, headers=school.headers["t"])
    body = assert_problem(response, 422, "validation")
    assert "more than 999999.99" in body["detail"]


# ---------------------------------------------------------------- search text and cursors


@pytest.mark.parametrize("q", ["-" * 33 + "x", "- " * 40 + "x", "-.-" * 30 + "x", "x " + "-" * 200 + "y"])
async def test_runs_of_negations_in_search_text_are_answered(portal, q):
    await portal.approved("t", title="Photosynthesis explained")
    response = await portal.call("GET", "/resources", "s", params={"q": q})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "cursor",
    [
        forged(10**400, "00000000-0000-0000-0000-000000000000"),  # a float key as a huge integer
        forged(2**70, "00000000-0000-0000-0000-000000000000"),
        forged(1e308 * 10, "00000000-0000-0000-0000-000000000000"),  # Infinity
        forged("0.5", "00000000-0000-0000-0000-000000000000"),
        forged(0.5, 12),
        forged(0.5, "not-a-uuid"),
        forged([0.5], "00000000-0000-0000-0000-000000000000"),
        base64.urlsafe_b64encode(b'[NaN, "00000000-0000-0000-0000-000000000000"]').decode(),
        "A" * 5000,
        "%%%",
    ],
)
async def test_forged_search_cursor_is_a_400(portal, cursor):
    await portal.approved("t", title="Photosynthesis explained")
    response = await portal.call("GET", "/resources", "s", params={"q": "photosynthesis", "cursor": cursor})
    assert_problem(response, 400, "invalid-cursor")
    # The connection is fine afterwards.
    assert (await portal.call("GET", "/resources", "s", params={"q": "photosynthesis"})).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        forged("99999-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"),
        forged("9999-12-31T23:00:00-05:00", "00000000-0000-0000-0000-000000000000"),
        forged("2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"),  # no time zone
        forged(2**70, "00000000-0000-0000-0000-000000000000"),
        forged("2026-01-01T00:00:00+00:00", 2**70),
    ],
)
async def test_forged_list_cursor_is_a_400(portal, cursor):
    response = await portal.call("GET", "/resources", "s", params={"cursor": cursor})
    assert_problem(response, 400, "invalid-cursor")


# ---------------------------------------------------------------- NUL and deep JSON in jsonb


HOSTILE_JSON = [
    {"greeting": "a\u0000b"},
    {"a\u0000b": 1},
    {"list": ["ok", {"deep": "\u0000"}]},
    nested(33),
    nested(600),
    {"big": "x" * (65 * 1024)},
]


@pytest.mark.parametrize(
    "document", HOSTILE_JSON, ids=["nul-value", "nul-key", "nul-nested", "depth-33", "depth-600", "too-big"]
)
async def test_hostile_organization_settings_are_refused(client, make_school, document):
    school = await make_school()
    url = f"/organizations/{school.org_id}"
    assert_problem(
        await client.patch(url, json={"settings": document}, headers=school.headers["oa"]), 422, "validation"
    )
    ok(await client.get(url, headers=school.headers["oa"]))


@pytest.mark.parametrize(
    "document", HOSTILE_JSON, ids=["nul-value", "nul-key", "nul-nested", "depth-33", "depth-600", "too-big"]
)
async def test_hostile_room_provider_settings_are_refused(client, make_school, document):
    school = await make_school()
    url = f"/organizations/{school.org_id}/meeting-rooms"
    body = {"name": "Room", "provider_settings": document}
    assert_problem(await client.post(url, json=body, headers=school.headers["t"]), 422, "validation")
    room = await make_room(client, school)
    response = await client.patch(
        f"/meeting-rooms/{room['id']}", json={"provider_settings": document}, headers=school.headers["t"]
    )
    assert_problem(response, 422, "validation")


async def test_json_at_the_depth_limit_is_stored(client, make_school):
    school = await make_school()
    url = f"/organizations/{school.org_id}"
    body = ok(await client.patch(url, json={"settings": nested(32)}, headers=school.headers["oa"]))
    assert body["settings"] == nested(32)


async def test_nul_in_plain_text_is_a_422(client, make_school):
    school = await make_school()
    response = await client.patch(
        f"/organizations/{school.org_id}", json={"name": "A\u0000B"}, headers=school.headers["oa"]
    )
    body = assert_problem(response, 422)
    assert "NUL" in body["detail"]
