"""Database fixtures. Every test talks to a real PostgreSQL through the server's own
login role (``authenticator``): the server at SCHOOLBASE_DATABASE_URL when set, else
an embedded server in a temporary directory. Either way the suite gets a fresh
database of its own, migrated to head, and drops it at the end."""

import asyncio
import inspect
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text, update

from schoolbase.ai.providers.local_upstream import serve_local_upstream
from schoolbase.app import create_app
from schoolbase.auth.passwords import hash_password
from schoolbase.auth.service import Client, start_session
from schoolbase.config import Settings
from schoolbase.db import migrate
from schoolbase.db.embedded import start_embedded
from schoolbase.db.engine import Database
from schoolbase.db.rls import (
    ANONYMOUS,
    SERVICE,
    DbIdentity,
    apply_identity,
    user_identity,
)
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.mail.service import link_in
from schoolbase.models import (
    AiOrganizationSettings,
    Class,
    Enrollment,
    Guardianship,
    Membership,
    MembershipRole,
    Organization,
    User,
)
from schoolbase.tenancy.people import create_person

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def server_url() -> str:
    """Owner URL of the PostgreSQL server the suite uses."""
    configured = os.environ.get("SCHOOLBASE_DATABASE_URL")
    if configured:
        return configured
    return start_embedded(Path(tempfile.mkdtemp(prefix="schoolbase-test-")) / "pgdata", temporary=True)


@contextmanager
def migrated_database(server_url: str) -> Iterator[str]:
    """Owner URL of a new database of its own on the server, migrated to head; dropped on leaving."""
    with migrate.scratch_database(server_url) as url:
        migrate.upgrade(url)
        yield url


@asynccontextmanager
async def open_database(urls: DatabaseUrls, *, pool_size: int = 5, max_overflow: int = 30) -> AsyncIterator[Database]:
    """A ``Database`` on ``urls``, disposed on leaving."""
    database = Database(urls, pool_size=pool_size, max_overflow=max_overflow)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def owner_url(server_url: str) -> str:
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def upstream():
    """A local server speaking Anthropic's Messages API; yields (base_url, LocalUpstream)."""
    with serve_local_upstream() as running:
        yield running


@pytest.fixture
def gate(upstream):
    """A hold of this test's own in the local upstream: calls whose prompt carries ``gate.tag``
    wait until ``gate.release()`` (or the test's end)."""
    with upstream[1].hold(uuid.uuid4().hex[:12]) as held:
        yield held


@pytest.fixture(scope="session")
def settings(upstream, tmp_path_factory) -> Settings:
    return Settings(
        database_url=None,
        ai_provider="anthropic",
        anthropic_api_key="test-key",
        anthropic_base_url=upstream[0],
        ai_max_retries=0,
        ai_timeout_seconds=10,
        jwt_secret="test-secret-0123456789abcdef0123456789abcdef",
        login_max_failures_per_account=5,
        login_max_failures_per_address=50,
        pool_size=5,
        pool_max_overflow=30,
        storage_dir=tmp_path_factory.mktemp("files"),
    )


@pytest.fixture(scope="session")
def urls(owner_url: str, settings: Settings) -> DatabaseUrls:
    return database_urls(owner_url, settings)


@pytest.fixture(scope="session")
async def db(urls: DatabaseUrls) -> AsyncIterator[Database]:
    async with open_database(urls) as database:
        yield database


@asynccontextmanager
async def rolled_back(db: Database, identity: DbIdentity):
    """A transaction as ``identity`` that is always rolled back: for probing what a role may do."""
    async with db.session_for(identity) as session:
        await session.begin()
        try:
            await apply_identity(session, identity)
            yield session
        finally:
            await session.rollback()


@dataclass
class World:
    """Two organizations with every kind of person. Names are the roles of ACCESS.md."""

    users: dict[str, uuid.UUID] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    orgs: dict[str, uuid.UUID] = field(default_factory=dict)
    classes: dict[str, uuid.UUID] = field(default_factory=dict)
    enrollments: dict[str, uuid.UUID] = field(default_factory=dict)
    guardianships: dict[str, uuid.UUID] = field(default_factory=dict)
    memberships: dict[str, uuid.UUID] = field(default_factory=dict)

    def identity(self, who: str) -> DbIdentity:
        if who == "anon":
            return ANONYMOUS
        if who == "service":
            return SERVICE
        return user_identity(self.users[who])


