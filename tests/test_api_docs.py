"""/docs and /redoc work offline: every asset they load is served by the app itself."""

import re

import httpx
import pytest

from schoolbase.app import create_app


@pytest.fixture
async def http(settings):
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://school.test") as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_docs_load_only_from_the_app(http, page):
    response = await http.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        served = await http.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
    assert "/openapi.json" in response.text
