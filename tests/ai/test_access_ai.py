"""Every cell of the "AI usage" section of ACCESS.md, proved against the real database.

Same method as ``tests/tenancy/test_access_core.py``: each probe runs one statement
as one actor through the server's own login role (``authenticator``) in a
transaction that is always rolled back; a probe counts as refused when PostgreSQL
answers 42501 (no privilege, or a row-level security check failed) or when the
statement touches no row. The tables below name, per row (reads) or per statement
(writes), exactly who may; every actor not named is expected to be refused.

Actors are the people of ``tests.conftest.World`` (``sa``; org A ``oa`` ``t1`` ``t2``
``s1`` ``s2`` ``p1`` ``p2``; org B ``oaB`` ``tB`` ``sB`` ``pB``, who are X for every org A
row), ``anon`` and ``service`` (the server's own ``service_role``: it bypasses RLS and
is added to every allowed set).

The AI rows of the world are committed once per module by ``refs`` (as service) and
deleted again after it. They sit where the gateway never looks (roll-ups of January
2000, rate-limit windows that ended long ago, a reservation that expires in a hundred
years), so a gateway call as a world person is not disturbed and maintenance does not
remove them. Each organization's settings row is the one its insert trigger made. Rows that must not outlive a probe (a disabled service, a row of s1 in
org B) are created by the probe's own setup and rolled back with it.

ACCESS.md has no row for ``ai_budget_alerts`` and ``ai_budget_reservations``; they are
held here to what the gateway and the alerts API rely on: alerts are read by OA,
reservations by nobody but service, and both are written only by service.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE
from schoolbase.errors import sqlstate
from tests.access import (
    A_PEOPLE,
    B_PEOPLE,
    EVERY_PERSON,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    ORG_OF,
    Read,
    Refs,
    Sql,
    W,
    as_actor,
    assert_writes_cover,
    can_update,
    members,
    outsiders_test,
    public_tables_like,
    read_test,
    service_scalars,
    write_test,
)
from tests.conftest import rolled_back

# The AI tables and the rows the seed gives them.
AI_TABLES = (
    "ai_services",
    "ai_service_prices",
    "ai_organization_settings",
    "ai_usage_logs",
    "ai_daily_user_usage",
    "ai_monthly_org_usage",
    "ai_rate_limits",
    "ai_budget_alerts",
    "ai_budget_reservations",
)
PER_PERSON = ("s1", "s2", "t1", "sB")  # usage logs, daily roll-ups, rate limits
PER_ORG = ("A", "B")  # settings, monthly roll-ups, alerts, reservations
SERVICES = ("claude-haiku", "claude-sonnet")  # seeded by the migration, enabled
PAST_MONTH = date(2000, 1, 1)
SEEDED_PRICE_FROM = "2025-01-01T00:00:00Z"

# Rows created inside a probe's own transaction (as service, before the actor's identity).
PROBE_DISABLED = uuid.UUID("00000000-0000-4000-8000-0000000a1001")
PROBE_DISABLED_PRICE = uuid.UUID("00000000-0000-4000-8000-0000000a1002")
PROBE_SERVICE = uuid.UUID("00000000-0000-4000-8000-0000000a1003")
PROBE_S1_IN_B_LOG = uuid.UUID("00000000-0000-4000-8000-0000000a1004")
SEED_DISABLED_SERVICE = (
    "insert into public.ai_services (id, alias, provider, model_id, display_name, context_window, max_output_tokens,"
    " enabled) values (:id, :alias, 'anthropic', :model, 'Probe (disabled)', 1000, 100, false)",
    {"id": PROBE_DISABLED, "alias": "@unique", "model": "@unique"},
)
SEED_DISABLED_PRICE = (
    "insert into public.ai_service_prices (id, service_id, effective_from, input_usd_per_mtok, output_usd_per_mtok,"
    " cache_write_usd_per_mtok, cache_read_usd_per_mtok) values (:id, :service, now(), 1, 1, 1, 1)",
    {"id": PROBE_DISABLED_PRICE, "service": PROBE_DISABLED},
)
SEED_PROBE_SERVICE = (
    "insert into public.ai_services (id, alias, provider, model_id, display_name, context_window, max_output_tokens)"
    " values (:id, :alias, 'anthropic', :model, 'Probe', 1000, 100)",
    {"id": PROBE_SERVICE, "alias": "@unique", "model": "@unique"},
)
# s1 is also a student of org B, with a usage log and a daily roll-up there: rows of
# org B that p1 and t1 (her parent and teacher in org A only) are X for.
SEED_S1_IN_B = (
    "insert into public.memberships (organization_id, user_id, role) values (:org, :user, 'student')",
    {"org": "@org:B", "user": "@user:s1"},
)
SEED_S1_IN_B_LOG = (
    "insert into public.ai_usage_logs (id, organization_id, user_id, service_id, feature, status)"
    " values (:id, :org, :user, :service, 'homework_help', 'succeeded')",
    {"id": PROBE_S1_IN_B_LOG, "org": "@org:B", "user": "@user:s1", "service": "@service:claude-haiku"},
)
SEED_S1_IN_B_DAILY = (
    "insert into public.ai_daily_user_usage (organization_id, user_id, day, requests) values (:org, :user, :day, 1)",
    {"org": "@org:B", "user": "@user:s1", "day": date(2000, 1, 2)},
)
# ... and her teacher and parent of org A are members of org B too, with no class or child there.
SEED_T1_P1_IN_B = (
    "insert into public.memberships (organization_id, user_id, role) values (:org, :t1, 'teacher'), (:org, :p1, 'parent')",
    {"org": "@org:B", "t1": "@user:t1", "p1": "@user:p1"},
)
# ... or she is in tB's class cB, and pB is her guardian in org B.
SEED_S1_IN_CB = (
    "insert into public.enrollments (organization_id, class_id, user_id, role) values (:org, :class, :user, 'student')",
    {"org": "@org:B", "class": "@class:cB", "user": "@user:s1"},
)
SEED_PB_GUARDS_S1 = (
    "insert into public.guardianships (organization_id, parent_id, student_id) values (:org, :parent, :user)",
    {"org": "@org:B", "parent": "@user:pB", "user": "@user:s1"},
)
S1_IN_B_READS = {
    # p1 and t1 are X for org B rows.
    "s1-in-B": ({"sa", "oaB", "s1"}, (SEED_S1_IN_B,)),
    # Membership in org B is not enough: t1 does not teach her there, p1 is not her guardian there.
    "s1-in-B-t1-p1-members-of-B": ({"sa", "oaB", "s1"}, (SEED_S1_IN_B, SEED_T1_P1_IN_B)),
    # Her teacher and guardian in org B do see her org B rows (and still not p1 and t1).
    "s1-in-B-class-cB-guardian-pB": (
        {"sa", "oaB", "s1", "tB", "pB"},
        (SEED_S1_IN_B, SEED_T1_P1_IN_B, SEED_S1_IN_CB, SEED_PB_GUARDS_S1),
    ),
}


def delete_settings(org: str):
    return ("delete from public.ai_organization_settings where organization_id = :org", {"org": f"@org:{org}"})


# Seeded kinds in the order their rows are deleted again (reservations before their month).
CLEANUP = {
    "log": "ai_usage_logs",
    "daily": "ai_daily_user_usage",
    "rate": "ai_rate_limits",
    "alert": "ai_budget_alerts",
    "reservation": "ai_budget_reservations",
    "monthly": "ai_monthly_org_usage",
}


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    """The AI rows of the world, committed once (see the module docstring for where they sit)
    and deleted after the module: a usage log row keeps its person from being deleted, which
    later tests of the shared world (SA deletes s1) rely on."""
    refs = Refs(world)
    rows = refs.rows
    async with db.as_service() as session:

        async def ids(sql: str, **params) -> dict[str, uuid.UUID]:
            return {key: id_ for key, id_ in (await session.execute(text(sql), params)).all()}

        rows["service"] = await ids(
            "select alias, id from public.ai_services where alias = any(:aliases)", aliases=list(SERVICES)
        )
        rows["price"] = await ids(
            "select s.alias, p.id from public.ai_service_prices p join public.ai_services s on s.id = p.service_id "
            "where s.alias = any(:aliases) and p.effective_from = cast(:since as timestamptz)",
            aliases=list(SERVICES),
            since=SEEDED_PRICE_FROM,
        )
        assert set(rows["service"]) == set(rows["price"]) == set(SERVICES)
        for kind in ("settings", "monthly", "alert", "reservation", "log", "daily", "rate"):
            rows[kind] = {}
        for org in PER_ORG:
            params = {"org": world.orgs[org], "month": PAST_MONTH}
            rows["settings"][org] = (
                await session.execute(
                    text("select id from public.ai_organization_settings where organization_id = :org"), params
                )
            ).scalar_one()
            rows["monthly"][org] = await session.scalar(
                text(
                    "insert into public.ai_monthly_org_usage (organization_id, month, requests, cost_usd, budget_usd,"
                    " reserved_usd) values (:org, :month, 3, 0.5, 100, 1) returning id"
                ),
                params,
            )
            rows["alert"][org] = await session.scalar(
                text(
                    "insert into public.ai_budget_alerts (organization_id, month, threshold_percent, spent_usd,"
                    " budget_usd) values (:org, :month, 50, 50, 100) returning id"
                ),
                params,
            )
            rows["reservation"][org] = await session.scalar(
                text(
                    "insert into public.ai_budget_reservations (organization_id, month, amount_usd, expires_at)"
                    " values (:org, :month, 1, now() + interval '100 years') returning id"
                ),
                params,
            )
        for who in PER_PERSON:
            params = {
                "org": world.orgs[ORG_OF[who]],
                "user": world.users[who],
                "day": PAST_MONTH,
                "service": rows["service"]["claude-haiku"],
            }
            rows["log"][who] = await session.scalar(
                text(
                    "insert into public.ai_usage_logs (organization_id, user_id, service_id, feature, status, input_tokens,"
                    " output_tokens, cost_usd) values (:org, :user, :service, 'homework_help', 'succeeded', 1000, 500,"
                    " 0.0035) returning id"
                ),
                params,
            )
            rows["daily"][who] = await session.scalar(
                text(
                    "insert into public.ai_daily_user_usage (organization_id, user_id, day, requests, succeeded,"
                    " cost_usd) values (:org, :user, :day, 1, 1, 0.0035) returning id"
                ),
                params,
            )
            # A window that ended long ago: the gateway's next call as this person starts afresh.
            rows["rate"][who] = await session.scalar(
                text(
                    "insert into public.ai_rate_limits (organization_id, user_id, window_kind, window_start, used)"
                    " values (:org, :user, 'minute', '2000-01-01T00:00:00Z', 1) returning id"
                ),
                params,
            )
    yield refs
    async with db.as_service() as session:
        for kind, table in CLEANUP.items():
            await session.execute(
                text(f"delete from public.{table} where id = any(:ids)"), {"ids": list(rows[kind].values())}
            )


# ---------------------------------------------------------------------------
# Reads: one row each, and who may see it (service is added to every set).

# table -> (id kind of the seed, the rows it holds)
SEEDED = {
    "ai_services": ("service", SERVICES),
    "ai_service_prices": ("price", SERVICES),
    "ai_organization_settings": ("settings", PER_ORG),
    "ai_usage_logs": ("log", PER_PERSON),
    "ai_daily_user_usage": ("daily", PER_PERSON),
    "ai_monthly_org_usage": ("monthly", PER_ORG),
    "ai_rate_limits": ("rate", PER_PERSON),
    "ai_budget_alerts": ("alert", PER_ORG),
    "ai_budget_reservations": ("reservation", PER_ORG),
}


def R(table, row, readers, *, where=None, setup=()) -> Read:
    kind = SEEDED[table][0]
    return Read(table, row, frozenset(readers), where or {"id": f"@{kind}:{row}"}, tuple(setup))


# Own rows; OA; T for their students' rows; P their child's rows.
OWN_OA_T_P = {
    "s1": {"sa", "oa", "s1", "t1", "p1"},  # t2 does not teach s1; p2 is not her parent; s2 is another student
    "s2": {"sa", "oa", "s2", "t2", "p2"},
    "t1": {"sa", "oa", "t1"},  # a teacher's rows: not her co-teacher t2, not her students, not their parents
    "sB": {"sa", "oaB", "sB", "tB", "pB"},
}

READS = [
    # ai_services and prices: any authenticated user, the enabled ones; SA every one.
    *(R("ai_services", alias, EVERY_PERSON) for alias in SERVICES),
    *(R("ai_service_prices", alias, EVERY_PERSON) for alias in SERVICES),
    Read("ai_services", "disabled", frozenset({"sa"}), {"id": PROBE_DISABLED}, (SEED_DISABLED_SERVICE,)),
    Read(
        "ai_service_prices",
        "disabled",
        frozenset({"sa"}),
        {"id": PROBE_DISABLED_PRICE},
        (SEED_DISABLED_SERVICE, SEED_DISABLED_PRICE),
    ),
    # ai_organization_settings: M.
    R("ai_organization_settings", "A", members(A_PEOPLE)),
    R("ai_organization_settings", "B", members(B_PEOPLE)),
    # ai_usage_logs, ai_daily_user_usage: own rows; OA; T their students; P their child.
    *(R("ai_usage_logs", who, readers) for who, readers in OWN_OA_T_P.items()),
    *(R("ai_daily_user_usage", who, readers) for who, readers in OWN_OA_T_P.items()),
    # s1's rows in org B, where she is a student too: T and P are of the row's organization.
    *(
        Read("ai_usage_logs", row, frozenset(readers), {"id": PROBE_S1_IN_B_LOG}, (*setup, SEED_S1_IN_B_LOG))
        for row, (readers, setup) in S1_IN_B_READS.items()
    ),
    *(
        Read(
            "ai_daily_user_usage",
            row,
            frozenset(readers),
            {"organization_id": "@org:B", "user_id": "@user:s1"},
            (*setup, SEED_S1_IN_B_DAILY),
        )
        for row, (readers, setup) in S1_IN_B_READS.items()
    ),
    # ai_monthly_org_usage: OA.
    R("ai_monthly_org_usage", "A", {"sa", "oa"}),
    R("ai_monthly_org_usage", "B", {"sa", "oaB"}),
    # ai_rate_limits: own rows; OA (not T, not P).
    R("ai_rate_limits", "s1", {"sa", "oa", "s1"}),
    R("ai_rate_limits", "s2", {"sa", "oa", "s2"}),
    R("ai_rate_limits", "t1", {"sa", "oa", "t1"}),
    R("ai_rate_limits", "sB", {"sa", "oaB", "sB"}),
    # ai_budget_alerts (not in ACCESS.md): OA.
    R("ai_budget_alerts", "A", {"sa", "oa"}),
    R("ai_budget_alerts", "B", {"sa", "oaB"}),
    # ai_budget_reservations (not in ACCESS.md): nobody but service, not even SA.
    R("ai_budget_reservations", "A", set()),
    R("ai_budget_reservations", "B", set()),
]


def test_read_table_covers_every_seeded_ai_row():
    """Every AI table is in the read table, with every row the seed gives it."""
    seeded = {(r.table, r.row) for r in READS if not r.setup}
    assert seeded == {(table, row) for table, (_, rows) in SEEDED.items() for row in rows}
    assert set(SEEDED) == set(AI_TABLES)


test_read = read_test(READS)


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).

SERVICE_ONLY: set[str] = set()
HAIKU = "@service:claude-haiku"
FEEDBACK = {"feedback_rating": 4, "feedback_comment": "helpful", "feedback_at": NOW}
# Columns of a usage log row that nobody but service changes (the owner included).
LOG_FIXED_COLUMNS = {
    "cost_usd": 0,
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_write_tokens": 0,
    "cache_read_tokens": 0,
    "input_usd_per_mtok": 0,
    "status": "failed",
    "user_id": "@user:s2",
    "organization_id": "@org:B",
    "service_id": "@service:claude-sonnet",
    "feature": "grading_assistance",
    "created_at": Sql("created_at"),
    "prompt_text": "rewritten",
    "response_text": "rewritten",
    "quality": Sql("'{}'::jsonb"),
    "updated_at": NOW,
}

WRITES = [
    # ai_services and prices: SA.
    W(
        "service-create",
        "insert",
        "ai_services",
        {"sa"},
        values={
            "alias": "@unique",
            "provider": "anthropic",
            "model_id": "@unique",
            "display_name": "New",
            "context_window": 1000,
            "max_output_tokens": 100,
        },
    ),
    W("service-rename", "update", "ai_services", {"sa"}, where={"id": HAIKU}, values={"display_name": "Renamed"}),
    W("service-disable", "update", "ai_services", {"sa"}, where={"id": HAIKU}, values={"enabled": False}),
    W(
        "disabled-service-enable",
        "update",
        "ai_services",
        {"sa"},
        where={"id": PROBE_DISABLED},
        values={"enabled": True},
        setup=[SEED_DISABLED_SERVICE],
    ),
    W("service-delete", "delete", "ai_services", {"sa"}, where={"id": PROBE_SERVICE}, setup=[SEED_PROBE_SERVICE]),
    W(
        "price-create",
        "insert",
        "ai_service_prices",
        {"sa"},
        values={
            "service_id": HAIKU,
            "effective_from": NOW,
            "input_usd_per_mtok": 9,
            "output_usd_per_mtok": 9,
            "cache_write_usd_per_mtok": 9,
            "cache_read_usd_per_mtok": 9,
        },
    ),
    W(
        "price-change",
        "update",
        "ai_service_prices",
        {"sa"},
        where={"id": "@price:claude-haiku"},
        values={"input_usd_per_mtok": 9},
    ),
    W("price-delete", "delete", "ai_service_prices", {"sa"}, where={"id": "@price:claude-haiku"}),
    # ai_organization_settings: OA (each organization has exactly one row; a create replaces a deleted one).
    W(
        "settings-A-create",
        "insert",
        "ai_organization_settings",
        {"sa", "oa"},
        values={"organization_id": "@org:A"},
        setup=[delete_settings("A")],
    ),
    W(
        "settings-B-create",
        "insert",
        "ai_organization_settings",
        {"sa", "oaB"},
        values={"organization_id": "@org:B"},
        setup=[delete_settings("B")],
    ),
    W(
        "settings-A-change",
        "update",
        "ai_organization_settings",
        {"sa", "oa"},
        where={"id": "@settings:A"},
        values={"monthly_budget_usd": 1, "homework_help_enabled": False},
    ),
    W(
        "settings-B-change",
        "update",
        "ai_organization_settings",
        {"sa", "oaB"},
        where={"id": "@settings:B"},
        values={"monthly_budget_usd": 1},
    ),
    W("settings-A-delete", "delete", "ai_organization_settings", {"sa", "oa"}, where={"id": "@settings:A"}),
    W(
        "settings-A-move-to-B",
        "update",
        "ai_organization_settings",
        {"sa"},
        where={"id": "@settings:A"},
        values={"organization_id": "@org:B"},
        setup=[delete_settings("B")],
    ),
    # ai_usage_logs: service writes; the owner changes only the feedback columns of own rows.
    W(
        "log-create-own",
        "insert",
        "ai_usage_logs",
        SERVICE_ONLY,
        values={
            "organization_id": "@org:A",
            "user_id": "@user:self",
            "service_id": HAIKU,
            "feature": "homework_help",
            "status": "succeeded",
        },
    ),
    *(
        W(f"log-{who}-feedback", "update", "ai_usage_logs", {who}, where={"id": f"@log:{who}"}, values=FEEDBACK)
        for who in PER_PERSON
    ),
    *(
        W(f"log-s1-{column}", "update", "ai_usage_logs", {"s1"}, where={"id": "@log:s1"}, values={column: value})
        for column, value in FEEDBACK.items()
    ),
    *(
        W(f"log-s1-{column}", "update", "ai_usage_logs", SERVICE_ONLY, where={"id": "@log:s1"}, values={column: value})
        for column, value in LOG_FIXED_COLUMNS.items()
    ),
    W(
        "log-s1-feedback-and-cost",
        "update",
        "ai_usage_logs",
        SERVICE_ONLY,
        where={"id": "@log:s1"},
        values={**FEEDBACK, "cost_usd": 0},
    ),
    W(
        "log-s1-clear-feedback",
        "update",
        "ai_usage_logs",
        {"s1"},
        where={"id": "@log:s1"},
        values={"feedback_rating": None, "feedback_comment": None, "feedback_at": None},
    ),
    W("log-s1-delete", "delete", "ai_usage_logs", SERVICE_ONLY, where={"id": "@log:s1"}),
    W("log-t1-delete", "delete", "ai_usage_logs", SERVICE_ONLY, where={"id": "@log:t1"}),
    # ai_daily_user_usage: service.
    W(
        "daily-create-own",
        "insert",
        "ai_daily_user_usage",
        SERVICE_ONLY,
        values={"organization_id": "@org:A", "user_id": "@user:self", "day": date(2001, 1, 1)},
    ),
    W(
        "daily-s1-change",
        "update",
        "ai_daily_user_usage",
        SERVICE_ONLY,
        where={"id": "@daily:s1"},
        values={"cost_usd": 0},
    ),
    W("daily-s1-delete", "delete", "ai_daily_user_usage", SERVICE_ONLY, where={"id": "@daily:s1"}),
    # ai_monthly_org_usage: service.
    W(
        "monthly-create",
        "insert",
        "ai_monthly_org_usage",
        SERVICE_ONLY,
        values={"organization_id": "@org:A", "month": date(2001, 2, 1)},
    ),
    W(
        "monthly-A-change",
        "update",
        "ai_monthly_org_usage",
        SERVICE_ONLY,
        where={"id": "@monthly:A"},
        values={"cost_usd": 0, "budget_usd": 1000000},
    ),
    W("monthly-A-delete", "delete", "ai_monthly_org_usage", SERVICE_ONLY, where={"id": "@monthly:A"}),
    # ai_rate_limits: service.
    W(
        "rate-create-own",
        "insert",
        "ai_rate_limits",
        SERVICE_ONLY,
        values={
            "organization_id": "@org:A",
            "user_id": "@user:self",
            "window_kind": "hour",
            "window_start": NOW,
            "used": 1,
        },
        setup=[
            (
                "delete from public.ai_rate_limits where organization_id = :org and user_id = :user"
                " and window_kind = 'hour'",
                {"org": "@org:A", "user": "@user:self"},
            )
        ],
    ),
    W("rate-s1-reset", "update", "ai_rate_limits", SERVICE_ONLY, where={"id": "@rate:s1"}, values={"used": 0}),
    W("rate-s1-delete", "delete", "ai_rate_limits", SERVICE_ONLY, where={"id": "@rate:s1"}),
    # ai_budget_alerts: service.
    W(
        "alert-create",
        "insert",
        "ai_budget_alerts",
        SERVICE_ONLY,
        values={
            "organization_id": "@org:A",
            "month": date(2001, 3, 1),
            "threshold_percent": 80,
            "spent_usd": 80,
            "budget_usd": 100,
        },
    ),
    W("alert-A-change", "update", "ai_budget_alerts", SERVICE_ONLY, where={"id": "@alert:A"}, values={"spent_usd": 0}),
    W("alert-A-delete", "delete", "ai_budget_alerts", SERVICE_ONLY, where={"id": "@alert:A"}),
    # ai_budget_reservations: service.
    W(
        "reservation-create",
        "insert",
        "ai_budget_reservations",
        SERVICE_ONLY,
        values={
            "organization_id": "@org:A",
            "month": PAST_MONTH,
            "amount_usd": 1,
            "expires_at": Sql("now() + interval '1 hour'"),
        },
    ),
    W(
        "reservation-A-change",
        "update",
        "ai_budget_reservations",
        SERVICE_ONLY,
        where={"id": "@reservation:A"},
        values={"expires_at": NOW},
    ),
    W("reservation-A-delete", "delete", "ai_budget_reservations", SERVICE_ONLY, where={"id": "@reservation:A"}),
]


def test_write_table_covers_every_ai_table_and_operation():
    """Every AI table has an insert, an update and a delete probe."""
    assert_writes_cover(WRITES, AI_TABLES)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Specific guarantees stated in words.


async def test_ai_tables_are_all_in_the_matrix(db):
    """A new ai_* table fails here until this file says who may read and write it."""
    assert await public_tables_like(db, "ai\\_%") == set(AI_TABLES)


@pytest.mark.parametrize("owner", PER_PERSON)
@pytest.mark.parametrize("column", ["cost_usd", "input_tokens", "output_tokens", "status", "user_id"])
async def test_owner_changing_anything_but_feedback_is_refused_by_column_privilege(db, refs, owner, column):
    """The owner's row passes the update policy; the column grant is what refuses (42501)."""
    value = "@user:s2" if column == "user_id" else ("failed" if column == "status" else 0)
    async with as_actor(db, refs, owner) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(f"update public.ai_usage_logs set {column} = :v where id = :id"),
                {"v": refs.resolve(owner, value), "id": refs.rows["log"][owner]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "permission denied" in str(caught.value.orig)


@pytest.mark.parametrize("owner", PER_PERSON)
async def test_owner_feedback_is_stored_and_nothing_else_changes(db, refs, owner):
    log_id = refs.rows["log"][owner]
    async with as_actor(db, refs, owner) as session:
        before = (
            await session.execute(
                text(
                    "select cost_usd, input_tokens, output_tokens, status, user_id from public.ai_usage_logs "
                    "where id = :id"
                ),
                {"id": log_id},
            )
        ).one()
        result = await session.execute(
            text(
                "update public.ai_usage_logs set feedback_rating = 5, feedback_comment = 'great', "
                "feedback_at = now() where id = :id"
            ),
            {"id": log_id},
        )
        assert result.rowcount == 1
        after = (
            await session.execute(
                text(
                    "select cost_usd, input_tokens, output_tokens, status, user_id, feedback_rating, feedback_comment, "
                    "feedback_at is not null from public.ai_usage_logs where id = :id"
                ),
                {"id": log_id},
            )
        ).one()
    assert tuple(after[:5]) == tuple(before)
    assert tuple(after[5:]) == (5, "great", True)


@pytest.mark.parametrize("actor", sorted(EVERY_PERSON - {"s1"}))
async def test_feedback_on_someone_elses_row_changes_nothing(db, refs, actor):
    """Not even those who may read s1's row (OA, her teacher, her parent, SA) may rate it."""
    async with as_actor(db, refs, actor) as session:
        result = await session.execute(
            text("update public.ai_usage_logs set feedback_rating = 1 where id = :id"), {"id": refs.rows["log"]["s1"]}
        )
        assert result.rowcount == 0
    async with rolled_back(db, SERVICE) as session:
        assert (
            await session.scalar(
                text("select feedback_rating from public.ai_usage_logs where id = :id"), {"id": refs.rows["log"]["s1"]}
            )
            is None
        )


async def test_probes_leave_no_trace(db, refs):
    assert await can_update(db, refs, "s1", "ai_usage_logs", {"id": "@log:s1"}, {"feedback_comment": "probe"})
    async with rolled_back(db, SERVICE) as session:
        assert (
            await session.scalar(
                text("select feedback_comment from public.ai_usage_logs where id = :id"), {"id": refs.rows["log"]["s1"]}
            )
            is None
        )


# What "everything of org A" means per AI tenant table, for X.
ORG_A_TENANT_TABLES = [t for t in AI_TABLES if t not in ("ai_services", "ai_service_prices")]


test_x_and_anon_see_nothing_of_org_a = outsiders_test(ORG_A_TENANT_TABLES)


async def _partitions(db) -> list[str]:
    return await service_scalars(
        db,
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'public.ai_usage_logs'::regclass order by 1",
    )


@pytest.mark.parametrize("actor", ["sa", "oa", "s1", "anon"])
async def test_usage_log_partitions_are_reachable_only_through_the_table(db, refs, actor):
    """The monthly partitions in schema private have no policies, so they must have no grants either."""
    partitions = await _partitions(db)
    assert "ai_usage_logs_default" in partitions and len(partitions) > 1
    for partition in partitions:
        for sql in (
            f"select count(*) from private.{partition}",
            f"update private.{partition} set feedback_rating = 1",
            f"delete from private.{partition}",
        ):
            async with as_actor(db, refs, actor) as session:
                with pytest.raises(DBAPIError) as caught:
                    await session.execute(text(sql))
            assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE, (partition, sql)


@pytest.mark.parametrize("actor", ["sa", "oa"])
@pytest.mark.parametrize(
    "call",
    [
        "select private.drop_ai_usage_partitions_before('infinity')",
        "select private.ensure_ai_usage_partitions('2090-01-01', 1)",
    ],
)
async def test_people_cannot_drop_or_create_usage_log_partitions(db, refs, actor, call):
    async with as_actor(db, refs, actor) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text(call))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert len(await _partitions(db)) > 1
