"""Bulk AI grading as a Procrastinate job run by the app's own worker: progress, per-item
outcomes, denials, access, no connection held across AI calls, and resuming after a crash."""

import asyncio
import json
import uuid
from decimal import Decimal

from sqlalchemy import text

from schoolbase.app import create_app
from schoolbase.grading.assist import flows
from schoolbase.jobs import QUEUE
from tests.conftest import add_student, assert_problem
from tests.grading.ai_support import grade_of, make_work, rows, teacher_grade, wait_for_job


async def start(client, school, work, who="t", **body):
    return await client.post(
        f"/assignments/{work.assignment_id}/ai-grade-all", json=body or None, headers=school.headers[who]
    )


async def insert_run(session, school, work, total: int, state: str = "queued") -> uuid.UUID:
    """A bulk run of ``work`` that ``t`` asked for, written as the server (a running one started now)."""
    return await session.scalar(
        text(
            "insert into public.bulk_grading_jobs (organization_id, class_id, assignment_id, requested_by, model, "
            "total, state, started_at) values (:o, :c, :a, :t, 'claude-haiku', :total, :state, "
            "case when :state = 'running' then now() end) returning id"
        ),
        {
            "o": school.org_id,
            "c": school.class_id,
            "a": work.assignment_id,
            "t": school.people["t"],
            "total": total,
            "state": state,
        },
    )


async def school_with_students(make_school, db, settings, names=("s3", "s4"), **ai_settings):
    school = await make_school(**ai_settings)
    for name in names:
        await add_student(db, settings, school, name)
    return school


async def test_bulk_run_grades_every_submitted_ungraded_submission(client, db, make_school, settings):
    school = await school_with_students(make_school, db, settings, ("s3", "s4", "s5"))
    work = await make_work(
        db, school, {"s": "essay one [[score:0.5]]", "s3": "essay two [[score:1]]", "s4": "graded already"}
    )
    # s4 already has a teacher's grade; s5 only has a draft: neither is sent to the AI
    await teacher_grade(db, school, work, "s4", 7, "final")
    async with db.as_service() as session:
        await session.execute(
            text(
                "insert into public.assignment_submissions (organization_id, class_id, assignment_id, student_id, body) "
                "values (:o, :c, :a, :st, 'draft')"
            ),
            {"o": school.org_id, "c": school.class_id, "a": work.assignment_id, "st": school.people["s5"]},
        )

    response = await start(client, school, work)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/ai-grading-jobs/{job['id']}"
    assert job["total"] == 2 and job["state"] in ("queued", "running", "completed")
    assert {i["submission_id"] for i in job["items"]} == {str(work.submissions["s"]), str(work.submissions["s3"])}

    done = await wait_for_job(client, school.headers["t"], job["id"])
    assert (done["state"], done["total"], done["done"], done["failed"], done["skipped"], done["pending"]) == (
        "completed",
        2,
        2,
        0,
        0,
        0,
    )
    assert done["started_at"] and done["finished_at"]
    points = {}
    for item in done["items"]:
        grade = await grade_of(db, uuid.UUID(item["submission_id"]))
        assert str(grade["id"]) == item["grade_id"] and str(grade["state"]) == "ai_suggested"
        assert str(grade["ai_usage_log_id"]) == item["usage_log_id"] and grade["ai_confidence"] == Decimal("0.9")
        points[item["submission_id"]] = grade["points"]
    assert points == {str(work.submissions["s"]): 5, str(work.submissions["s3"]): 10}
    logs = await rows(
        db,
        "select user_id, feature::text, quality from public.ai_usage_logs where organization_id = :o",
        o=school.org_id,
    )
    assert len(logs) == 2 and all(r["user_id"] == school.people["t"] for r in logs)
    assert all(r["feature"] == "grading_assistance" and r["quality"]["confidence"] == 0.9 for r in logs)
    # the org admin follows it too; a second run finds nothing left to grade
    assert (await client.get(f"/ai-grading-jobs/{job['id']}", headers=school.headers["oa"])).status_code == 200
    again = await start(client, school, work, who="oa")
    assert again.status_code == 202 and (again.json()["total"], again.json()["state"]) == (0, "completed")


