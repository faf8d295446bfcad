"""The demo a new user meets on first sign-in: a term's worth of work in every class, with every
state a page can show, loaded the same way twice without change; and the screen `serve --demo`
prints. It loads into a database of its own (the demo's slugs and logins are fixed)."""

import uuid

import httpx
import pytest
from rich.console import Console
from sqlalchemy import text

from schoolbase.app import create_app
from schoolbase.cli import print_serve_screen
from schoolbase.db.urls import database_urls
from schoolbase.models import AiFeature
from schoolbase.tenancy import demo as demo_data
from schoolbase.tenancy.demo import DEMO_PASSWORD, DemoSummary
from schoolbase.tenancy.flows import load_demo
from tests.conftest import login, migrated_database, open_database

# A digest per table the demo writes: any row added, removed or changed shows.
TABLES = (
    "organizations",
    "users",
    "memberships",
    "classes",
    "enrollments",
    "guardianships",
    "schools",
    "academic_sessions",
    "courses",
    "class_terms",
    "assignment_categories",
    "assignments",
    "assignment_rubrics",
    "assignment_rubric_criteria",
    "assignment_submissions",
    "assignment_grades",
    "rubric_grades",
    "grade_history",
    "ai_usage_logs",
    "ai_daily_user_usage",
    "ai_monthly_org_usage",
    "ai_budget_alerts",
    "ai_organization_settings",
    "resource_categories",
    "resources",
    "resource_reviews",
    "meeting_rooms",
    "meeting_sessions",
    "meeting_participants",
    "meeting_action_items",
)


@pytest.fixture(scope="module")
async def demo(server_url, settings):
    """A fresh database with the demo loaded twice: (database, first summary, second summary, digests)."""
    with migrated_database(server_url) as owner:
        urls = database_urls(owner, settings)
        async with open_database(urls) as db:
            first = await load_demo(db, settings)
            loaded = await digests(db)
            second = await load_demo(db, settings)
            yield db, urls, first, second, loaded


