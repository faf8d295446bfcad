"""Everyone's pages: the start page, sign in and out, password reset, accepting an invitation,
my sessions and password, and the organization switcher."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ValidationError

from schoolbase.auth import flows, invitations
from schoolbase.auth import service as auth_service
from schoolbase.auth.deps import MailKick
from schoolbase.auth.routes import client_of
from schoolbase.auth.schemas import InvitationAccept, LoginName, PasswordChange, ResetConfirm, TokenPair
from schoolbase.problems import Problem, not_found
from schoolbase.web.context import PageContext
from schoolbase.web.cookies import ORGANIZATION_COOKIE, SESSION_COOKIE
from schoolbase.web.deps import AnyonePage, Form, Page, database_of
from schoolbase.web.forms import errors_of, local_path, parsed, problem_errors, text
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def start(page: AnyonePage) -> Response:
    if page.user_id is None:
        return page.redirect("/sign-in")
    return page.redirect("/home")


@router.get("/home")
async def home(page: Page) -> Response:
    """Each role lands on the page it needs first."""
    return page.redirect(page.home)


# Signing in and out


@router.get("/sign-in")
async def sign_in_form(page: AnyonePage, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:  # noqa: A002
    return render(page, "account/sign_in.html", next=local_path(next, ""), login="", errors={})


@router.post("/sign-in")
async def sign_in(page: AnyonePage, form: Form) -> Response:
    login_text, target = text(form, "login") or "", local_path(text(form, "next"), "/home")
    try:
        login = LoginName.parse(login_text)
    except ValidationError:
        return _sign_in_refused(page, login_text, target, "Enter your email address, or school/username.", 422)
    outcome = await flows.sign_in(
        database_of(page.request), page.settings, login, text(form, "password") or "", client_of(page.request)
    )
    if isinstance(outcome, auth_service.Throttled):
        message = f"Too many failed sign-ins. Try again in {outcome.retry_after} seconds."
        response = _sign_in_refused(page, login_text, target, message, 429)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if isinstance(outcome, auth_service.LoginRejected):
        return _sign_in_refused(page, login_text, target, "That sign-in name or password is not right.", 401)
    return _signed_in(page, outcome, target)


def _sign_in_refused(page: PageContext, login: str, target: str, message: str, status: int) -> Response:
    return render(page, "account/sign_in.html", status, next=target, login=login, errors={"password": message})


def _signed_in(page: PageContext, tokens: TokenPair, target: str) -> Response:
    page.set_cookie(SESSION_COOKIE, tokens.access_token)
    page.set_cookie(ORGANIZATION_COOKIE, None)
    return page.redirect("/account/password" if tokens.password_change_required else target)


@router.post("/sign-out")
async def sign_out(page: AnyonePage, _: Form) -> Response:
    if page.identity.session_id is not None:
        async with database_of(page.request).as_service() as session:
            await auth_service.end_session(session, page.identity.session_id)
    page.set_cookie(SESSION_COOKIE, None)
    return page.redirect("/sign-in", "You are signed out.")


# Passwords


@router.get("/forgot-password")
async def forgot_password_form(page: AnyonePage) -> Response:
    return render(page, "account/forgot_password.html", login="", errors={})


@router.post("/forgot-password")
async def forgot_password(page: AnyonePage, form: Form, mail: MailKick) -> Response:
    login_text = text(form, "login") or ""
    try:
        login = LoginName.parse(login_text)
    except ValidationError:
        errors = {"login": "Enter your email address, or school/username."}
        return render(page, "account/forgot_password.html", 422, login=login_text, errors=errors)
    async with database_of(page.request).as_service() as session:
        await auth_service.request_reset(session, page.settings, login)
    mail()
    return page.redirect("/sign-in", "If that account exists, a link to choose a new password is on its way.")


@router.get("/reset-password")
async def reset_password_form(page: AnyonePage, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    return render(page, "account/reset_password.html", token=token, errors={})


@router.post("/reset-password")
async def reset_password(page: AnyonePage, form: Form) -> Response:
    token = text(form, "token") or ""
    body, errors = parsed(ResetConfirm, {"token": token, "new_password": form.get("new_password") or ""})
    if body is not None and form.get("new_password") != form.get("confirm_password"):
        errors = {"confirm_password": "The two passwords are not the same."}
    if errors:
        return render(page, "account/reset_password.html", 422, token=token, errors=errors)
    try:
        await flows.confirm_reset(database_of(page.request), body.token, body.new_password)
    except Problem as problem:
        return render(page, "account/reset_password.html", problem.status, token=token, errors=problem_errors(problem))
    return page.redirect("/sign-in", "Your password is changed. Sign in with the new one.")


@router.get("/account/password")
async def password_form(page: Page) -> Response:
    return render(page, "account/password.html", errors={})


@router.post("/account/password")
async def change_password(page: Page, form: Form) -> Response:
    body, errors = parsed(
        PasswordChange,
        {"current_password": form.get("current_password") or "", "new_password": form.get("new_password") or ""},
    )
    if body is not None and form.get("new_password") != form.get("confirm_password"):
        errors = {"confirm_password": "The two new passwords are not the same."}
    if errors:
        return render(page, "account/password.html", 422, errors=errors)
    try:
        tokens = await flows.change_password(database_of(page.request), page.settings, page.identity, body)
    except Problem as problem:
        return render(page, "account/password.html", problem.status, errors={"current_password": problem.detail})
    page.set_cookie(SESSION_COOKIE, tokens.access_token)
    return page.redirect("/home", "Your password is changed. Your other sessions are signed out.")


# Invitations


@router.get("/accept-invitation")
async def invitation_page(page: AnyonePage, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _invitation(page, token, {})


async def _invitation(page: PageContext, token: str, errors: dict, status: int = 200) -> Response:
    try:
        async with database_of(page.request).as_service() as session:
            found = await invitations.open_invitation(session, token)
    except Problem as problem:
        return render(page, "account/invitation_closed.html", problem.status, problem=problem)
    return render(
        page,
        "account/invitation.html",
        status,
        token=token,
        organization=found.organization.name,
        invitation=found.invitation,
        account_exists=found.account is not None,
        errors=errors,
    )


@router.post("/accept-invitation")
async def accept_invitation(page: AnyonePage, form: Form) -> Response:
    token = text(form, "token") or ""
    values = {"token": token, "password": form.get("password") or None, "display_name": text(form, "display_name")}
    try:
        body = InvitationAccept.model_validate(values)
        accepted = await flows.accept_invitation(
            database_of(page.request), page.settings, body, page.identity, client_of(page.request)
        )
    except ValidationError as exc:
        return await _invitation(page, token, errors_of(exc), 422)
    except Problem as problem:
        return await _invitation(page, token, problem_errors(problem), problem.status)
    if accepted.tokens is not None:
        page.set_cookie(SESSION_COOKIE, accepted.tokens.access_token)
    page.set_cookie(ORGANIZATION_COOKIE, str(accepted.memberships[0].organization_id))
    return page.redirect("/home", "Welcome! You have joined the organization.")


# Sessions and organizations


@router.get("/account/sessions")
async def sessions_page(page: Page) -> Response:
    async with database_of(page.request).as_service() as session:
        sessions = await auth_service.active_sessions(session, page.user_id, page.identity.session_id)
    return render(page, "account/sessions.html", sessions=sessions)


@router.post("/account/sessions/{session_id}/end")
async def end_session(session_id: uuid.UUID, page: Page, _: Form) -> Response:
    async with database_of(page.request).as_service() as session:
        if not await auth_service.end_session(session, session_id, page.user_id):
            raise not_found("session")
    if session_id == page.identity.session_id:
        page.set_cookie(SESSION_COOKIE, None)
        return page.redirect("/sign-in", "You are signed out.")
    return page.redirect("/account/sessions", "That session is signed out.")


@router.post("/switch-organization")
async def switch_organization(page: Page, form: Form) -> Response:
    chosen = text(form, "organization_id")
    if not any(str(o.id) == chosen for o in page.me.organizations):
        raise not_found("organization")
    page.set_cookie(ORGANIZATION_COOKIE, chosen)
    page.organization = next(o for o in page.me.organizations if str(o.id) == chosen)
    return page.redirect(page.home, f"You are looking at {page.organization.name}.")
