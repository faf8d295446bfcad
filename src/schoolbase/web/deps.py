"""The identity a page request carries (from the session cookie) and its one transaction.

The same path as the API's: the cookie holds an access token of a sign-in session; the
request runs in one ``db.as_user`` transaction as that person, under row-level security.
An expired token is renewed while its session lasts, so a page never shows what the API
would not show the same person."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.auth import service as auth_service
from schoolbase.auth.tokens import PASSWORD_CHANGE_REQUIRED, InvalidToken, decode_access_token
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import ANONYMOUS, user_identity
from schoolbase.problems import Problem
from schoolbase.tenancy import service as tenancy
from schoolbase.web import csrf
from schoolbase.web.context import PageContext
from schoolbase.web.cookies import ORGANIZATION_COOKIE, SESSION_COOKIE


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page, coming back to ``next`` afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """An administrator set this person's password: they choose their own first."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def database_of(request: Request) -> Database:
    return request.app.state.db


async def page_identity(request: Request) -> PageContext:
    """Who the cookie says is here (anonymous without one), before any transaction."""
    request.state.page = True  # errors answer as pages, not problem documents
    settings = settings_of(request)
    page = PageContext(request, settings, ANONYMOUS)
    page.csrf_token, page._csrf_cookie = csrf.token_for(request, settings)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return page
    try:
        claims = decode_access_token(settings, token)
    except InvalidToken:
        token = await _renewed(request, settings, token)
        if token is None:
            page.set_cookie(SESSION_COOKIE, None)
            return page
        page.set_cookie(SESSION_COOKIE, token)
        claims = decode_access_token(settings, token)
    page.identity = user_identity(claims.user_id, claims.raw)
    request.state.user_id = str(claims.user_id)
    return page


async def _renewed(request: Request, settings: Settings, token: str) -> str | None:
    try:
        claims = decode_access_token(settings, token, expired_too=True)
    except InvalidToken:
        return None
    async with database_of(request).as_service() as session:
        return await auth_service.renew_access(session, settings, claims.session_id)


async def page_session(page: Annotated[PageContext, Depends(page_identity)]) -> AsyncIterator[AsyncSession]:
    """The page request's one transaction, as the person (or anonymous)."""
    async with database_of(page.request).as_user(page.identity) as session:
        yield session


PageSession = Annotated[AsyncSession, Depends(page_session, scope="function")]


async def signed_in_page(page: Annotated[PageContext, Depends(page_identity)], session: PageSession) -> PageContext:
    """A person's page: signed in (else to the sign-in page and back), with their organizations
    and the one they are looking at (the switcher's cookie, else their first)."""
    if page.user_id is None:
        raise SignInRequired(quote(str(page.request.url.path) + _query(page.request), safe="/?=&"))
    if page.identity.claims.get(PASSWORD_CHANGE_REQUIRED) and page.request.url.path != "/account/password":
        raise PasswordChangeRequired()
    page.me = await tenancy.me(session, page.user_id)
    chosen = page.request.cookies.get(ORGANIZATION_COOKIE)
    organizations = page.me.organizations
    page.organization = next(
        (o for o in organizations if str(o.id) == chosen), organizations[0] if organizations else None
    )
    return page


def check_signed_in(page: PageContext, back_to: str) -> None:
    """For the routes that hold no page transaction (around an AI call, an upload): the checks
    ``Page`` makes."""
    if page.user_id is None:
        raise SignInRequired(back_to)
    if page.identity.claims.get(PASSWORD_CHANGE_REQUIRED):
        raise PasswordChangeRequired()


async def shown_again(
    page: PageContext, problem: Problem, show: Callable[[AsyncSession, Problem], Awaitable[Response]]
) -> Response:
    """The page again after a flow refused, read in a transaction of its own as the person."""
    async with database_of(page.request).as_user(page.identity) as session:
        await signed_in_page(page, session)
        return await show(session, problem)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


async def posted_form(page: Annotated[PageContext, Depends(page_identity)]) -> FormData:
    """A posted form whose CSRF token matched."""
    return await csrf.checked_form(page.request, page.settings)


# For page route signatures.
Page = Annotated[PageContext, Depends(signed_in_page)]
AnyonePage = Annotated[PageContext, Depends(page_identity)]
Form = Annotated[FormData, Depends(posted_form)]
