"""Delivery by the app's own Procrastinate worker: kicks collapse; neither a retry waiting
for later nor a drain a dead worker left "doing" holds back a kick; a failed message
brings the job back when it is due."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from schoolbase.app import create_app
from schoolbase.jobs import QUEUE
from schoolbase.mail import jobs
from tests.mail.conftest import free_port, invite, make_org, outbox_rows


async def procrastinate(db, sql: str, **params):
    async with db.as_service() as session:
        # Procrastinate's triggers name its tables without their schema.
        await session.execute(text("set local search_path = procrastinate"))
        return (await session.execute(text(sql), params)).mappings().all()


@pytest.fixture
async def no_mail_jobs(mail_db):
    await procrastinate(mail_db, "delete from procrastinate_jobs where task_name like 'schoolbase.mail.%' returning id")
    return mail_db


async def mail_jobs(db) -> list[dict]:
    rows = await procrastinate(
        db,
        "select lock, queueing_lock, status::text, scheduled_at from procrastinate_jobs "
        "where task_name = :task order by id",
        task=jobs.TASK,
    )
    return [dict(r) for r in rows]


async def eventually(check, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def delivered_by_the_worker(settings, urls, inbox, address) -> list:
    async def arrived():
        return inbox.to(address)

    app = create_app(settings, urls)
    async with app.router.lifespan_context(app):
        return await eventually(arrived)


async def test_kicks_collapse_while_one_waits(mail_settings, mail_urls, no_mail_jobs):
    quiet = create_app(mail_settings.model_copy(update={"jobs_worker": False}), mail_urls)
    async with quiet.router.lifespan_context(quiet):
        for _ in range(3):
            await jobs.kick(quiet.state.jobs)
    assert [(j["lock"], j["queueing_lock"], j["status"]) for j in await mail_jobs(no_mail_jobs)] == [
        (None, jobs.KICK_LOCK, "todo")
    ]


async def test_a_retry_waiting_for_later_does_not_hold_back_a_kick(mail_settings, mail_urls, no_mail_jobs, inbox):
    db = no_mail_jobs
    _, address = await invite(db, await make_org(db))
    quiet = create_app(mail_settings.model_copy(update={"jobs_worker": False}), mail_urls)
    async with quiet.router.lifespan_context(quiet):
        later = datetime.now(UTC) + timedelta(hours=1)
        await quiet.state.jobs.app.configure_task(
            jobs.TASK, queue=QUEUE, queueing_lock=jobs.RETRY_LOCK, schedule_at=later
        ).defer_async()
        await jobs.kick(quiet.state.jobs)
    assert len(await mail_jobs(db)) == 2

    assert len(await delivered_by_the_worker(mail_settings, mail_urls, inbox, address)) == 1
    [row] = await outbox_rows(db, to_address=address)
    assert row["state"] == "sent"


async def test_a_drain_left_doing_by_a_dead_worker_does_not_hold_back_a_kick(
    mail_settings, mail_urls, no_mail_jobs, inbox
):
    db = no_mail_jobs
    app = create_app(mail_settings, mail_urls)
    async with app.router.lifespan_context(app):
        # After start-up (whose sweeps clear stalled jobs): a crash elsewhere leaves a drain "doing".
        [dead_worker] = await procrastinate(
            db, "insert into procrastinate_workers (last_heartbeat) values (now() - interval '1 hour') returning id"
        )
        await procrastinate(
            db,
            "insert into procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args, status, worker_id) "
            "values (:queue, :task, :lock, :lock, '{}', 'doing', :worker) returning id",
            queue=QUEUE,
            task=jobs.TASK,
            lock=jobs.KICK_LOCK,
            worker=dead_worker["id"],
        )
        _, address = await invite(db, await make_org(db))
        await jobs.kick(app.state.jobs)

        async def arrived():
            return inbox.to(address)

        assert len(await eventually(arrived, timeout=5)) == 1


async def test_a_failed_message_brings_the_job_back_when_it_is_due(mail_settings, mail_urls, no_mail_jobs):
    db = no_mail_jobs
    down = mail_settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{free_port()}")})
    _, address = await invite(db, await make_org(db))

    async def failed_once():
        rows = await outbox_rows(db, to_address=address)
        return rows if rows and rows[0]["attempts"] == 1 else None

    async def retry_waits():
        return [j for j in await mail_jobs(db) if j["queueing_lock"] == jobs.RETRY_LOCK and j["status"] == "todo"]

    app = create_app(down, mail_urls)
    async with app.router.lifespan_context(app):  # the worker's start-up kick drains
        failed = await eventually(failed_once)
        retry = await eventually(retry_waits)
    assert failed and retry, (failed, retry)
    [row], [job] = failed, retry
    assert row["state"] == "pending" and row["last_error"].startswith("could not connect")
    assert job["lock"] is None and job["scheduled_at"] == row["next_attempt_at"]


async def test_a_malformed_smtp_url_stops_the_server_at_start(mail_settings, mail_urls):
    broken = create_app(
        mail_settings.model_copy(update={"smtp_url": SecretStr("smtp://u:hunter2@host:99999")}), mail_urls
    )
    with pytest.raises(ValueError, match="SCHOOLBASE_SMTP_URL: Port out of range") as raised:
        async with broken.router.lifespan_context(broken):
            pass
    assert "hunter2" not in str(raised.value)
