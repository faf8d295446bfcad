"""`schoolbase mail outbox` in-process against the mail tests' database."""

import asyncio

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import schoolbase.mail.cli as mail_cli
from schoolbase.cli import app
from schoolbase.config import get_settings
from schoolbase.mail import jobs, service
from tests.mail.conftest import PUBLIC_URL, invite, make_org, outbox_rows, runtime

runner = CliRunner()


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def cli(mail_owner_url, monkeypatch):
    """Run the CLI in a thread (it runs its own event loop), without an SMTP server."""
    monkeypatch.setenv("SCHOOLBASE_DATABASE_URL", mail_owner_url)
    monkeypatch.setenv("SCHOOLBASE_PUBLIC_URL", PUBLIC_URL)
    for name in ("SCHOOLBASE_APP_DATABASE_URL", "SCHOOLBASE_SERVICE_DATABASE_URL", "SCHOOLBASE_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(mail_cli.console, "_width", 300)  # no wrapping or truncating of the table
    get_settings.cache_clear()

    async def run(*args: str):
        result = await asyncio.to_thread(runner.invoke, app, ["mail", "outbox", *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    yield run
    get_settings.cache_clear()


async def test_outbox_lists_messages_and_the_links_of_those_delivered_offline(mail_db, mail_settings, cli, monkeypatch):
    org_id = await make_org(mail_db)
    sent_id, sent_to = await invite(mail_db, org_id)
    revoked_id, revoked_to = await invite(mail_db, org_id)
    async with mail_db.as_service() as session:
        await session.execute(
            text("update public.invitations set revoked_at = now() where id = :id"), {"id": revoked_id}
        )
    await jobs.drain(runtime(mail_db, mail_settings.model_copy(update={"smtp_url": None})))
    _, waiting_to = await invite(mail_db, org_id)
    [sent] = await outbox_rows(mail_db, reference_id=sent_id)
    link = service.link_in(sent["text_body"], mail_settings)

    result = await cli()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row_of = {
        to: next(line for line in lines if to in line and "│" in line) for to in (sent_to, revoked_to, waiting_to)
    }
    assert all(c in flat(row_of[sent_to]) for c in ("sent", "invitation", sent["subject"], "│ 1 │"))
    assert "dead" in row_of[revoked_to] and "no longer valid" in row_of[revoked_to]
    assert "pending" in row_of[waiting_to] and "(not rendered yet)" in row_of[waiting_to]
    assert lines.index(row_of[waiting_to]) < lines.index(row_of[sent_to])  # newest first
    assert "were not sent" in flat(result.stdout)
    # The link on a line of its own, unbroken, to copy into a browser.
    assert f"{sent_to}  invitation  {link}" in lines
    assert not any(revoked_to in line and "http" in line for line in lines)

    dead = await cli("--state", "dead")
    assert revoked_to in dead.stdout and sent_to not in dead.stdout and waiting_to not in dead.stdout

    assert link not in (await cli("--no-links")).stdout
    assert len([line for line in (await cli("--limit", "1")).stdout.splitlines() if "@example.org" in line]) == 1

    monkeypatch.setenv("SCHOOLBASE_SMTP_URL", "smtp://mail.example.test")
    get_settings.cache_clear()
    assert link not in (await cli()).stdout  # really sent: the link is the recipient's
    assert link in (await cli("--links")).stdout


async def test_outbox_says_when_there_is_nothing(mail_db, cli):
    result = await cli("--state", "sent")
    assert result.exit_code == 0 and "No sent messages." in result.stdout
    assert "The outbox is empty." in (await cli()).stdout


async def test_outbox_refuses_an_unknown_state(cli):
    result = await cli("--state", "lost")
    assert result.exit_code == 2