async def test_progress_is_visible_and_no_connection_is_held_across_ai_calls(client, db, make_school, settings, gate):
    school = await school_with_students(make_school, db, settings, ("s3",))
    work = await make_work(db, school, {"s": f"slow {gate.tag}", "s3": f"slow too {gate.tag}"})
    job = (await start(client, school, work)).json()
    await gate.wait_held(2)  # both items are at the AI (there are more lanes than items)
    for _ in range(5):
        body = (await client.get(f"/ai-grading-jobs/{job['id']}", headers=school.headers["t"])).json()
        assert body["state"] == "running" and [i["state"] for i in body["items"]] == ["running", "running"]
        assert (body["pending"], body["done"]) == (2, 0)
        idle_in_transaction = await rows(
            db,
            """
            select pid, state, query from pg_stat_activity
            where datname = current_database() and usename = 'authenticator'
              and state like 'idle in transaction%'""",
        )
        assert idle_in_transaction == []
    gate.release()
    done = await wait_for_job(client, school.headers["t"], job["id"])
    assert (done["done"], done["failed"]) == (2, 0)


async def test_bad_answers_fail_their_item_only(client, db, make_school, settings):
    school = await school_with_students(make_school, db, settings, ("s3", "s4"))
    work = await make_work(db, school, {"s": "fine", "s3": "rambling [[reply:prose]]", "s4": "broken [[status:400]]"})
    job = (await start(client, school, work)).json()
    done = await wait_for_job(client, school.headers["t"], job["id"])
    assert (done["state"], done["done"], done["failed"]) == ("completed", 1, 2)
    by_submission = {uuid.UUID(i["submission_id"]): i for i in done["items"]}
    invalid = by_submission[work.submissions["s3"]]
    assert invalid["state"] == "failed" and "did not fit the rubric" in invalid["error"]
    assert invalid["usage_log_id"] and invalid["attempts"] == 1
    rejected = by_submission[work.submissions["s4"]]
    assert rejected["state"] == "failed" and rejected["error"].startswith("422")
    assert await grade_of(db, work.submissions["s3"]) is None and await grade_of(db, work.submissions["s4"]) is None
    assert by_submission[work.submissions["s"]]["state"] == "done"


async def test_budget_denial_stops_the_run(client, db, make_school, settings):
    school = await school_with_students(make_school, db, settings, ("s3", "s4"), monthly_budget_usd=0)
    work = await make_work(db, school, {"s": "a", "s3": "b", "s4": "c"})
    job = (await start(client, school, work)).json()
    done = await wait_for_job(client, school.headers["t"], job["id"])
    assert (done["state"], done["total"], done["done"], done["failed"]) == ("failed", 3, 0, 3)
    assert done["error"].startswith("402") and all(i["error"] == done["error"] for i in done["items"])
    # at most one denial per lane reached the gateway, the rest were failed without calling it
    denials = await rows(
        db, "select status::text from public.ai_usage_logs where organization_id = :o", o=school.org_id
    )
    assert 1 <= len(denials) <= settings.ai_grading_concurrency and {r["status"] for r in denials} == {"over_budget"}


