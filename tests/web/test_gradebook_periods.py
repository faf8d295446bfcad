"""The gradebook page per grading period: the selector shows one period's assignments, the
override form sets and removes a student's period grade (a reason required, also while the
period is closed), and grades of a closed period are refused (409 period-closed) beside
their cells, from the plain form and the page's script alike."""

import re

from tests.academics.support import close, school_year
from tests.academics.test_closing import IN_Q1, IN_Q3
from tests.grading.support import grade, ready, turn_in
from tests.web.learning_support import text_of
from tests.web.support import as_person, form_token, submit
from tests.web.test_gradebook_pages import ERROR, fields


async def test_a_period_its_overrides_and_its_lock(app, client, db, settings, make_school):
    school = await make_school()
    y = await school_year(client, school)
    early = await ready(client, school, points_possible="10", due_at=IN_Q1, title="Early essay")
    later = await ready(client, school, points_possible="10", due_at=IN_Q3, title="Later essay")
    for a in (early, later):
        work = await turn_in(client, school, a["id"])
        await grade(client, school, work["id"], points="7", state="final")
    url = f"/teach/classes/{school.class_id}/gradebook"
    q1 = f"{url}?period={y.q1['id']}"
    async with await as_person(app, db, settings, school.people["t"]) as http:
        year = await http.get(url)
        assert "Early essay" in year.text and "Later essay" in year.text and "Period grades" not in year.text
        assert '<option value="">Whole year</option>' in year.text
        page = await http.get(q1)
        assert page.status_code == 200
        assert "Early essay" in page.text and "Later essay" not in page.text and "Period grades" in page.text
        assert f'action="{url}?period={y.q1["id"]}"' in page.text
        assert f"gradebook.csv?period={y.q1['id']}" in page.text
        csv = await http.get(f"/teach/classes/{school.class_id}/gradebook.csv?period={y.q1['id']}")
        assert "Early essay" in csv.text and "Later essay" not in csv.text and "override_reason" in csv.text

        override = f"{url}/overrides/{school.people['s']}?period={y.q1['id']}"
        no_reason = await submit(http, q1, override, {"percent": "88"})
        assert no_reason.status_code == 422 and "reason" in text_of(no_reason.text)
        saved = await submit(http, q1, override, {"percent": "88", "letter": "B+", "reason": "Project redone"})
        assert saved.status_code == 303
        shown = text_of((await http.get(q1)).text)
        assert "88.0% B+ (Project redone)" in shown

        await close(client, school, y.q1["id"])
        locked = await http.get(q1)
        assert "This grading period is closed" in locked.text
        values = fields(locked.text)
        cell = next(name for name in values if re.fullmatch(r"c0_\d+", name))
        refused = await http.post(q1, data={**values, cell: "9"})
        assert refused.status_code == 409
        assert "grading period &quot;Q1&quot; is closed" in dict(ERROR.findall(refused.text))[cell[1:]]
        script = await http.post(
            f"{url}/cell",
            data={
                "csrf_token": form_token(locked.text),
                "student_id": str(school.people["s"]),
                "assignment_id": early["id"],
                "points": "9",
            },
        )
        assert script.status_code == 409 and "is closed" in script.json()["error"]
        # Overrides stay possible in a closed period, and their removal takes a reason.
        changed = await submit(http, q1, override, {"letter": "A", "reason": "Appeal granted"})
        assert changed.status_code == 303
        no_why = await submit(http, q1, override, {"remove": "1"})
        assert no_why.status_code == 422
        removed = await submit(http, q1, override, {"remove": "1", "reason": "Back to computed"})
        assert removed.status_code == 303
        assert "(Appeal granted)" not in text_of((await http.get(q1)).text)
