"""Resource portal fixtures: a fresh school per test (``make_school`` of tests/conftest.py: oa, t who
teaches class c with student s, s2 a student not in c, p the parent of s) plus a second teacher
t2, and a small client for the portal's API."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import School, add_person, assert_problem


@dataclass
class Portal:
    """Calls to the portal's API as one of the school's people."""

    client: httpx.AsyncClient
    school: School

    def h(self, who: str) -> dict[str, str]:
        return self.school.headers[who]

    async def call(self, method: str, url: str, who: str, status: int | None = None, **kw: Any) -> httpx.Response:
        headers = {**self.h(who), **kw.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kw)
        if status is not None:
            assert response.status_code == status, response.text
        return response

    async def ok(self, method: str, url: str, who: str, status: int = 200, **kw: Any) -> Any:
        response = await self.call(method, url, who, status, **kw)
        return response.json() if status != 204 else None

    async def problem(self, method: str, url: str, who: str, status: int, kind: str | None = None, **kw: Any) -> dict:
        return assert_problem(await self.call(method, url, who, **kw), status, kind)

    # shortcuts

    async def category(self, name: str, parent: str | None = None, who: str = "oa") -> dict:
        body = {"name": name, "parent_id": parent}
        return await self.ok("POST", f"/organizations/{self.school.org_id}/resource-categories", who, 201, json=body)

    async def resource(self, who: str = "t", **fields: Any) -> dict:
        body = {"title": "Fractions practice", "type": "worksheet", "body": "1/2 + 1/4 = ?", **fields}
        return await self.ok("POST", "/resources", who, 201, json=body)

    async def approved(self, who: str = "t", **fields: Any) -> dict:
        """A resource by ``who``, submitted and approved by the org admin."""
        created = await self.resource(who, state="pending_review", **fields)
        return await self.ok("POST", f"/resources/{created['id']}/approve", "oa", json={"note": "fine"})

    async def search(self, who: str, **params: Any) -> dict:
        return await self.ok("GET", "/resources", who, params=params)


@pytest.fixture
async def school(make_school, db, settings) -> School:
    school = await make_school()
    await add_person(db, settings, school, "t2", "teacher")
    return school


@pytest.fixture
async def portal(client, school) -> Portal:
    return Portal(client, school)


@pytest.fixture
async def other(make_school, client) -> Portal:
    """A second, unrelated school."""
    return Portal(client, await make_school())
