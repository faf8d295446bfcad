"""Everyone's pages in Chromium: signing in with the keyboard-friendly form, and no axe-core
violations on the account pages at desktop and phone widths."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD, new_person
from tests.web.browser import VIEWPORTS, check_accessible, sign_in


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_account_pages_are_accessible(chromium, live_server, db, viewport):
    _, email = await new_person(db, "browser-account")
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=live_server)
    page = await context.new_page()
    for path in ("/sign-in", "/forgot-password", "/reset-password?token=x"):
        await page.goto(path)
        await check_accessible(page, f"{path} at {viewport}")
    await page.goto("/sign-in")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await check_accessible(page, f"sign-in errors at {viewport}")
    await sign_in(page, live_server, email, PASSWORD)
    for path in ("/account/sessions", "/account/password"):
        await page.goto(path)
        await check_accessible(page, f"{path} at {viewport}")
    await context.close()


async def test_signing_in_and_out_in_the_browser(browser_page, live_server, db):
    _, email = await new_person(db, "browser-sign-in")
    await browser_page.goto("/account/sessions")
    assert browser_page.url.endswith("/sign-in?next=/account/sessions")
    await browser_page.get_by_label("Email, or school/username").fill(email)
    await browser_page.get_by_label("Password").fill(PASSWORD)
    await browser_page.keyboard.press("Enter")
    await browser_page.wait_for_url(lambda url: urlsplit(url).path == "/account/sessions")
    assert await browser_page.get_by_role("heading", name="My sessions").is_visible()
    await browser_page.get_by_role("button", name="Sign out", exact=True).click()
    await browser_page.wait_for_url(lambda url: urlsplit(url).path == "/sign-in")
    assert await browser_page.get_by_role("status").inner_text() == "You are signed out."
