"""The AI pages over HTTP: after a burst of AI calls through the API, every figure on the
usage dashboard (per day, feature, model and person, and the totals) equals the usage log's;
the CSV export holds the rows those tables add up; the settings form saves through the
API's schema and shows errors beside the fields; who sees what (a student their own, a
teacher their students', another organization nothing)."""

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from tests.ai.support import fetch, message
from tests.web.support import as_person, submit

DASHBOARD = "/ai-dashboard"
SETTINGS = "/admin/ai"
FIELDS = ("requests", "succeeded", "input_tokens", "output_tokens", "cost_usd")


class Figures(HTMLParser):
    """The dashboard's tables as numbers: table id → row key → field → value (costs exact,
    from their ``<data value>``); the totals under the id "totals"."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(dict)
        self.table = self.key = self.field = None
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("table", "dl") and a.get("id"):
            self.table, self.key = a["id"], ("all" if a["id"] == "totals" else None)
        elif tag == "tr" and "data-key" in a:
            self.key = a["data-key"]
        elif "data-field" in a and self.table and self.key:
            self.field, self.text = a["data-field"], ""
        elif tag == "data" and self.field:
            self.tables[self.table].setdefault(self.key, {})[self.field] = Decimal(a["value"])
            self.field = None

    def handle_data(self, data):
        if self.field:
            self.text += data

    def handle_endtag(self, tag):
        if tag in ("td", "dd") and self.field:
            self.tables[self.table].setdefault(self.key, {})[self.field] = Decimal(self.text.replace(",", ""))
            self.field = None
        elif tag in ("table", "dl"):
            self.table = None


def totals_by(rows: list[dict], key) -> dict[str, dict[str, Decimal]]:
    found: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        t = found.setdefault(str(key(row)), dict.fromkeys(FIELDS, Decimal(0)))
        t["requests"] += 1
        t["succeeded"] += row["status"] == "succeeded"
        t["input_tokens"] += row["input_tokens"]
        t["output_tokens"] += row["output_tokens"]
        t["cost_usd"] += row["cost_usd"]
    return found


async def month_logs(db, school) -> list[dict]:
    zone = ZoneInfo(school.time_zone)
    now = datetime.now(zone)
    start = datetime(now.year, now.month, 1, tzinfo=zone)
    return await fetch(
        db,
        "select *, status::text as status, feature::text as feature, date(created_at at time zone :tz) as day"
        " from public.ai_usage_logs where organization_id = :org and created_at >= :start",
        org=school.org_id,
        tz=school.time_zone,
        start=start.astimezone(UTC),
    )


async def burst(client, school) -> None:
    """Calls by s (2, one failing), s2, t (grading, on the larger model), oa and p (refused)."""
    for who, text, extra in [
        ("s", "s one [[tokens:100000,20000]]", {}),
        ("s", "s two [[tokens:2000,300]]", {}),
        ("s", "s fails [[status:500]]", {}),
        ("s2", "s2 one [[tokens:30000,3000]]", {}),
        ("t", "t grades [[tokens:40000,4000]]", {"feature": "grading_assistance", "model": "claude-sonnet"}),
        ("oa", "oa makes [[tokens:50000,5000]]", {"feature": "resource_generation"}),
        ("p", "p asks", {}),
    ]:
        await client.post("/ai/messages", json=message(text, **extra), headers=school.headers[who])


def expected(rows, names) -> dict[str, dict]:
    return {
        "totals": totals_by(rows, lambda r: "all"),
        "per-day": totals_by(rows, lambda r: r["day"]),
        "by-feature": totals_by(rows, lambda r: r["feature"]),
        "by-model": totals_by(rows, lambda r: r["service_id"]),
        "by-person": totals_by(rows, lambda r: r["user_id"]),
    }


def shown(figures: Figures, table: str) -> dict:
    rows = figures.tables[table]
    if table == "per-day":  # every day of the month is listed: compare the days with calls
        rows = {k: v for k, v in rows.items() if v["requests"]}
    return rows


async def test_the_dashboard_equals_the_usage_log(app, client, db, settings, make_school):
    school = await make_school(time_zone="Pacific/Auckland")
    await burst(client, school)
    logs = await month_logs(db, school)
    assert len(logs) == 7 and {r["status"] for r in logs} == {"succeeded", "failed", "feature_disabled"}
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        page = await http.get(DASHBOARD)
        assert page.status_code == 200, page.text
        figures = Figures(page.text)
        for table, rows in expected(logs, school.people).items():
            assert shown(figures, table) == rows, table
        assert "Everyone in" in page.text and "Monthly budget" in page.text
        assert '<svg viewBox="0 0 640 200" role="img"' in page.text  # the chart beside its table
        assert "The AI provider failed" in page.text and "Feature not available to them" in page.text
        assert "AI grading: how far teachers moved" in page.text

        export = await http.get(f"{DASHBOARD}/usage.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        lines = list(csv.DictReader(io.StringIO(export.text)))
    assert sum(int(r["requests"]) for r in lines) == len(logs)
    for table, column in (("per-day", "day"), ("by-feature", "feature"), ("by-person", "user_id")):
        assert csv_totals(lines, column) == shown(figures, table), table  # the export adds up to the tables


def csv_totals(lines: list[dict], column: str) -> dict[str, dict[str, Decimal]]:
    found: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        t = found.setdefault(line[column], dict.fromkeys(FIELDS, Decimal(0)))
        for name in FIELDS:
            t[name] += Decimal(line[name])
    return found


async def test_each_person_sees_what_the_api_shows_them(app, client, db, settings, make_school):
    school = await make_school()
    other = await make_school()
    await burst(client, school)
    await burst(client, other)
    logs = await month_logs(db, school)
    people = {who: str(uid) for who, uid in school.people.items()}
    for who, users in {
        "s": {people["s"]},
        "t": {people["s"], people["t"]},  # their student's and their own, not s2's
        "p": {people["p"]},
    }.items():
        async with await as_person(app, db, settings, school.people[who]) as http:
            page = await http.get(DASHBOARD)
            assert page.status_code == 200, page.text
            figures = Figures(page.text)
            mine = [r for r in logs if str(r["user_id"]) in users]
            assert shown(figures, "totals") == totals_by(mine, lambda r: "all"), who
            assert "Monthly budget" not in page.text and "AI grading: how far" not in page.text
            export = list(csv.DictReader(io.StringIO((await http.get(f"{DASHBOARD}/usage.csv")).text)))
            assert {r["user_id"] for r in export} == users, who
            assert (await http.get(SETTINGS)).status_code == 403
    async with await as_person(app, db, settings, other.people["oa"]) as http:
        figures = Figures((await http.get(DASHBOARD)).text)
        other_users = {str(u) for u in other.people.values()}
        assert {k for k in figures.tables["by-person"]} <= other_users  # nothing of the first school


async def test_the_settings_form_saves_through_the_api_schema(app, client, db, settings, make_school):
    school = await make_school()
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        page = await http.get(SETTINGS)
        assert page.status_code == 200 and "Monthly budget (US dollars)" in page.text
        form = {
            "homework_help_enabled": "on",
            "homework_help_roles": ["student", "teacher"],
            "grading_assistance_roles": ["teacher"],
            "resource_generation_enabled": "on",
            "resource_generation_roles": ["teacher", "org_admin"],
            "models": "all",
            "monthly_budget_usd": "250.50",
            "alert_thresholds_percent": "25, 75",
            "daily_request_quota_per_user": "40",
            "daily_token_quota_per_user": "",
            "rate_limit_per_minute": "5",
            "rate_limit_per_hour": "100",
            "rate_limit_per_day": "400",
            "store_prompts": "on",
            "retention_days": "90",
        }
        saved = await submit(http, SETTINGS, SETTINGS, form)
        assert (saved.status_code, saved.headers["location"]) == (303, SETTINGS)
        again = await http.get(SETTINGS)
        assert "AI settings saved" in again.text and 'value="250.50"' in again.text

        wrong = {**form, "monthly_budget_usd": "-3", "retention_days": "0", "alert_thresholds_percent": "50, x"}
        wrong |= {"rate_limit_per_hour": "", "models": "chosen"}
        refused = await submit(http, SETTINGS, SETTINGS, wrong)
        assert refused.status_code == 422
        for field in ("monthly_budget_usd", "retention_days", "alert_thresholds_percent", "rate_limit_per_hour"):
            assert f'id="error-{field}"' in refused.text, field
        assert 'value="50, x"' in refused.text  # the form as it was sent
    api = (await client.get(f"/organizations/{school.org_id}/ai-settings", headers=school.headers["oa"])).json()
    assert api["monthly_budget_usd"] == "250.50" and api["alert_thresholds_percent"] == [25, 75]
    assert api["grading_assistance_enabled"] is False and api["homework_help_roles"] == ["student", "teacher"]
    assert api["daily_token_quota_per_user"] is None and api["daily_request_quota_per_user"] == 40
    assert (api["rate_limit_per_minute"], api["retention_days"], api["store_prompts"]) == (5, 90, True)
    async with await as_person(app, db, settings, school.people["t"]) as http:
        assert (await http.post(SETTINGS, data={"csrf_token": "x"})).status_code == 403
