"""Resource links are http(s) URLs only: the API answers anything else with a 422 problem, and
the database refuses it from every other writer."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import sqlstate
from tests.conftest import BROKEN_HTTP_URLS, NOT_HTTP_URLS, service_scalar
from tests.resources.conftest import Portal

# Refused by both the API and the database's check, which looks at the scheme only.
BAD_SCHEMES = NOT_HTTP_URLS
BAD_URLS = [*BAD_SCHEMES, *BROKEN_HTTP_URLS]


async def stored_url(db, resource_id) -> str | None:
    return await service_scalar(db, "select url from public.resources where id = :i", i=resource_id)


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_non_http_link_is_422_on_create(portal: Portal, url):
    body = await portal.problem(
        "POST", "/resources", "t", 422, "validation", json={"title": "Fractions", "type": "link", "url": url}
    )
    assert ["body", "url"] in [e["loc"][:2] for e in body["errors"]], body


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_non_http_link_is_422_on_update(portal: Portal, db, url):
    link = await portal.resource("t", type="link", url="https://example.org/fractions", body=None)
    body = await portal.problem("PATCH", f"/resources/{link['id']}", "t", 422, "validation", json={"url": url})
    assert body["errors"][0]["loc"] == ["body", "url"], body
    assert await stored_url(db, link["id"]) == "https://example.org/fractions"


async def test_http_links_are_kept(portal: Portal):
    for url in ("https://example.org/fractions", "http://example.org/fractions?part=1"):
        assert (await portal.resource("t", type="link", url=url, body=None))["url"] == url


@pytest.mark.parametrize("url", BAD_SCHEMES)
async def test_the_database_refuses_a_non_http_link(portal: Portal, db, url):
    """As service_role, which row-level security does not stop: the check is the last line."""
    link = await portal.resource("t", type="link", url="https://example.org/fractions", body=None)
    with pytest.raises(DBAPIError) as refused:
        async with db.as_service() as session:
            await session.execute(
                text("update public.resources set url = :u where id = :i"), {"u": url, "i": link["id"]}
            )
    assert sqlstate(refused.value) == "23514"
    assert refused.value.orig.diag.constraint_name == "resources_url_check"
    assert await stored_url(db, link["id"]) == "https://example.org/fractions"
