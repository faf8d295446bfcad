"""Draining the outbox through the real database into a real SMTP server (aiosmtpd):
what arrives, that its link works, retries and giving up, and messages that must not go."""

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import text

from schoolbase.mail import jobs, sender, service
from tests.mail.conftest import (
    MAIL_FROM,
    PUBLIC_URL,
    free_port,
    invite,
    make_org,
    outbox_rows,
    person_with_reset,
    runtime,
)


def parts(message) -> dict[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    found = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert list(found) == ["text/plain", "text/html"]
    return found


def token_of(link: str, path: str) -> str:
    split = urlsplit(link)
    assert f"{split.scheme}://{split.netloc}" == PUBLIC_URL and split.path == path
    return parse_qs(split.query)["token"][0]


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def scalar(db, sql: str, **params):
    async with db.as_service() as session:
        return await session.scalar(text(sql), params)


async def make_due(db, message_id) -> None:
    async with db.as_service() as session:
        await session.execute(
            text("update server.mail_outbox set next_attempt_at = now() where id = :id"), {"id": message_id}
        )


# ---------------------------------------------------------------- delivered


async def test_an_invitation_arrives_with_a_working_link(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db, name="Maple Grove Elementary")
    invitation_id, address = await invite(mail_db, org_id)
    [queued] = await outbox_rows(mail_db, reference_id=invitation_id)
    assert (queued["kind"], queued["state"], queued["subject"], queued["to_address"]) == (
        "invitation",
        "pending",
        None,
        address,
    )

    drained = await jobs.drain(runtime(mail_db, mail_settings))
    assert (drained.sent, drained.retrying, drained.dead) == (1, 0, 0)

    [received] = inbox.to(address)
    message = received.message
    assert received.mail_from == "no-reply@mail.example.test" and received.rcpt_tos == [address]
    assert message["To"] == address
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == "Maple Grove Elementary invites you to Schoolbase"
    assert message["Message-ID"] == f"<{queued['id']}@mail.example.test>"
    assert message["Auto-Submitted"] == "auto-generated" and message["Date"]
    body = parts(message)
    assert "Hello Pat Parent," in body["text/plain"] and "as a parent" in body["text/plain"]
    assert "CST" in body["text/plain"] or "CDT" in body["text/plain"]  # the school's time zone
    link = service.link_in(body["text/plain"], mail_settings)
    assert f'<a href="{link}">' in body["text/html"] and '<html lang="en">' in body["text/html"]

    # The link's token is the one the server stored, so accepting will work.
    stored = await scalar(
        mail_db, "select token_hash from server.invitation_tokens where invitation_id = :id", id=invitation_id
    )
    assert sha256(token_of(link, "/accept-invitation")) == stored

    [sent] = await outbox_rows(mail_db, id=queued["id"])
    assert (sent["state"], sent["attempts"], sent["last_error"]) == ("sent", 1, None)
    assert sent["sent_at"] is not None and sent["text_body"] == body["text/plain"].replace("\r\n", "\n")


async def test_a_password_reset_queued_by_the_service_arrives(mail_db, mail_settings, inbox):
    reset_id, address = await person_with_reset(mail_db)
    async with mail_db.as_service() as session:
        message = await service.queue(session, kind="password_reset", reference_id=reset_id, to_address=address)
        assert (message.state, message.attempts, message.subject) == ("pending", 0, None)
        assert message.next_attempt_at is not None and message.organization_id is None

    await jobs.drain(runtime(mail_db, mail_settings))

    [received] = inbox.to(address)
    assert received.message["Subject"] == "Reset your Schoolbase password"
    body = parts(received.message)
    assert "Hello Robin Reset," in body["text/plain"] and "for 60 minutes" in body["text/plain"]
    link = service.link_in(body["text/plain"], mail_settings)
    stored = await scalar(mail_db, "select token_hash from server.password_resets where id = :id", id=reset_id)
    assert sha256(token_of(link, "/reset-password")) == stored
    assert [r["state"] for r in await outbox_rows(mail_db, id=message.id)] == ["sent"]


async def test_queue_refuses_an_unknown_kind(mail_db):
    async with mail_db.as_service() as session:
        with pytest.raises(ValueError, match="unknown message kind"):
            await service.queue(session, kind="newsletter", reference_id=uuid.uuid4(), to_address="x@example.org")


async def test_concurrent_drains_send_each_message_once(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db)
    addresses = [(await invite(mail_db, org_id))[1] for _ in range(6)]
    results = await asyncio.gather(*(jobs.drain(runtime(mail_db, mail_settings)) for _ in range(3)))
    assert sum(r.sent for r in results) == 6
    assert [len(inbox.to(a)) for a in addresses] == [1] * 6
    assert {r["state"] for r in await outbox_rows(mail_db)} == {"sent"}


# ---------------------------------------------------------------- not delivered


async def test_an_invitation_revoked_before_delivery_is_not_sent(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)
    async with mail_db.as_service() as session:
        await session.execute(
            text("update public.invitations set revoked_at = now() where id = :id"), {"id": invitation_id}
        )

    drained = await jobs.drain(runtime(mail_db, mail_settings))

    assert (drained.sent, drained.dead) == (0, 1)
    assert inbox.to(address) == []
    [dead] = await outbox_rows(mail_db, reference_id=invitation_id)
    assert dead["state"] == "dead" and dead["last_error"].startswith("no longer valid")
    assert dead["subject"] is None and dead["sent_at"] is None
    assert (
        await scalar(
            mail_db, "select count(*) from server.invitation_tokens where invitation_id = :id", id=invitation_id
        )
        == 0
    )


async def test_a_resent_invitation_goes_out_once_with_the_newest_link(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)
    async with mail_db.as_service() as session:
        # "Send again" before the first went out; the trigger queues at most one a minute.
        await session.execute(
            text(
                "update server.mail_outbox set created_at = created_at - interval '2 minutes' where reference_id = :id"
            ),
            {"id": invitation_id},
        )
        await session.execute(
            text("update public.invitations set sent_at = now() where id = :id"), {"id": invitation_id}
        )
    older, newer = await outbox_rows(mail_db, reference_id=invitation_id)

    await jobs.drain(runtime(mail_db, mail_settings))

    [received] = inbox.to(address)
    assert received.message["Message-ID"] == f"<{newer['id']}@mail.example.test>"
    link = service.link_in(parts(received.message)["text/plain"], mail_settings)
    stored = await scalar(
        mail_db, "select token_hash from server.invitation_tokens where invitation_id = :id", id=invitation_id
    )
    assert sha256(token_of(link, "/accept-invitation")) == stored
    states = {r["id"]: (r["state"], r["last_error"]) for r in await outbox_rows(mail_db, reference_id=invitation_id)}
    assert states[newer["id"]] == ("sent", None)
    assert states[older["id"]] == ("dead", service.SUPERSEDED)


async def test_an_address_the_server_refuses_is_given_up_at_once(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)
    inbox.refuse.add(address)
    _, other = await invite(mail_db, org_id)  # the next message still goes out

    drained = await jobs.drain(runtime(mail_db, mail_settings))

    assert (drained.sent, drained.dead) == (1, 1)
    [refused] = await outbox_rows(mail_db, reference_id=invitation_id)
    assert (refused["state"], refused["attempts"]) == ("dead", 1)
    assert "refused the address: 550" in refused["last_error"]
    assert inbox.to(address) == [] and len(inbox.to(other)) == 1


# ---------------------------------------------------------------- retries


async def test_smtp_down_retries_later_then_gives_up(mail_db, mail_settings):
    down = mail_settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{free_port()}")})
    org_id = await make_org(mail_db)
    invitation_id, _ = await invite(mail_db, org_id)
    _, _ = await invite(mail_db, org_id)
    first = runtime(mail_db, down)

    started = time.monotonic()
    drained = await jobs.drain(first)
    assert time.monotonic() - started < 5
    assert (drained.sent, drained.retrying, drained.dead) == (0, 2, 0)
    rows = await outbox_rows(mail_db)
    assert {r["state"] for r in rows} == {"pending"} and {r["attempts"] for r in rows} == {1}
    assert all(r["last_error"].startswith("could not connect to the mail server 127.0.0.1:") for r in rows)
    now = datetime.now(UTC)
    for row in rows:
        assert now + timedelta(seconds=20) < row["next_attempt_at"] < now + timedelta(seconds=31)
    # It comes back by itself when the first retry is due, under a queueing lock of its own.
    [(task, options)] = first.queue.deferred
    assert task == jobs.TASK and options["queueing_lock"] == jobs.RETRY_LOCK and "lock" not in options
    assert options["schedule_at"] == min(r["next_attempt_at"] for r in rows)
    # The rendering (and the token) stays for the retries.
    [row] = [r for r in rows if r["reference_id"] == invitation_id]
    assert row["subject"] is not None and row["text_body"] is not None

    # Nothing is due yet: a drain now leaves them alone.
    assert await jobs.drain(runtime(mail_db, down)) == jobs.Drained()

    await make_due(mail_db, row["id"])
    await jobs.drain(runtime(mail_db, down))
    [row] = await outbox_rows(mail_db, id=row["id"])
    assert (row["state"], row["attempts"]) == ("pending", 2)
    now = datetime.now(UTC)
    assert now + timedelta(seconds=50) < row["next_attempt_at"] < now + timedelta(seconds=61)

    await make_due(mail_db, row["id"])
    drained = await jobs.drain(runtime(mail_db, down))  # mail_max_attempts = 3
    assert drained.dead == 1
    [row] = await outbox_rows(mail_db, id=row["id"])
    assert (row["state"], row["attempts"], row["sent_at"]) == ("dead", 3, None)
    assert row["last_error"].startswith("could not connect")


async def test_a_message_that_cannot_be_rendered_is_retried_not_stuck(mail_db, mail_settings, inbox, monkeypatch):
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(service, "render", broken)
    drained = await jobs.drain(runtime(mail_db, mail_settings))
    assert drained.retrying == 1
    [row] = await outbox_rows(mail_db, reference_id=invitation_id)
    assert (row["state"], row["attempts"], row["subject"]) == ("pending", 1, None)
    assert row["last_error"] == "could not render the message: template exploded"
    # The token minted in the failed transaction was rolled back with it.
    assert (
        await scalar(
            mail_db, "select count(*) from server.invitation_tokens where invitation_id = :id", id=invitation_id
        )
        == 0
    )

    monkeypatch.undo()
    await make_due(mail_db, row["id"])
    await jobs.drain(runtime(mail_db, mail_settings))
    assert len(inbox.to(address)) == 1


async def test_a_message_claimed_by_a_worker_that_died_is_sent_after_its_lease(mail_db, mail_settings, inbox):
    org_id = await make_org(mail_db)
    _, address = await invite(mail_db, org_id)
    async with mail_db.as_service() as session:  # what a worker that died mid-send leaves behind
        [message] = await service.pending_due(session, 10)
        assert await service.prepare(session, mail_settings, message)
        message_id = message.id
    assert await jobs.drain(runtime(mail_db, mail_settings)) == jobs.Drained()  # leased: left alone
    assert inbox.to(address) == []

    await make_due(mail_db, message_id)  # the lease ran out
    await jobs.drain(runtime(mail_db, mail_settings))
    assert len(inbox.to(address)) == 1


# ---------------------------------------------------------------- offline


async def test_without_smtp_each_message_is_logged_with_its_link_and_kept(mail_db, mail_settings, monkeypatch):
    offline = mail_settings.model_copy(update={"smtp_url": None})
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)
    with structlog.testing.capture_logs() as logs:
        # A fresh logger: one cached by an earlier structlog configuration would bypass the capture.
        monkeypatch.setattr(sender, "log", structlog.get_logger("schoolbase.mail"))
        drained = await jobs.drain(runtime(mail_db, offline))

    assert drained.sent == 1
    [line] = [entry for entry in logs if entry["event"] == "mail.offline_delivery"]
    [row] = await outbox_rows(mail_db, reference_id=invitation_id)
    assert (line["to"], line["subject"], line["message_id"]) == (address, row["subject"], str(row["id"]))
    assert line["link"] == service.link_in(row["text_body"], offline)
    assert line["link"].startswith(f"{PUBLIC_URL}/accept-invitation?token=")
    stored = await scalar(
        mail_db, "select token_hash from server.invitation_tokens where invitation_id = :id", id=invitation_id
    )
    assert sha256(token_of(line["link"], "/accept-invitation")) == stored
    assert row["state"] == "sent" and row["html_body"]
