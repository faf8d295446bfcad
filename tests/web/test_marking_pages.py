"""The marking pages over HTTP: grading one submission by points or by rubric through the form
(validated as the API validates), the AI suggestion (asked for, accepted, edited, rejected,
refused), bulk AI grading with its progress, and who may see any of it."""

import uuid
from decimal import Decimal

import pytest

from tests.ai.support import away_from_minute_edge
from tests.conftest import add_person
from tests.grading.ai_support import grade_of, make_work, rows, wait_for_job
from tests.grading.support import ok, ready, turn_in
from tests.web.support import as_person, form_token, submit


def page_of(submission_id) -> str:
    return f"/teach/submissions/{submission_id}"


async def grade_via_page(http, submission_id, **data):
    return await submit(http, page_of(submission_id), f"{page_of(submission_id)}/grade", data)


async def api_grade(client, school, submission_id) -> dict:
    return ok(await client.get(f"/submissions/{submission_id}/grade", headers=school.headers["t"]))


async def points_work(client, school, body="Plants turn light into sugar.") -> str:
    assignment = await ready(client, school, title="Photosynthesis quiz", instructions="Answer in a paragraph.")
    return (await turn_in(client, school, assignment["id"], body=body))["id"]


# ---------------------------------------------------------------- grading by hand


async def test_a_teacher_grades_by_points_through_the_form(app, client, db, settings, make_school):
    school = await make_school(time_zone="Europe/Berlin")
    submission_id = await points_work(client, school)
    assignment_id = ok(await client.get(f"/submissions/{submission_id}", headers=school.headers["t"]))["assignment_id"]
    await add_person(db, settings, school, "s3", "student", enrolled=True)
    other = (await turn_in(client, school, assignment_id, who="s3"))["id"]
    async with await as_person(app, db, settings, school.people["t"]) as http:
        page = await http.get(page_of(submission_id))
        assert page.status_code == 200
        for shown in (
            "Grade s ",
            "Photosynthesis quiz",
            "Plants turn light into sugar.",
            "Points possible",
            "Turned in",
        ):
            assert shown in page.text
        assert "Points (out of 100)" in page.text and "Ask AI for a suggestion" not in page.text  # no rubric
        # the next student's work, in name order (s before s3)
        assert "Student 1 of 2" in page.text and f'href="{page_of(other)}" rel="next"' in page.text
        assert f'href="{page_of(submission_id)}" rel="prev"' in (await http.get(page_of(other))).text
        saved = await grade_via_page(http, submission_id, points="87.5", feedback="Clear and correct.", state="final")
        assert (saved.status_code, saved.headers["location"]) == (303, page_of(submission_id))
        again = await http.get(page_of(submission_id))
        assert "Final grade saved" in again.text
        assert "87.5 of 100" in again.text and "not posted yet" in again.text
        assert "Created: Final, 87.5 points" in again.text  # the grade's history
        assert 'value="87.5"' in again.text and "Clear and correct." in again.text  # the form holds the grade
    grade = await api_grade(client, school, submission_id)
    assert (grade["state"], Decimal(grade["points"]), grade["feedback"]) == (
        "final",
        Decimal("87.5"),
        "Clear and correct.",
    )
    assert grade["grader_id"] == str(school.people["t"])


