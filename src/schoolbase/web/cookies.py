"""The web app's cookies: the sign-in session (an access token renewed while its session lasts)
and the organization the person is looking at. HttpOnly and SameSite=Lax always; Secure when
the request came over HTTPS or the public URL is HTTPS."""

from fastapi import Request, Response

from schoolbase.config import Settings

SESSION_COOKIE = "sb_session"
ORGANIZATION_COOKIE = "sb_organization"


def secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https:")


def set_cookie(request: Request, response: Response, settings: Settings, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=settings.refresh_token_days * 86400,
        httponly=True,
        samesite="lax",
        secure=secure(request, settings),
        path="/",
    )


def clear_cookie(request: Request, response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure(request, settings), path="/")
