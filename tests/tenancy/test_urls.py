"""Avatars are http(s) URLs only: the API answers anything else with a 422 problem, and the
database refuses it from every other writer."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import sqlstate
from tests.conftest import BROKEN_HTTP_URLS, NOT_HTTP_URLS, assert_problem, service_scalar

# Refused by both the API and the database's check, which looks at the scheme only.
BAD_SCHEMES = [*NOT_HTTP_URLS, " javascript:alert(1)"]
BAD_URLS = [*BAD_SCHEMES, *BROKEN_HTTP_URLS]


async def avatar(db, user_id) -> str | None:
    return await service_scalar(db, "select avatar_url from public.users where id = :i", i=user_id)


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_non_http_avatar_is_422(client, db, make_school, url):
    school = await make_school()
    for path, who in (("/me", "t"), (f"/users/{school.people['t']}", "t")):
        response = await client.patch(path, json={"avatar_url": url}, headers=school.headers[who])
        body = assert_problem(response, 422, "validation")
        assert body["errors"][0]["loc"] == ["body", "avatar_url"], body
    assert await avatar(db, school.people["t"]) is None


async def test_an_http_avatar_is_kept_and_null_removes_it(client, db, make_school):
    school = await make_school()
    me = school.headers["t"]
    for url in ("https://example.org/a.png", "http://example.org/a.png?size=64"):
        response = await client.patch("/me", json={"avatar_url": url}, headers=me)
        assert response.status_code == 200, response.text
        assert response.json()["avatar_url"] == url
    assert await avatar(db, school.people["t"]) == "http://example.org/a.png?size=64"
    response = await client.patch("/me", json={"avatar_url": None}, headers=me)
    assert response.status_code == 200, response.text
    assert await avatar(db, school.people["t"]) is None


@pytest.mark.parametrize("url", BAD_SCHEMES)
async def test_the_database_refuses_a_non_http_avatar(db, make_school, url):
    """As service_role, which row-level security does not stop: the check is the last line."""
    school = await make_school()
    with pytest.raises(DBAPIError) as refused:
        async with db.as_service() as session:
            await session.execute(
                text("update public.users set avatar_url = :u where id = :i"), {"u": url, "i": school.people["t"]}
            )
    assert sqlstate(refused.value) == "23514"
    assert refused.value.orig.diag.constraint_name == "users_avatar_url_http"
    assert await avatar(db, school.people["t"]) is None