async def test_a_teacher_grades_by_rubric_levels_and_points(app, client, db, settings, make_school):
    school = await make_school()
    work = await make_work(db, school)
    thesis, evidence = work.criteria
    submission_id = work.submissions["s"]
    async with await as_person(app, db, settings, school.people["t"]) as http:
        page = await http.get(page_of(submission_id))
        assert page.status_code == 200
        assert f'name="level-{thesis}" value="0"' in page.text and "Full" in page.text
        assert f'id="field-points-{evidence}"' in page.text
        draft = await grade_via_page(http, submission_id, **{f"level-{thesis}": "0", "state": "draft"})
        assert draft.status_code == 303  # a draft may leave criteria unscored
        grade = await api_grade(client, school, submission_id)
        assert (grade["state"], Decimal(grade["points"])) == ("draft", 4)
        final = await grade_via_page(
            http,
            submission_id,
            **{
                f"level-{thesis}": "0",
                f"comment-{thesis}": "A clear thesis.",
                f"level-{evidence}": "other",
                f"points-{evidence}": "3.5",
                "feedback": "Good start.",
                "state": "final",
            },
        )
        assert final.status_code == 303
        again = await http.get(page_of(submission_id))
        assert f'id="field-level-{thesis}-0" name="level-{thesis}" value="0" checked' in again.text
        assert f'id="field-level-{evidence}-other" name="level-{evidence}" value="other" checked' in again.text
    grade = await api_grade(client, school, submission_id)
    assert (grade["state"], Decimal(grade["points"]), grade["feedback"]) == ("final", Decimal("7.5"), "Good start.")
    scores = {r["criterion_id"]: r for r in grade["rubric"]}
    assert (Decimal(scores[str(thesis)]["points"]), scores[str(thesis)]["level_title"]) == (4, "Full")
    assert scores[str(thesis)]["comment"] == "A clear thesis."
    assert (Decimal(scores[str(evidence)]["points"]), scores[str(evidence)]["level_title"]) == (Decimal("3.5"), None)


async def test_what_the_api_refuses_the_form_shows_beside_the_field(app, client, db, settings, make_school):
    school = await make_school()
    submission_id = await points_work(client, school)
    work = await make_work(db, school)
    thesis, evidence = work.criteria
    async with await as_person(app, db, settings, school.people["t"]) as http:
        for points, message in (
            ("", "Enter the points."),
            ("-1", "greater than or equal to 0"),
            ("1000000", "no more than 6 digits before the decimal point"),
            ("1.234", "no more than 2 decimal places"),
            ("lots", "valid decimal"),
        ):
            refused = await grade_via_page(http, submission_id, points=points, state="final")
            assert refused.status_code == 422, points
            assert message in refused.text and 'aria-invalid="true"' in refused.text
            assert 'href="#field-points"' in refused.text  # the error summary links to the field
        # Above the points possible is extra credit, as in the API.
        assert (await grade_via_page(http, submission_id, points="105", state="final")).status_code == 303
        # A criterion's score above its maximum, and a final grade that leaves a criterion out.
        rubric = work.submissions["s"]
        over = await grade_via_page(
            http, rubric, **{f"level-{thesis}": "0", f"level-{evidence}": "other", f"points-{evidence}": "7"}
        )
        assert over.status_code == 422 and "Evidence: at most 6 points." in over.text
        assert f'href="#field-points-{evidence}"' in over.text and 'value="7"' in over.text  # kept as typed
        partial = await grade_via_page(http, rubric, **{f"level-{thesis}": "0", "state": "final"})
        assert partial.status_code == 422 and "a final grade scores every criterion; missing: Evidence" in partial.text
        nothing = await grade_via_page(http, rubric, state="draft")
        assert nothing.status_code == 422 and "Score at least one criterion." in nothing.text
    assert await grade_of(db, rubric) is None
    assert Decimal((await api_grade(client, school, submission_id))["points"]) == 105


@pytest.mark.parametrize(("who", "status"), [("s", 403), ("p", 403), ("s2", 404), ("t2", 404)])
async def test_only_the_class_staff_open_or_grade_a_submission(app, client, db, settings, make_school, who, status):
    school = await make_school()
    submission_id = await points_work(client, school)
    if who == "t2":  # a teacher of the organization, not of this class
        await add_person(db, settings, school, who, "teacher")
    async with await as_person(app, db, settings, school.people[who]) as http:
        assert (await http.get(page_of(submission_id))).status_code == status
        await http.get("/account/sessions")  # a form token of their own
        token = form_token((await http.get("/account/sessions")).text)
        posted = await http.post(f"{page_of(submission_id)}/grade", data={"csrf_token": token, "points": "1"})
        assert posted.status_code == status
    assert await grade_of(db, uuid.UUID(submission_id)) is None


async def test_the_organizations_admin_may_grade_too(app, client, db, settings, make_school):
    school = await make_school()
    submission_id = await points_work(client, school)
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        assert (await http.get(page_of(submission_id))).status_code == 200
        assert (await grade_via_page(http, submission_id, points="50", state="draft")).status_code == 303
    assert (await grade_of(db, uuid.UUID(submission_id)))["grader_id"] == school.people["oa"]