# people: name -> (org, roles); sa has no membership at all.
PEOPLE = {
    "sa": (None, []),
    "oa": ("A", ["org_admin"]),
    "t1": ("A", ["teacher"]),
    "t2": ("A", ["teacher"]),
    "s1": ("A", ["student"]),
    "s2": ("A", ["student"]),
    "p1": ("A", ["parent"]),
    "p2": ("A", ["parent"]),
    "oaB": ("B", ["org_admin"]),
    "tB": ("B", ["teacher"]),
    "sB": ("B", ["student"]),
    "pB": ("B", ["parent"]),
}
# class -> (org, teachers, students); c3 is shared by t1 and t2 (co-teachers) and has no students.
CLASSES = {
    "c1": ("A", ["t1"], ["s1"]),
    "c2": ("A", ["t2"], ["s2"]),
    "c3": ("A", ["t1", "t2"], []),
    "cB": ("B", ["tB"], ["sB"]),
}
CHILDREN = {"p1": ("A", "s1"), "p2": ("A", "s2"), "pB": ("B", "sB")}


class Builder:
    """Adds organizations, people, classes and guardians as service_role, in one session: the
    one way tests build schools (``world``, ``make_school`` and the people added later)."""

    def __init__(self, session, tag: str, password_hash: str = "unused-hash") -> None:
        self.session, self.tag, self.password_hash = session, tag, password_hash

    async def added(self, row) -> uuid.UUID:
        """Adds any row (one the methods below do not make) and returns its id."""
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def org(self, name: str, slug: str, time_zone: str) -> uuid.UUID:
        return await self.added(Organization(name=name, slug=slug, time_zone=time_zone))

    async def person(
        self, who: str, org_id: uuid.UUID | None, roles, display_name: str, super_admin: bool = False
    ) -> tuple[User, dict[str, uuid.UUID]]:
        """``who``'s account (email ``who-tag@example.org``) and a membership id per role."""
        email = f"{who}-{self.tag}@example.org"
        user = await create_person(self.session, email, display_name, self.password_hash, super_admin=super_admin)
        memberships = {}
        for role in roles:
            row = Membership(organization_id=org_id, user_id=user.id, role=MembershipRole(role))
            memberships[role] = await self.added(row)
        return user, memberships

    async def klass(self, org_id: uuid.UUID, name: str, **fields) -> uuid.UUID:
        return await self.added(Class(organization_id=org_id, name=name, **fields))

    async def enroll(self, org_id: uuid.UUID, class_id: uuid.UUID, user_id: uuid.UUID, role: str) -> uuid.UUID:
        row = Enrollment(organization_id=org_id, class_id=class_id, user_id=user_id, role=MembershipRole(role))
        return await self.added(row)

    async def guardian(self, org_id: uuid.UUID, parent_id: uuid.UUID, student_id: uuid.UUID) -> uuid.UUID:
        return await self.added(Guardianship(organization_id=org_id, parent_id=parent_id, student_id=student_id))


async def build_world(session, tag: str) -> World:
    world = World()
    build = Builder(session, tag, await hash_password(PASSWORD))
    for key in ("A", "B"):
        world.orgs[key] = await build.org(f"School {key} {tag}", f"school-{key.lower()}-{tag}", "America/Chicago")
    for who, (org_key, roles) in PEOPLE.items():
        org_id = world.orgs[org_key] if org_key else None
        user, memberships = await build.person(who, org_id, roles, f"Person {who}", super_admin=who == "sa")
        world.users[who], world.emails[who] = user.id, user.email
        world.memberships.update({f"{who}:{role}": id_ for role, id_ in memberships.items()})
    for name, (org_key, teachers, students) in CLASSES.items():
        org_id = world.orgs[org_key]
        world.classes[name] = await build.klass(org_id, f"Class {name}", subject="Math", term="2026")
        for role, people in (("teacher", teachers), ("student", students)):
            for who in people:
                enrollment = await build.enroll(org_id, world.classes[name], world.users[who], role)
                world.enrollments[f"{name}:{who}"] = enrollment
    for parent, (org_key, child) in CHILDREN.items():
        org_id = world.orgs[org_key]
        world.guardianships[parent] = await build.guardian(org_id, world.users[parent], world.users[child])
    return world


@pytest.fixture(scope="session")
async def world(db: Database) -> World:
    async with db.as_service() as session:
        return await build_world(session, "w")


# make_school's people: name -> roles; "t" teaches class c with student "s"; "s2" is a student
# not in c; "p" is s's parent.
SCHOOL_PEOPLE = {"oa": ["org_admin"], "t": ["teacher"], "s": ["student"], "s2": ["student"], "p": ["parent"]}


@dataclass
class School:
    """A fresh organization of one test, its people (with minted tokens) and its class."""

    org_id: uuid.UUID
    time_zone: str
    class_id: uuid.UUID | None = None
    people: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture
