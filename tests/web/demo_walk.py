"""Walking the demo as its people: every page reachable by links from where each role lands,
checked by axe-core, and the README's screenshots, made with the same tooling.

    .venv/bin/python -m tests.web.demo_walk docs/screenshots

takes the screenshots on a fresh database (``SCHOOLBASE_DATABASE_URL``'s server, or an
embedded PostgreSQL) with the demo loaded.
"""

import asyncio
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from schoolbase.app import create_app
from schoolbase.config import Settings, get_settings
from schoolbase.db.urls import database_urls
from schoolbase.tenancy.demo import DEMO_PASSWORD, demo_email
from schoolbase.tenancy.demo import SUPER_ADMIN as SUPER_ADMIN_LOGIN
from schoolbase.tenancy.flows import load_demo
from tests.conftest import migrated_database, open_database
from tests.web.browser import DESKTOP, PHONE, check_accessible, served, sign_in

TEACHER = demo_email("maple-grove", "ada")
STUDENT = demo_email("maple-grove", "grace")
PARENT = demo_email("maple-grove", "pat")
PARENT_OF_TWO = demo_email("maple-grove", "kim")
ADMIN = demo_email("maple-grove", "admin")
SUPER_ADMIN = SUPER_ADMIN_LOGIN[0]
# Links that change something or leave the pages: never followed by a walk.
NOT_WALKED = ("/sign-out", ".csv", "/static/", "/docs", "/redoc", "/file")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@asynccontextmanager
async def demo_site(server_url: str, settings: Settings) -> AsyncIterator[str]:
    """The app on a fresh database with the demo loaded; its base URL."""
    with migrated_database(server_url) as owner:
        urls = database_urls(owner, settings)
        async with open_database(urls) as db:
            await load_demo(db, settings)
        with served(create_app(settings, urls)) as base_url:
            yield base_url


@asynccontextmanager
async def person(chromium, base_url: str, login: str, viewport: dict, scale: float = 1) -> AsyncIterator:
    context = await chromium.new_context(viewport=viewport, base_url=base_url, device_scale_factor=scale)
    page = await context.new_page()
    await sign_in(page, base_url, login, DEMO_PASSWORD)
    try:
        yield page
    finally:
        await context.close()


def kind_of(url: str) -> str:
    """A page's kind: its path with every id in it replaced (one class page stands for all)."""
    return ID.sub("{id}", urlsplit(url).path)


async def walk(page, base_url: str, limit: int = 60) -> list[str]:
    """One page of every kind reachable by links from where ``page`` is, each checked by axe."""
    walked, queue, kinds = [], [page.url], {kind_of(page.url)}
    while queue and len(walked) < limit:
        url = queue.pop(0)
        response = await page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        await check_accessible(page, url)
        walked.append(kind_of(url))
        for href in await page.eval_on_selector_all("main a[href], header a[href]", "links => links.map(a => a.href)"):
            target = urldefrag(urljoin(url, href)).url
            kind = kind_of(target)
            if target.startswith(base_url) and kind not in kinds and not any(p in kind for p in NOT_WALKED):
                kinds.add(kind)
                queue.append(target)
    return walked


async def screenshots(chromium, base_url: str, out: Path) -> list[Path]:
    """The teacher's gradebook and the parent's page at a phone's width; the org admin's AI usage
    dashboard and a student's resource search."""
    out.mkdir(parents=True, exist_ok=True)
    async with person(chromium, base_url, TEACHER, DESKTOP) as page:
        await page.get_by_role("link", name="Algebra I", exact=True).click()
        await page.get_by_role("link", name="Gradebook").first.click()
        await page.screenshot(path=out / "teacher-gradebook.png", full_page=True)
    async with person(chromium, base_url, PARENT, PHONE, scale=2) as page:
        await page.screenshot(path=out / "parent-phone.png")
    async with person(chromium, base_url, ADMIN, DESKTOP) as page:
        await page.goto("/ai-dashboard")
        await page.screenshot(path=out / "ai-dashboard.png", full_page=True)
    async with person(chromium, base_url, STUDENT, DESKTOP) as page:
        await page.goto("/library")
        await page.get_by_label("Words to find").fill("equations")
        await page.get_by_label("Words to find").press("Enter")
        await page.wait_for_load_state()
        await page.screenshot(path=out / "resource-search.png", full_page=True)
    return [out / f"{name}.png" for name in ("teacher-gradebook", "parent-phone", "ai-dashboard", "resource-search")]


async def main(out: Path) -> None:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    from schoolbase.db.embedded import start_embedded  # noqa: PLC0415

    settings = get_settings()
    server_url = settings.database_url or start_embedded(Path(tempfile.mkdtemp()) / "pgdata", temporary=True)
    async with async_playwright() as playwright, demo_site(server_url, settings) as base_url:
        chromium = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for path in await screenshots(chromium, base_url, out):
            print(path)
        await chromium.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
