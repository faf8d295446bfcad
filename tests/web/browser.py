"""Real Chromium for page tests: Playwright drives Debian's ``/usr/bin/chromium`` (no browser
downloads) against the app served by uvicorn on a free port; axe-core (from the installed
axe-playwright-python package) checks each page."""

import asyncio
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def require_chromium() -> None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(app, port: int | None = None) -> Iterator[str]:
    """``app`` on uvicorn in a thread of its own (its own event loop and database pool), on
    ``port`` (one known beforehand, for links in mail) or a free one."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def check_accessible(page, what: str) -> None:
    """No axe-core violations (WCAG 2.0/2.1 A and AA, and best practices) on ``page``."""
    from axe_playwright_python.async_playwright import Axe  # noqa: PLC0415

    results = await Axe().run(page)
    assert results.violations_count == 0, f"{what}: {results.generate_report()}"


async def sign_in(page, base_url: str, login: str, password: str) -> None:
    """Through the sign-in form, as a person would."""
    await page.goto(f"{base_url}/sign-in")
    await page.get_by_label("Email, or school/username").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
