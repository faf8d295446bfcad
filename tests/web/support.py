"""Page tests over HTTP: a person's cookie session (minted, as ``signed_in`` mints tokens), the
form token of a page, and posting forms the way a browser does."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from schoolbase.auth.service import Client, start_session
from schoolbase.db.engine import Database
from schoolbase.models import User
from schoolbase.web.cookies import SESSION_COOKIE

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"accept": "text/html,application/xhtml+xml"}


async def session_cookie(db: Database, settings, user_id: uuid.UUID) -> str:
    """A new sign-in session of ``user_id`` as the web app's cookie value (no password check)."""
    async with db.as_service() as session:
        user = await session.get(User, user_id)
        pair = await start_session(session, settings, user, Client("127.0.0.1", "page tests"))
    return pair.access_token


@asynccontextmanager
async def browser_client(app, cookie: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that keeps cookies, as a browser does; signed in with ``cookie``."""
    transport = httpx.ASGITransport(app=app, client=(f"10.{uuid.uuid4().int % 250}.1.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=HTML) as http:
        if cookie:
            http.cookies.set(SESSION_COOKIE, cookie)
        yield http


async def as_person(app, db: Database, settings, user_id: uuid.UUID):
    return browser_client(app, await session_cookie(db, settings, user_id))


def form_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form token"
    return found.group(1)


async def submit(http: httpx.AsyncClient, page_url: str, action: str, data: dict, **kwargs) -> httpx.Response:
    """Open ``page_url``, then post ``data`` to ``action`` with that page's form token."""
    page = await http.get(page_url)
    assert page.status_code == 200, page.text
    return await http.post(action, data={"csrf_token": form_token(page.text), **data}, **kwargs)