async def test_rate_limited_items_wait_and_then_complete(app, client, db, make_school, settings):
    from tests.ai.support import away_from_minute_edge  # noqa: PLC0415

    school = await school_with_students(make_school, db, settings, ("s3",), rate_limit_per_minute=1)
    work = await make_work(db, school, {"s": "a", "s3": "b"})
    await away_from_minute_edge()
    job = (await start(client, school, work)).json()
    for _ in range(100):
        items = await rows(
            db,
            "select state, error, available_at > now() as waits from public.bulk_grading_job_items where job_id = :j",
            j=job["id"],
        )
        if sorted(i["state"] for i in items) == ["done", "pending"]:
            break
        await asyncio.sleep(0.05)
    waiting = next(i for i in items if i["state"] == "pending")
    assert waiting["waits"] and waiting["error"].startswith("429")
    progress = (await client.get(f"/ai-grading-jobs/{job['id']}", headers=school.headers["t"])).json()
    assert progress["state"] == "running" and progress["pending"] == 1
    # the run comes back by itself when the limit frees; here: lift the limit and let it come back now
    async with db.as_service() as session:
        await session.execute(
            text("update public.ai_organization_settings set rate_limit_per_minute = 60 where organization_id = :o"),
            {"o": school.org_id},
        )
        await session.execute(
            text("update public.bulk_grading_job_items set available_at = now() where job_id = :j"), {"j": job["id"]}
        )
        # the run's task is scheduled for when the minute ends; drop it so the sweep queues it for now
        await session.execute(text("set local search_path = procrastinate, public"))
        await session.execute(
            text("delete from procrastinate.procrastinate_jobs where status = 'todo' and lock = :lock"),
            {"lock": flows.job_lock(job["id"])},
        )
    await flows.sweep(flows.Runtime(app.state.db, app.state.gateway, app.state.jobs, settings))  # wakes a worker
    done = await wait_for_job(client, school.headers["t"], job["id"], timeout=20)
    assert (done["state"], done["done"], done["failed"]) == ("completed", 2, 0)


async def test_access_and_refusals(client, db, make_school, settings, gate):
    school = await school_with_students(make_school, db, settings, ("s3",))
    other = await make_school()
    work = await make_work(db, school, {"s": f"slow {gate.tag}", "s3": f"slow {gate.tag}"})  # running until released
    assert_problem(await start(client, school, work, who="s"), 403, "forbidden")
    assert_problem(await start(client, school, work, who="p"), 403, "forbidden")
    assert_problem(await start(client, other, work), 404, "not-found")
    no_rubric = await make_work(db, school, {}, rubric=False)
    assert_problem(await start(client, school, no_rubric), 422, "rubric-required")
    job = (await start(client, school, work)).json()
    body = assert_problem(await start(client, school, work, who="oa"), 409, "ai-grading-running")
    assert body["job_id"] == job["id"]
    for who, status in (("s", 404), ("p", 404), ("s2", 404)):
        assert_problem(await client.get(f"/ai-grading-jobs/{job['id']}", headers=school.headers[who]), status)
    assert_problem(await client.get(f"/ai-grading-jobs/{job['id']}", headers=other.headers["t"]), 404)
    assert_problem(await client.get(f"/ai-grading-jobs/{uuid.uuid4()}", headers=school.headers["t"]), 404)
    gate.release()
    await wait_for_job(client, school.headers["t"], job["id"])