def make_school(db, settings):
    """``await make_school(time_zone=..., **ai_settings)`` → a School with its own people and AI settings."""

    async def make(time_zone: str = "UTC", **ai_settings) -> School:
        tag = uuid.uuid4().hex[:10]
        async with db.as_service() as session:
            build = Builder(session, tag)
            school = School(await build.org(f"AI School {tag}", f"ai-{tag}", time_zone), time_zone)
            for name, roles in SCHOOL_PEOPLE.items():
                user, _ = await build.person(name, school.org_id, roles, f"{name} {tag}")
                school.people[name] = user.id
            school.class_id = await build.klass(school.org_id, "AI class")
            for who, role in (("t", "teacher"), ("s", "student")):
                await build.enroll(school.org_id, school.class_id, school.people[who], role)
            await build.guardian(school.org_id, school.people["p"], school.people["s"])
            if ai_settings:
                await session.execute(
                    update(AiOrganizationSettings)
                    .where(AiOrganizationSettings.organization_id == school.org_id)
                    .values(**ai_settings)
                )
        for name, user_id in school.people.items():
            school.headers[name] = await signed_in(db, settings, user_id)
        return school

    return make


async def add_person(db, settings, school: School, name: str, role: str, *, enrolled: bool = False) -> uuid.UUID:
    """One more member of ``school`` (enrolled in its class if ``enrolled``), with a minted token."""
    tag = uuid.uuid4().hex[:10]
    async with db.as_service() as session:
        build = Builder(session, tag)
        user, _ = await build.person(name, school.org_id, [role], f"{name} {tag}")
        if enrolled:
            await build.enroll(school.org_id, school.class_id, user.id, role)
    school.people[name] = user.id
    school.headers[name] = await signed_in(db, settings, user.id)
    return user.id


async def new_person(db, who: str = "person", password: str = PASSWORD) -> tuple[uuid.UUID, str]:
    """A person of the test's own with a password and no membership: (id, email)."""
    async with db.as_service() as session:
        build = Builder(session, uuid.uuid4().hex[:10], await hash_password(password))
        user, _ = await build.person(who, None, [], f"Person {who}")
    return user.id, user.email


async def add_student(db, settings, school: School, name: str) -> uuid.UUID:
    """One more student of ``school``, enrolled in its class."""
    return await add_person(db, settings, school, name, "student", enrolled=True)


@pytest.fixture(scope="session")
async def app(settings: Settings, urls: DatabaseUrls):
    application = create_app(settings, urls)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(f"10.{uuid.uuid4().int % 250}.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def signed_in(db: Database, settings: Settings, user_id: uuid.UUID) -> dict[str, str]:
    """Authorization headers for a new session of ``user_id``, without checking a password:
    argon2 per person would make every test school cost seconds. Signing in with a password
    is tested in tests/auth."""
    async with db.as_service() as session:
        user = await session.get(User, user_id)
        pair = await start_session(session, settings, user, Client("127.0.0.1", "tests"))
    return {"Authorization": f"Bearer {pair.access_token}"}


async def service_scalar(db: Database, sql: str, **params):
    """The first value ``sql`` returns (or None), read as service_role."""
    async with db.as_service() as session:
        return await session.scalar(text(sql), params)


async def eventually(condition, what: str, timeout: float = 30.0):
    """Wait until ``condition()`` (sync or async) is truthy, and return it: for a state another
    task or process reaches, never for a set time. Fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.01)


async def wait_for_lock(db: Database, pid: int) -> None:
    """Return once the backend ``pid`` waits for a lock another transaction holds."""

    async def waiting() -> bool:
        async with db.as_service() as session:
            query = text("select exists (select 1 from pg_locks where pid = :pid and not granted)")
            return await session.scalar(query, {"pid": pid})

    await eventually(waiting, f"backend {pid} waits for a lock")


async def emailed_token(db: Database, settings: Settings, reference_id, timeout: float = 20.0) -> str:
    """The token in the newest message about ``reference_id`` (an invitation or a reset), once
    the app's mail worker has rendered it: the link a person would follow."""

    async def rendered() -> str | None:
        async with db.as_service() as session:
            body = await session.scalar(
                text(
                    "select text_body from server.mail_outbox where reference_id = :id and text_body is not null"
                    " and state <> 'dead' order by created_at desc limit 1"
                ),
                {"id": reference_id},
            )
        return link_in(body, settings)

    link = await eventually(rendered, f"a rendered message about {reference_id}", timeout)
    return parse_qs(urlsplit(link).query)["token"][0]


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for ``email``."""
    response = await client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# Values an http(s)-only URL field refuses (API and database): other schemes, none, and
# whitespace inside.
NOT_HTTP_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/png;base64,iVBORw0KGgo=",
    "file:///etc/passwd",
    "ftp://example.org/worksheet.pdf",
    "example.org/worksheet",
    "//example.org/worksheet",
    "",
]
BROKEN_HTTP_URLS = ["https://example.org/a b", "https://example.org/\nhttps://x"]


PROBLEM_TYPE = "https://schoolbase.dev/problems/"


def assert_problem(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    """An RFC 9457 problem document with the given status (and type); never a 500."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_TYPE)
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if kind is not None:
        assert body["type"] == PROBLEM_TYPE + kind, body
    return body