async def test_another_organizations_teacher_sees_nothing(app, client, db, settings, make_school):
    school, other = await make_school(), await make_school()
    submission_id = await points_work(client, school)
    work = await make_work(db, school)
    async with await as_person(app, db, settings, other.people["t"]) as http:
        assert (await http.get(page_of(submission_id))).status_code == 404
        assert (await http.get(page_of(work.submissions["s"]) + "/suggestion/edit")).status_code == 404
        assert (await http.get(f"/teach/assignments/{work.assignment_id}/ai-grading")).status_code == 404
        assert (await http.get(page_of(uuid.uuid4()))).status_code == 404


async def test_a_stranger_is_sent_to_sign_in(app):
    from tests.web.support import browser_client  # noqa: PLC0415

    async with browser_client(app) as http:
        response = await http.get(page_of(uuid.uuid4()))
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=/teach/")


# ---------------------------------------------------------------- the AI suggestion


async def ask_ai(http, submission_id):
    return await submit(http, page_of(submission_id), f"{page_of(submission_id)}/suggestion", {})


async def review(http, submission_id, action: str, data: dict | None = None):
    """Accept, reject or edit the suggestion shown on the submission's page (or its edit page)."""
    page = await http.get(page_of(submission_id) + ("/suggestion/edit" if action == "edit" else ""))
    grade_id = page.text.split('name="grade_id" value="')[1].split('"')[0]
    data = {"csrf_token": form_token(page.text), "grade_id": grade_id, **(data or {})}
    return await http.post(f"{page_of(submission_id)}/suggestion/{action}", data=data)


async def test_asking_for_a_suggestion_and_accepting_it(app, client, db, settings, make_school):
    school = await make_school()
    work = await make_work(db, school, {"s": "Plants make sugar. [[score:1]] [[confidence:0.82]]"})
    submission_id = work.submissions["s"]
    async with await as_person(app, db, settings, school.people["t"]) as http:
        asked = await ask_ai(http, submission_id)
        assert (asked.status_code, asked.headers["location"]) == (303, page_of(submission_id))
        page = await http.get(page_of(submission_id))
        assert "The AI suggested a grade" in page.text
        assert "AI suggestion" in page.text and "Not a grade yet" in page.text
        assert "<strong>82.0%</strong> (high confidence)" in page.text
        assert "10 of 10 points" in page.text and "[local upstream]" in page.text
        assert "Thesis" in page.text and "Evidence" in page.text
        for button in ("Accept suggestion", "Edit suggestion", "Reject suggestion"):
            assert button in page.text
        assert "Ask AI for a suggestion" not in page.text
        accepted = await review(http, submission_id, "accept")
        assert accepted.status_code == 303
        assert "You accepted the AI suggestion" in (await http.get(page_of(submission_id))).text
    stored = await grade_of(db, submission_id)
    assert (str(stored["state"]), str(stored["source"]), stored["points"]) == ("final", "ai", Decimal(10))
    assert stored["grader_id"] == school.people["t"]