async def test_a_run_left_by_a_crash_resumes_after_a_restart(client, db, make_school, settings, urls):
    """A server died mid-run: one item done, one leased by the dead worker, one pending, and its
    Procrastinate task still 'doing' under a worker that no longer beats. A restarted server picks
    the run up and finishes it without grading anything twice."""
    school = await school_with_students(make_school, db, settings, ("s3", "s4"))
    work = await make_work(db, school, {"s": "one", "s3": "two", "s4": "three"})
    first = await client.post(f"/submissions/{work.submissions['s']}/ai-grade", headers=school.headers["t"])
    assert first.status_code == 201
    async with db.as_service() as session:
        job_id = await insert_run(session, school, work, 3, "running")
        for who, state, extra in (("s", "done", first.json()["id"]), ("s3", "running", None), ("s4", "pending", None)):
            await session.execute(
                text(
                    "insert into public.bulk_grading_job_items (organization_id, job_id, submission_id, state, attempts, "
                    "lease_until, grade_id) values (:o, :j, :s, :state, :attempts, "
                    "case when :state = 'running' then now() - interval '1 second' end, :g)"
                ),
                {
                    "o": school.org_id,
                    "j": job_id,
                    "s": work.submissions[who],
                    "state": state,
                    "attempts": 0 if state == "pending" else 1,
                    "g": extra,
                },
            )
        await session.execute(text("set local search_path = procrastinate, public"))
        dead_worker = await session.scalar(
            text(
                "insert into procrastinate.procrastinate_workers (last_heartbeat) values (now() - interval '1 hour') "
                "returning id"
            )
        )
        stalled = await session.scalar(
            text(
                "insert into procrastinate.procrastinate_jobs (queue_name, task_name, lock, args, status, worker_id) "
                "values (:q, :task, :lock, cast(:args as jsonb), 'doing', :w) returning id"
            ),
            {
                "q": QUEUE,
                "task": flows.TASK,
                "lock": flows.job_lock(job_id),
                "args": json.dumps({"job_id": str(job_id)}),
                "w": dead_worker,
            },
        )

    restarted = create_app(settings, urls)
    async with restarted.router.lifespan_context(restarted):  # its worker's start-up sweep resumes the run
        done = await wait_for_job(client, school.headers["t"], job_id, timeout=30)
    assert (done["state"], done["done"], done["failed"], done["pending"]) == ("completed", 3, 0, 0)
    for who in ("s3", "s4"):
        item = next(i for i in done["items"] if i["submission_id"] == str(work.submissions[who]))
        grade = await grade_of(db, work.submissions[who])
        assert grade is not None and str(grade["id"]) == item["grade_id"]
    assert (
        next(i for i in done["items"] if i["submission_id"] == str(work.submissions["s"]))["grade_id"]
        == first.json()["id"]
    )
    # one AI call per submission: the one done before the crash was not graded again
    assert len(await rows(db, "select id from public.ai_usage_logs where organization_id = :o", o=school.org_id)) == 3
    (old,) = await rows(db, "select status::text from procrastinate.procrastinate_jobs where id = :i", i=stalled)
    assert old["status"] == "failed"


async def test_queued_runs_survive_a_restart(client, db, make_school, settings, urls):
    """A run queued while no worker runs is done by the next server that starts one."""
    school = await school_with_students(make_school, db, settings, ("s3",))
    work = await make_work(db, school, {"s": "one", "s3": "two"})
    quiet = create_app(settings.model_copy(update={"jobs_worker": False}), urls)
    async with quiet.router.lifespan_context(quiet):
        import httpx  # noqa: PLC0415

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quiet), base_url="http://test") as http:
            response = await http.post(f"/assignments/{work.assignment_id}/ai-grade-all", headers=school.headers["t"])
    assert response.status_code == 202, response.text
    # the app's own worker (started with the suite's app) or a restarted one takes it from the queue
    done = await wait_for_job(client, school.headers["t"], response.json()["id"], timeout=30)
    assert (done["state"], done["done"]) == ("completed", 2)


async def test_work_graded_meanwhile_is_skipped(app, client, db, make_school, settings):
    """A teacher grades a submission after the run was started: its item is skipped, the
    teacher's grade stays, and no AI call is made for it."""
    school = await school_with_students(make_school, db, settings, ("s3",))
    work = await make_work(db, school, {"s": "one", "s3": "two"})
    await teacher_grade(db, school, work, "s3", 8, "final")  # the run below still lists s3 as pending
    async with db.as_service() as session:
        job_id = await insert_run(session, school, work, 2)
        for who in ("s", "s3"):
            await session.execute(
                text(
                    "insert into public.bulk_grading_job_items (organization_id, job_id, submission_id) "
                    "values (:o, :j, :s)"
                ),
                {"o": school.org_id, "j": job_id, "s": work.submissions[who]},
            )
    assert await flows.sweep(flows.Runtime(app.state.db, app.state.gateway, app.state.jobs, settings)) >= 1
    done = await wait_for_job(client, school.headers["t"], job_id)
    assert (done["state"], done["done"], done["skipped"], done["failed"]) == ("completed", 1, 1, 0)
    skipped = next(i for i in done["items"] if i["state"] == "skipped")
    assert skipped["submission_id"] == str(work.submissions["s3"]) and skipped["error"].startswith("409")
    assert (await grade_of(db, work.submissions["s3"]))["points"] == 8
    assert len(await rows(db, "select id from public.ai_usage_logs where organization_id = :o", o=school.org_id)) == 1
