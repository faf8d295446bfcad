"""The super admin's pages in Chromium: no axe-core violations on the organizations, a new
organization (with its errors), an organization with its domains and the delete confirmation,
at desktop and phone widths; and creating one with the keyboard."""

import uuid
from urllib.parse import urlsplit

import pytest

from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.support import session_cookie
from tests.web.test_platform_pages import super_admin


async def _signed_in(chromium, live_server, db, settings, viewport):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    cookie = await session_cookie(db, settings, await super_admin(db))
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": live_server}])
    return context, await context.new_page()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_platform_pages_are_accessible(chromium, live_server, db, settings, viewport):
    context, page = await _signed_in(chromium, live_server, db, settings, viewport)
    tag = uuid.uuid4().hex[:8]
    await page.goto("/platform/organizations/new")
    await check_accessible(page, f"new organization at {viewport}")
    await page.get_by_label("Name").fill("Willow Creek")
    await page.get_by_label("Slug").fill("Bad Slug")
    await page.get_by_role("button", name="Create organization").click()
    assert await page.locator("#error-slug").is_visible()
    await check_accessible(page, f"new organization with errors at {viewport}")
    await page.get_by_label("Slug").fill(f"willow-{tag}")
    await page.get_by_label("Time zone").fill("Pacific/Auckland")
    await page.get_by_role("button", name="Create organization").click()
    await page.wait_for_url(lambda url: urlsplit(url).path.startswith("/platform/organizations/"))
    assert await page.get_by_role("heading", name="Willow Creek", level=1).is_visible()
    await page.get_by_label("New domain").fill(f"willow-{tag}.example.org")
    await page.get_by_role("button", name="Add domain").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("button", name=f"Remove willow-{tag}.example.org").is_visible()
    await check_accessible(page, f"organization with a domain at {viewport}")
    await page.get_by_label("New domain").fill("nope")
    await page.get_by_role("button", name="Add domain").click()
    await check_accessible(page, f"organization with a domain error at {viewport}")
    await page.get_by_role("link", name="Delete Willow Creek…").click()
    await check_accessible(page, f"delete organization at {viewport}")
    await page.goto("/platform")
    await check_accessible(page, f"organizations at {viewport}")
    await context.close()