async def test_editing_a_suggestion_makes_it_the_teachers_grade(app, client, db, settings, make_school):
    school = await make_school()
    work = await make_work(db, school, {"s": "Plants make sugar. [[score:0.5]] [[confidence:0.3]]"})
    thesis, evidence = work.criteria
    submission_id = work.submissions["s"]
    async with await as_person(app, db, settings, school.people["t"]) as http:
        assert (await ask_ai(http, submission_id)).status_code == 303
        shown = await http.get(page_of(submission_id))
        assert "(low confidence). Check this one carefully" in shown.text
        edit = await http.get(f"{page_of(submission_id)}/suggestion/edit")
        assert edit.status_code == 200 and "Edit the AI suggestion" in edit.text
        # prefilled: half of each criterion is no level, so "other" with the suggested points
        assert f'id="field-level-{thesis}-other" name="level-{thesis}" value="other" checked' in edit.text
        assert f'id="field-points-{thesis}" name="points-{thesis}"' in edit.text and 'value="2"' in edit.text
        assert "[local upstream]" in edit.text
        over = {f"level-{thesis}": "other", f"points-{thesis}": "9", "state": "final"}
        refused = await review(http, submission_id, "edit", over)
        assert refused.status_code == 422 and "Thesis: at most 4 points." in refused.text
        mine = {
            f"level-{thesis}": "0",
            f"level-{evidence}": "other",
            f"points-{evidence}": "5",
            "feedback": "Better than the AI thought.",
            "state": "final",
        }
        saved = await review(http, submission_id, "edit", mine)
        assert (saved.status_code, saved.headers["location"]) == (303, page_of(submission_id))
        page = await http.get(page_of(submission_id))
        assert "You edited the AI suggestion" in page.text and "AI suggested" in page.text
    stored = await grade_of(db, submission_id)
    assert (str(stored["state"]), str(stored["source"])) == ("final", "teacher")
    assert (stored["points"], stored["ai_suggested_points"]) == (Decimal(9), Decimal(5))
    assert stored["feedback"] == "Better than the AI thought."


async def test_rejecting_a_suggestion_removes_it(app, client, db, settings, make_school):
    school = await make_school()
    work = await make_work(db, school)
    submission_id = work.submissions["s"]
    async with await as_person(app, db, settings, school.people["t"]) as http:
        assert (await ask_ai(http, submission_id)).status_code == 303
        rejected = await review(http, submission_id, "reject")
        assert rejected.status_code == 303
        page = await http.get(page_of(submission_id))
        assert "You rejected the AI suggestion" in page.text and "Ask AI for a suggestion" in page.text
        # reviewing a suggestion that is gone is said on the page
        token = form_token(page.text)
        stale = await http.post(
            f"{page_of(submission_id)}/suggestion/accept", data={"csrf_token": token, "grade_id": str(uuid.uuid4())}
        )
        assert stale.status_code == 409 and "changed or was reviewed meanwhile" in stale.text
        assert (await http.get(f"{page_of(submission_id)}/suggestion/edit")).status_code == 303
    assert await grade_of(db, submission_id) is None


@pytest.mark.parametrize(
    ("ai_settings", "body", "status", "message"),
    [
        ({"monthly_budget_usd": 0}, "essay", 402, "AI budget exhausted"),
        ({"grading_assistance_enabled": False}, "essay", 403, "AI feature not available"),
        ({}, "essay [[status:500]]", 502, "AI provider failed"),
    ],
    ids=["budget", "disabled", "provider"],
)
async def test_an_ai_refusal_is_said_on_the_page(app, db, settings, make_school, ai_settings, body, status, message):
    school = await make_school(**ai_settings)
    work = await make_work(db, school, {"s": body})
    async with await as_person(app, db, settings, school.people["t"]) as http:
        refused = await ask_ai(http, work.submissions["s"])
        assert refused.status_code == status
        assert 'role="alert"' in refused.text and message in refused.text
        assert "Grade s " in refused.text and "Ask AI for a suggestion" in refused.text  # the page, not an error page
    assert await grade_of(db, work.submissions["s"]) is None


async def test_a_rate_limit_says_when_to_try_again(app, db, settings, make_school):
    school = await make_school(rate_limit_per_minute=1)
    first, second = await make_work(db, school), await make_work(db, school)
    async with await as_person(app, db, settings, school.people["t"]) as http:
        await away_from_minute_edge()
        assert (await ask_ai(http, first.submissions["s"])).status_code == 303
        refused = await ask_ai(http, second.submissions["s"])
        assert refused.status_code == 429 and "AI rate limit reached" in refused.text
        assert int(refused.headers["Retry-After"]) >= 1 and "Try again in" in refused.text


async def test_students_cannot_ask_for_a_suggestion(app, db, settings, make_school):
    school = await make_school()
    work = await make_work(db, school)
    async with await as_person(app, db, settings, school.people["s"]) as http:
        token = form_token((await http.get("/account/sessions")).text)
        response = await http.post(f"{page_of(work.submissions['s'])}/suggestion", data={"csrf_token": token})
        assert response.status_code == 403
    assert await grade_of(db, work.submissions["s"]) is None


