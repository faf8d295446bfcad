"""Hostile input on every form of the pages: each form a teacher or a student sees is posted with
each hostile value in every field (its form token kept), and so are the forms of a stranger. Whatever the value, the answer is a
page with a 2xx, 3xx or 4xx status, never a 500."""

from html.parser import HTMLParser

import pytest

from tests.academics.support import school_year
from tests.grading.ai_support import make_work
from tests.roster.upload_support import validated_import
from tests.tenancy.test_held_invitations import held
from tests.web.support import CSRF_FIELD, as_person, browser_client

HOSTILE = [
    "\x00",
    "A" * 20_000,
    "-1",
    "1e309",
    "NaN",
    "9" * 40,
    "0.0000001",
    "<script>alert(1)</script>",
    "2026-13-45T25:61",
    "10000-01-01T00:00",
    "💥\u202e",
    "' or 1=1 --",
    "00000000-0000-0000-0000-000000000000",
]


class Forms(HTMLParser):
    """The page's POST forms: (action, field names other than the form token)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("method", "").lower() == "post":
            self.forms.append((attributes.get("action") or "", set()))
        elif tag in ("input", "textarea", "select", "button") and self.forms and attributes.get("name"):
            if attributes["name"] != "csrf_token":
                self.forms[-1][1].add(attributes["name"])


def forms_of(html: str) -> list[tuple[str, set[str]]]:
    parser = Forms()
    parser.feed(html)
    return [(action, fields) for action, fields in parser.forms if action not in ("/sign-out", "/switch-organization")]


async def post_hostile(http, page_url: str) -> int:
    """Post every hostile value into every field of every form of ``page_url``; how many posts.
    A form a hostile post made go away (a removed role, say) is left there."""
    page = await http.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    posted = 0
    for action, fields in forms_of(page.text):
        for value in HOSTILE:
            again = await http.get(page_url)
            token = CSRF_FIELD.search(again.text)
            if again.status_code != 200 or token is None:
                return posted
            data = {"csrf_token": token.group(1), **dict.fromkeys(fields, value)}
            response = await http.post(action or page_url, data=data)
            assert response.status_code < 500, (action, repr(value[:40]), response.status_code, response.text[:300])
            posted += 1
    return posted


async def test_no_form_of_a_stranger_answers_500_to_hostile_values(app):
    async with browser_client(app) as http:
        for url in ("/sign-in", "/forgot-password", "/reset-password?token=x"):
            assert await post_hostile(http, url)


@pytest.mark.parametrize("who", ["t", "s"])
async def test_no_form_answers_500_to_hostile_values(app, db, settings, client, make_school, who):
    school = await make_school()
    work = await make_work(db, school, {} if who == "s" else None)  # the student has yet to turn it in
    if who == "s":
        pages = [f"/assignments/{work.assignment_id}/work", "/account/password"]
    else:  # the forms that need work still waiting for a grade first
        pages = [
            f"/teach/assignments/{work.assignment_id}/ai-grading",
            f"/teach/submissions/{work.submissions['s']}",
            f"/teach/classes/{school.class_id}",
            f"/teach/classes/{school.class_id}/assignments/new",
            f"/teach/assignments/{work.assignment_id}/edit",
            f"/teach/assignments/{work.assignment_id}",
            f"/teach/classes/{school.class_id}/gradebook",
            "/account/password",
        ]
    async with await as_person(app, db, settings, school.people[who]) as http:
        posted = [await post_hostile(http, url) for url in pages]
    assert all(posted), dict(zip(pages, posted, strict=True))


async def test_no_admin_form_answers_500_to_hostile_values(app, db, settings, make_school):
    school = await make_school()
    await held(db, school.org_id, "held")
    checked = await validated_import(db, school)
    pages = [
        "/admin/members",
        "/admin/invitations",
        "/admin/roster",
        f"/admin/roster/imports/{checked}",
        f"/admin/members/{school.people['t']}",
        "/admin/classes",
        f"/admin/classes/{school.class_id}",
        "/admin/guardianships",
        "/admin/grading-scale",
        "/admin/ai",
        "/library/new",
        "/meetings/rooms",
    ]
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        posted = [await post_hostile(http, url) for url in pages]
    assert all(posted), dict(zip(pages, posted, strict=True))


async def test_no_school_year_or_period_grade_form_answers_500_to_hostile_values(
    app, db, settings, client, make_school
):
    school = await make_school()
    year = await school_year(client, school)
    oa = school.headers["oa"]
    course = (await client.post(f"/organizations/{school.org_id}/courses", json={"title": "X"}, headers=oa)).json()
    north = (await client.post(f"/organizations/{school.org_id}/schools", json={"name": "N"}, headers=oa)).json()
    pages = {
        "oa": [
            "/admin/school-year",
            f"/admin/school-year/sessions/{year.q1['id']}",
            f"/admin/school-year/courses/{course['id']}",
            f"/admin/school-year/schools/{north['id']}",
        ],
        "t": [f"/teach/classes/{school.class_id}/gradebook?period={year.q1['id']}"],
    }
    for who, urls in pages.items():
        async with await as_person(app, db, settings, school.people[who]) as http:
            posted = [await post_hostile(http, url) for url in urls]
        assert all(posted), dict(zip(urls, posted, strict=True))
