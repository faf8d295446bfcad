"""/metrics is served only to a scraper holding the metrics token, and not at all without one."""

import httpx
import pytest
from pydantic import SecretStr

from schoolbase.app import create_app
from tests.conftest import assert_problem

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture(scope="module")
async def metrics_client(settings, urls):
    """A second app with a metrics token; its own worker stays off so it never takes the suite's jobs."""
    configured = settings.model_copy(update={"metrics_token": SecretStr(TOKEN), "jobs_worker": False})
    application = create_app(configured, urls)
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        yield http


async def test_metrics_with_the_token_are_served(metrics_client):
    await metrics_client.get("/healthz")
    response = await metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert 'schoolbase_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    # the scheme is case-insensitive (RFC 9110)
    lower = await metrics_client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status_code == 200, lower.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer tökén".encode(),
    ],
)
async def test_metrics_without_the_right_token_are_401(metrics_client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await metrics_client.get("/metrics", headers=headers)
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "schoolbase_http_requests_total" not in response.text
    assert TOKEN not in body["detail"]


@pytest.mark.parametrize("token", [None, ""])
async def test_metrics_without_a_configured_token_are_not_served(settings, urls, token):
    """Unset (the suite's own settings) or empty: an empty token must not let an empty bearer in."""
    configured = settings.model_copy(
        update={"metrics_token": None if token is None else SecretStr(token), "jobs_worker": False}
    )
    application = create_app(configured, urls)
    # No lifespan: /metrics answers before any database work.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as http:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
            response = await http.get("/metrics", headers=headers)
            assert_problem(response, 404, "not-found")


async def test_the_suites_app_does_not_serve_metrics(client):
    assert_problem(await client.get("/metrics"), 404, "not-found")