async def digests(db) -> dict[str, str]:
    async with db.as_service() as session:
        return {
            table: await session.scalar(
                text(f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from public.{table} t")
            )
            for table in TABLES
        }


async def rows(db, sql: str) -> list:
    async with db.as_service() as session:
        return (await session.execute(text(sql))).all()


async def test_the_demo_loads_a_term_of_work_once(demo):
    db, _, first, second, loaded = demo
    assert first.created and len(first.classes_with_new_work) == 4 and len(first.ai_waiting) == 4
    assert not second.created and second.classes_with_new_work == [] and second.ai_waiting == []
    assert first.worksheet is not None and second.worksheet is None
    assert await digests(db) == loaded
    assert [login for login in second.logins] == first.logins
    counts = dict(
        await rows(
            db, "select c.name, count(a.id) from classes c join assignments a on a.class_id = c.id group by c.name"
        )
    )
    assert counts == {"Algebra I": 12, "Biology": 10, "Computer Science": 10, "Physics": 9}


async def test_every_kind_of_work_is_there(demo):
    db = demo[0]
    submissions = {
        kind
        for (kind,) in await rows(
            db,
            """select case when s.status in ('missing', 'excused', 'draft') then s.status::text
                           when s.submitted_at > a.due_at then 'late' else 'on time' end
               from assignment_submissions s join assignments a on a.id = s.assignment_id""",
        )
    }
    assert submissions == {"on time", "late", "missing", "excused", "draft"}
    grades = set(
        await rows(
            db,
            "select state::text, posted_at is not null, source::text, feedback is not null from assignment_grades",
        )
    )
    assert ("final", True, "teacher", True) in grades  # graded and posted
    assert ("final", False, "teacher", True) in grades  # graded, not posted yet
    assert {state for state, *_ in grades} == {"final", "ai_suggested"}
    late_penalties = await rows(db, "select count(*) from assignment_grades where late_penalty_points > 0")
    assert late_penalties[0][0] > 0
    assert (await rows(db, "select count(*) from rubric_grades where level_title is not null"))[0][0] > 0
    assert set(await rows(db, "select state::text, visible_to_parents from assignments")) == {
        ("draft", True),
        ("published", True),
        ("closed", True),
        ("closed", False),
    }


async def test_each_school_has_a_year_of_grading_periods_holding_its_work(demo):
    db = demo[0]
    calendar = await rows(
        db,
        """select o.slug, count(distinct sc.id), string_agg(distinct s.type::text || ':' || s.title, ', ')
           from organizations o join schools sc on sc.organization_id = o.id
           join academic_sessions s on s.organization_id = o.id group by o.slug order by o.slug""",
    )
    periods = "grading_period:Quarter 1, grading_period:Quarter 2, grading_period:Quarter 3, grading_period:Quarter 4"
    assert [(slug, schools, titles.startswith(periods)) for slug, schools, titles in calendar] == [
        ("maple-grove", 1, True),
        ("riverside", 1, True),
    ]
    unlinked = await rows(
        db,
        """select c.name from classes c left join class_terms t on t.class_id = c.id
           where c.school_id is null or c.course_id is null or c.class_code is null or t.id is null""",
    )
    assert unlinked == []
    # Every dated assignment falls in a grading period, and the work spreads over more than one.
    placed = await rows(
        db,
        """select count(*) filter (where p is null), count(distinct p)
           from (select private.grading_period_of(a.organization_id, a.class_id, a.due_at) as p
                 from assignments a where a.due_at is not null) x""",
    )
    assert placed[0][0] == 0 and placed[0][1] >= 2


async def test_an_ai_suggestion_waits_for_each_teacher_through_the_real_path(demo):
    db = demo[0]
    suggestions = await rows(
        db,
        """select g.state::text, g.source::text, g.feedback, g.ai_confidence, l.status::text, l.feature::text,
                  s.status::text, (select count(*) from rubric_grades r where r.grade_id = g.id)
           from assignment_grades g
           join assignment_submissions s on s.id = g.submission_id
           join ai_usage_logs l on l.id = g.ai_usage_log_id and l.organization_id = g.organization_id
           where g.ai_suggested_points is not null""",
    )
    assert len(suggestions) == 4
    for state, source, feedback, confidence, call, feature, status, scores in suggestions:
        assert (state, source, call, feature) == ("ai_suggested", "ai", "succeeded", AiFeature.grading_assistance)
        assert "no AI model was called" in feedback and 0 < confidence < 1 and scores == 3
        assert status in ("submitted", "late")  # still the teacher's to review


async def test_a_demo_class_without_work_gets_it_and_the_others_are_left_alone(server_url, settings):
    """A database loaded before the demo had work (here: one class's work removed) gets it on the next load."""
    with migrated_database(server_url) as owner:
        async with open_database(database_urls(owner, settings)) as db:
            async with db.as_service() as session:
                await demo_data.load_demo(session)
            async with db.as_service() as session:
                physics = "(select id from public.classes where name = 'Physics')"
                await session.execute(text(f"delete from public.assignments where class_id = {physics}"))
                await session.execute(text(f"delete from public.assignment_categories where class_id = {physics}"))
            before = await rows(db, "select id, updated_at from assignments order by id")
            async with db.as_service() as session:
                again = await demo_data.load_demo(session)
            after = await rows(db, "select id, updated_at from assignments order by id")
    assert not again.created and again.classes_with_new_work == ["Riverside High: Physics"]
    assert len(again.ai_waiting) == 1
    assert set(before) < set(after) and len(after) - len(before) == 9


async def test_a_super_admin_without_an_organization_is_among_the_logins(demo):
    db, _, first, *_ = demo
    assert ("Platform (no organization)", "root@schoolbase.example.org", "super admin") in first.logins
    found = await rows(
        db,
        """select u.is_super_admin, count(m.id) from users u left join memberships m on m.user_id = u.id
           where u.email = 'root@schoolbase.example.org' group by u.is_super_admin""",
    )
    assert found == [(True, 0)]


async def test_the_library_has_a_category_tree_approved_resources_reviews_and_an_ai_worksheet_waiting(demo):
    db = demo[0]
    tree = await rows(db, "select count(*) filter (where parent_id is null), count(*) from resource_categories")
    assert tree == [(3, 7)]
    states = dict(await rows(db, "select state::text, count(*) from resources group by state"))
    assert states == {"approved": 12, "draft": 1, "rejected": 1, "pending_review": 1}
    generated = await rows(
        db,
        """select r.type::text, r.state::text, l.feature::text, l.status::text, r.body <> ''
           from resources r join ai_usage_logs l on l.id = r.ai_usage_log_id where r.ai_generated""",
    )
    assert generated == [("worksheet", "pending_review", "resource_generation", "succeeded", True)]
    rated = await rows(
        db, "select count(*), min(rating_average), max(rating_average) from resources where rating_count > 0"
    )
    assert rated[0][0] >= 9 and 1 <= rated[0][1] < rated[0][2] <= 5
    assert {kind for (kind,) in await rows(db, "select distinct type::text from resources")} >= {
        "link",
        "video",
        "worksheet",
        "quiz",
        "document",
        "interactive_activity",
    }


async def test_meetings_this_week_and_last_with_attendance_and_action_items(demo):
    db = demo[0]
    assert (await rows(db, "select count(*) from meeting_rooms"))[0][0] == 2
    sessions = await rows(
        db,
        """select s.state::text, s.ends_at <= now(), count(p.joined_at)
           from meeting_sessions s left join meeting_participants p on p.session_id = s.id group by s.id""",
    )
    assert len(sessions) == 7 and any(state == "scheduled" for state, *_ in sessions)
    for state, over, attended in sessions:
        assert (state == "ended") == over and (attended > 0) == over
    items = dict(await rows(db, "select state::text, count(*) from meeting_action_items group by state"))
    assert items == {"open": 2, "in_progress": 1, "done": 2}


async def test_a_month_of_ai_usage_adds_up(demo):
    db = demo[0]
    history = await rows(
        db,
        """select count(*), count(distinct user_id), count(distinct feature), count(distinct service_id),
                  count(*) filter (where status <> 'succeeded'), count(feedback_rating),
                  bool_and(date_trunc('month', created_at at time zone 'America/New_York')
                           = date_trunc('month', now() at time zone 'America/New_York'))
           from ai_usage_logs where request_id = 'demo-history'""",
    )
    assert history == [(72, 6, 3, 2, 4, 5, True)]
    totals = await rows(
        db,
        """select m.requests, m.cost_usd, (select count(*) from ai_usage_logs l where l.organization_id = m.organization_id),
                  (select sum(cost_usd) from ai_usage_logs l where l.organization_id = m.organization_id),
                  (select sum(d.requests) from ai_daily_user_usage d where d.organization_id = m.organization_id),
                  (select sum(d.cost_usd) from ai_daily_user_usage d where d.organization_id = m.organization_id)
           from ai_monthly_org_usage m join organizations o on o.id = m.organization_id
           where o.slug = 'maple-grove'""",
    )
    requests, cost, logged, logged_cost, daily, daily_cost = totals[0]
    assert requests == logged == daily and cost == logged_cost == daily_cost and cost > 0
    assert (await rows(db, "select count(*) from ai_budget_alerts"))[0][0] >= 1


@pytest.fixture(scope="module")
async def demo_client(demo, settings):
    application = create_app(settings.model_copy(update={"jobs_worker": False}), demo[1])
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=(f"10.{uuid.uuid4().int % 250}.1.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_course_percentages_in_the_gradebook_are_not_null(demo_client):
    ada = await login(demo_client, "ada@maple-grove.example.org", DEMO_PASSWORD)
    classes = {c["name"]: c["id"] for c in (await demo_client.get("/classes", headers=ada)).json()["items"]}
    for name in ("Algebra I", "Computer Science"):
        book = (await demo_client.get(f"/classes/{classes[name]}/gradebook", headers=ada)).json()
        assert len(book["students"]) == 3
        assert all(row["course_percentage"] is not None for row in book["students"]), book["students"]
        assert {c["name"] for c in book["categories"]} >= {"Homework", "Quizzes"}
    grace = await login(demo_client, "grace@maple-grove.example.org", DEMO_PASSWORD)
    book = (await demo_client.get(f"/classes/{classes['Algebra I']}/gradebook", headers=grace)).json()
    assert [row["course_percentage"] is not None for row in book["students"]] == [True]


async def test_a_parent_sees_posted_grades_and_nothing_of_the_work_hidden_from_parents(demo_client):
    grace = await login(demo_client, "grace@maple-grove.example.org", DEMO_PASSWORD)
    pat = await login(demo_client, "pat@maple-grove.example.org", DEMO_PASSWORD)
    me = (await demo_client.get("/me", headers=grace)).json()["user"]["id"]
    own = {a["title"]: a for a in (await demo_client.get("/me/assignments?limit=100", headers=grace)).json()["items"]}
    child = await demo_client.get(f"/me/assignments?limit=100&student_id={me}", headers=pat)
    theirs = {a["title"]: a for a in child.json()["items"]}
    hidden = "Reflection: how I check my answers"
    assert own[hidden]["grade"] is not None
    assert theirs[hidden]["grade"] is None and theirs[hidden]["submission"] is None
    assert theirs["Solving one-step equations"]["grade"] is not None  # posted
    for view in (own, theirs):
        assert view["Quiz 2: Systems of equations"]["grade"] is None  # graded, not posted yet


def screen(summary: DemoSummary | None, **options) -> str:
    console = Console(record=True, width=100, force_terminal=False)
    defaults = {"url": "http://127.0.0.1:8000", "mail": None, "postgres_log": "/data/pgdata/log"}
    print_serve_screen(console, summary=summary, **(defaults | options))
    return console.export_text()


def test_the_serve_screen_shows_where_to_go_who_to_be_and_where_mail_goes():
    summary = DemoSummary(
        created=True,
        logins=[
            ("Maple Grove Academy", "ada@maple-grove.example.org", "teacher"),
            ("Riverside High", "john@riverside.example.org", "parent"),
        ],
    )
    shown = screen(summary)
    lines = shown.splitlines()
    assert "http://127.0.0.1:8000/" in shown and "http://127.0.0.1:8000/docs" in shown
    assert shown.count(DEMO_PASSWORD) == 1
    assert any(
        "Maple Grove Academy" in line and "ada@maple-grove.example.org" in line and "teacher" in line for line in lines
    )
    assert any(line.startswith("Mail") and "SCHOOLBASE_SMTP_URL" in line and "mail outbox" in line for line in lines)
    assert any("/data/pgdata/log" in line for line in lines)
    assert "initdb" not in shown and "pg_ctl" not in shown and "Running step" not in shown
    assert len(lines) <= len(summary.logins) + 8


def test_the_serve_screen_names_the_mail_server_without_its_password():
    shown = screen(None, mail="smtp://mailer:s3cret@mail.example.org:2525", postgres_log=None)
    assert "smtp://mail.example.org:2525" in shown and "s3cret" not in shown
    assert DEMO_PASSWORD not in shown and "PostgreSQL" not in shown
