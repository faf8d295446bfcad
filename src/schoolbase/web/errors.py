"""Errors on pages answer as pages: a person sees what went wrong and where to go next, never a
problem document. A page that needs a sign-in sends the browser to the sign-in page and back."""

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from schoolbase.db.rls import ANONYMOUS
from schoolbase.problems import Problem
from schoolbase.web.context import PageContext
from schoolbase.web.cookies import SESSION_COOKIE, clear_cookie
from schoolbase.web.deps import PasswordChangeRequired, SignInRequired
from schoolbase.web.templating import render


def sign_in_redirect(request: Request, next_url: str) -> Response:
    response = RedirectResponse(f"/sign-in?next={next_url}", status_code=303)
    clear_cookie(request, response, request.app.state.settings, SESSION_COOKIE)
    return response


def problem_page(request: Request, problem: Problem) -> Response:
    # A page's 401 (its session ended) sends the browser to sign in and back; an API address
    # opened in a browser takes bearer tokens, not the cookie, so it is only explained.
    if problem.status == 401 and getattr(request.state, "page", False):
        return sign_in_redirect(request, quote(request.url.path, safe="/"))
    page = PageContext(request, request.app.state.settings, ANONYMOUS)
    return render(page, "error.html", problem.status, problem_shown=problem, problem=problem)


def install_page_errors(app: FastAPI) -> None:
    app.state.problem_page = problem_page

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return sign_in_redirect(request, exc.next_url)

    @app.exception_handler(PasswordChangeRequired)
    async def _password(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account/password", status_code=303)
