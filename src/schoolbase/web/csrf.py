"""CSRF protection for every form (double-submit, from fastapi-csrf-protect): a signed token in
an HttpOnly cookie, the same token in a hidden field (our own scripts post it as a form field
too). One token per browser, kept while valid, so several open tabs all keep working."""

import hmac

from fastapi import Request, Response
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.datastructures import FormData

from schoolbase.config import Settings
from schoolbase.problems import CSRF_FAILED
from schoolbase.web.cookies import secure

FIELD = "csrf_token"
COOKIE = "sb_csrf"
MAX_AGE = 12 * 3600
SALT = "fastapi-csrf-token"  # the library's


class PageCsrf(CsrfProtect):
    """The library's protector with this app's settings (on this subclass only)."""


PageCsrf.load_config(
    lambda: [
        ("cookie_key", COOKIE),
        ("token_location", "body"),
        ("token_key", FIELD),
        ("max_age", MAX_AGE),
        ("cookie_samesite", "lax"),
        ("httponly", True),
    ]
)


def _secret(settings: Settings) -> str:
    return "csrf:" + settings.jwt_secret.get_secret_value()


def token_for(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The form token for this browser, and the signed cookie value to set when it is new."""
    signed = request.cookies.get(COOKIE)
    if signed:
        try:
            return URLSafeTimedSerializer(_secret(settings), salt=SALT).loads(signed, max_age=MAX_AGE // 2), None
        except BadData:
            pass  # expired or forged: a new one below
    token, signed = PageCsrf().generate_csrf_tokens(_secret(settings))
    return token, signed


def set_token_cookie(request: Request, response: Response, settings: Settings, signed: str) -> None:
    response.set_cookie(
        COOKIE, signed, max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure(request, settings), path="/"
    )


async def checked_form(request: Request, settings: Settings) -> FormData:
    """The posted form, after its CSRF token matched the cookie's (403 otherwise)."""
    form = await request.form()
    try:
        await PageCsrf().validate_csrf(request, secret_key=_secret(settings))
    except CsrfProtectError as exc:
        raise _failed() from exc
    return form


def _failed():
    return CSRF_FAILED("this form has expired or did not come from this site; reload the page and try again")


def check_token(request: Request, settings: Settings, posted: str | None) -> None:
    """The same check for a form read as a stream (a file upload), given its token field."""
    try:
        expected = URLSafeTimedSerializer(_secret(settings), salt=SALT).loads(
            request.cookies.get(COOKIE) or "", max_age=MAX_AGE
        )
    except BadData as exc:
        raise _failed() from exc
    if not posted or not hmac.compare_digest(str(expected), posted):
        raise _failed()