# ---------------------------------------------------------------- bulk AI grading


async def test_bulk_ai_grading_starts_and_reports_progress(app, client, db, settings, make_school):
    school = await make_school()
    await add_person(db, settings, school, "s3", "student", enrolled=True)
    work = await make_work(db, school, {"s": "essay one", "s3": "essay two [[score:1]]"})
    url = f"/teach/assignments/{work.assignment_id}/ai-grading"
    async with await as_person(app, db, settings, school.people["t"]) as http:
        page = await http.get(url)
        assert page.status_code == 200 and "2 submissions are waiting for a grade." in page.text
        started = await submit(http, url, url, {})
        assert started.status_code == 303 and started.headers["location"].startswith("/teach/ai-grading-jobs/")
        job_url = started.headers["location"]
        job_id = job_url.rsplit("/", 1)[1]
        await wait_for_job(client, school.headers["t"], job_id)
        progress = await http.get(f"{job_url}/progress")
        assert progress.headers["content-type"].startswith("application/json")
        assert progress.json() | {"summary": "", "items": {}} == {
            "state": "completed",
            "total": 2,
            "done": 2,
            "failed": 0,
            "skipped": 0,
            "pending": 0,
            "handled": 2,
            "finished": True,
            "summary": "",
            "items": {},
        }
        assert progress.json()["items"][str(work.submissions["s3"])] == {
            "state": "done",
            "outcome": "Suggested",
            "note": "—",
        }
        assert progress.json()["summary"].startswith("Finished: 2 of 2 suggested")
        shown = await http.get(job_url)
        assert shown.status_code == 200
        assert '<progress id="job-progress" max="2" value="2">' in shown.text and 'aria-live="polite"' in shown.text
        assert (
            "Finished: 2 of 2 suggested" in shown.text
            and f'href="/teach/assignments/{work.assignment_id}"' in shown.text
        )
        assert "/static/app/progress.js" in shown.text
        assert f'href="/teach/submissions/{work.submissions["s3"]}"' in shown.text
        after = await http.get(url)
        assert "No submissions are waiting for a grade." in after.text and "See its progress" in after.text
    assert str((await grade_of(db, work.submissions["s3"]))["state"]) == "ai_suggested"


async def test_bulk_ai_grading_refusals(app, client, db, settings, make_school, gate):
    school, other = await make_school(), await make_school()
    no_rubric = await make_work(db, school, rubric=False)
    async with await as_person(app, db, settings, school.people["t"]) as http:
        page = await http.get(f"/teach/assignments/{no_rubric.assignment_id}/ai-grading")
        assert page.status_code == 200 and "give the assignment a rubric first" in page.text
        assert "Start AI grading" not in page.text
        url = f"/teach/assignments/{no_rubric.assignment_id}/ai-grading"
        token = form_token(page.text)
        refused = await http.post(url, data={"csrf_token": token})
        assert refused.status_code == 422 and "Rubric required" in refused.text
        # a second start while a run is going sends the teacher to that run
        held = await make_work(db, school, {"s": f"slow {gate.tag}"})
        url = f"/teach/assignments/{held.assignment_id}/ai-grading"
        first = await submit(http, url, url, {})
        await gate.wait_held(1)
        second = await http.post(url, data={"csrf_token": token})
        assert (second.status_code, second.headers["location"]) == (303, first.headers["location"])
        running = await http.get(first.headers["location"])
        assert "Grading: 0 of 1 done." in running.text and "Refresh</a>" in running.text
        assert (await http.get(first.headers["location"] + "/progress")).json()["finished"] is False
        gate.release()
    for who, status in (("s", 403),):
        async with await as_person(app, db, settings, school.people[who]) as http:
            assert (await http.get(url)).status_code == status
            assert (await http.get(first.headers["location"])).status_code == 404
    async with await as_person(app, db, settings, other.people["t"]) as http:
        assert (await http.get(first.headers["location"])).status_code == 404
        assert (await http.get(first.headers["location"] + "/progress")).status_code == 404
    assert (
        await rows(db, "select 1 from public.bulk_grading_jobs where assignment_id = :a", a=no_rubric.assignment_id)
        == []
    )
