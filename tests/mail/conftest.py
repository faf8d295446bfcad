"""Mail tests: a real SMTP server in-process (aiosmtpd) and a database of their own.

The suite's shared database is not used here on purpose: every app the other tests
start runs the mail sweep on it, which would deliver (or, with SMTP down, fail) these
tests' messages behind their back, and these tests' drains would take theirs.
"""

import email
import email.policy
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr
from sqlalchemy import text

from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.mail import jobs
from schoolbase.models import PasswordReset
from tests.conftest import Builder, migrated_database, open_database

PUBLIC_URL = "https://school.example.test"
MAIL_FROM = "Maple Grove via Schoolbase <no-reply@mail.example.test>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class Inbox:
    """What the SMTP server accepted; ``refuse`` makes it answer 550 for an address."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret pw", handled=False)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


@contextmanager
def running_smtp(*, login: bool = False, **options) -> Iterator[tuple[Inbox, int]]:
    """(inbox, port) of an SMTP server of its own on 127.0.0.1, stopped on leaving; ``login``
    requires AUTH (checked by ``Inbox.authenticate``), ``options`` go to aiosmtpd's Controller."""
    inbox = Inbox()
    if login:
        options.update(authenticator=inbox.authenticate, auth_required=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="package")
def smtp_server():
    """(inbox, port) of a plain SMTP server on 127.0.0.1."""
    with running_smtp() as running:
        yield running


@pytest.fixture
def inbox(smtp_server) -> Inbox:
    return smtp_server[0]


@pytest.fixture(scope="package")
def mail_owner_url(server_url: str):
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture(scope="package")
def mail_urls(mail_owner_url: str, settings: Settings) -> DatabaseUrls:
    return database_urls(mail_owner_url, settings)


@pytest.fixture(scope="package")
async def mail_database(mail_urls: DatabaseUrls) -> AsyncIterator[Database]:
    async with open_database(mail_urls, max_overflow=10) as database:
        yield database


@pytest.fixture
async def mail_db(mail_database: Database) -> Database:
    """The mail tests' database with an empty outbox: each test drains only its own messages."""
    async with mail_database.as_service() as session:
        await session.execute(text("delete from server.mail_outbox"))
    return mail_database


@pytest.fixture
def mail_settings(settings: Settings, smtp_server) -> Settings:
    """The suite's settings with mail going to the in-process SMTP server."""
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{smtp_server[1]}"),
            "mail_from": MAIL_FROM,
            "public_url": PUBLIC_URL,
            "mail_max_attempts": 3,
        }
    )


class FakeQueue:
    """Stands in for the job queue when a test calls the drain itself: records deferrals."""

    def __init__(self) -> None:
        self.deferred: list[tuple[str, dict]] = []
        self.app = self

    def configure_task(self, name: str, **options):
        deferred = self.deferred

        class Deferrer:
            async def defer_async(self, **kwargs) -> None:
                deferred.append((name, options))

        return Deferrer()


def runtime(db: Database, settings: Settings, **kwargs) -> jobs.Runtime:
    return jobs.Runtime(db, FakeQueue(), settings, **kwargs)


# ---------------------------------------------------------------- data


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_org(db: Database, *, name: str | None = None, time_zone: str = "America/Chicago") -> uuid.UUID:
    async with db.as_service() as session:
        slug = unique("school")
        return await Builder(session, slug).org(name or f"Maple Grove {slug}", slug, time_zone)


async def invite(
    db: Database, org_id: uuid.UUID, *, roles=("parent",), display_name: str | None = "Pat Parent", days: int = 14
) -> tuple[uuid.UUID, str]:
    """An invitation, inserted as the server; its trigger queues the message. (id, email)"""
    address = f"{unique('parent')}@example.org"
    async with db.as_service() as session:
        invitation_id = await session.scalar(
            text(
                "insert into public.invitations (organization_id, email, roles, display_name, expires_at) "
                "values (:org, :email, cast(:roles as public.membership_role[]), :name, :expires) returning id"
            ),
            {
                "org": org_id,
                "email": address,
                "roles": list(roles),
                "name": display_name,
                "expires": datetime.now(UTC) + timedelta(days=days),
            },
        )
    return invitation_id, address


async def person_with_reset(db: Database, *, minutes: int = 60) -> tuple[uuid.UUID, str]:
    """A person and an open password reset, without a message yet. (reset id, email)"""
    async with db.as_service() as session:
        build = Builder(session, uuid.uuid4().hex[:8])
        user, _ = await build.person("person", None, [], "Robin Reset")
        reset = PasswordReset(user_id=user.id, expires_at=datetime.now(UTC) + timedelta(minutes=minutes))
        return await build.added(reset), user.email


async def outbox_rows(db: Database, **where) -> list[dict]:
    clauses = " and ".join(f"{column} = :{column}" for column in where) or "true"
    async with db.as_service() as session:
        result = await session.execute(
            text(f"select * from server.mail_outbox where {clauses} order by created_at, id"), where
        )
        return [dict(row) for row in result.mappings()]
