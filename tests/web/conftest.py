"""Fixtures of the page tests: the app served over HTTP and one Chromium for the session."""

from collections.abc import AsyncIterator

import pytest

from schoolbase.app import create_app
from tests.web.browser import require_chromium, served


@pytest.fixture(scope="session")
def live_server(settings, urls) -> str:
    """The app served by uvicorn on a free port, for the browser."""
    with served(create_app(settings, urls)) as base_url:
        yield base_url


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator:
    require_chromium()
    from playwright.async_api import async_playwright  # noqa: PLC0415

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest.fixture
async def browser_page(chromium, live_server):
    """A fresh browser context (no cookies) at desktop size."""
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    page = await context.new_page()
    yield page
    await context.close()
