"""The org admin's pages, part one: the overview, members (add, roles, account), invitations
and email domains. Each change goes through the tenancy services the API uses, in the page's
one transaction as the admin; mail an invitation queues is sent after the response, as the
API's routes do. Classes, guardianships and the grading scale are in ``school.py``."""

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from schoolbase.auth.deps import MailKick
from schoolbase.models import MembershipRole
from schoolbase.problems import Problem, forbidden, not_found
from schoolbase.tenancy import schemas
from schoolbase.tenancy import service as tenancy
from schoolbase.web.admin import calendar, roster, school, views
from schoolbase.web.admin.views import ROLE_NAMES, admin_only
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, parsed, problem_errors, text
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(school.router)
router.include_router(calendar.router)
router.include_router(roster.router)

MEMBER_FIELDS = ("email", "username", "display_name", "roles", "password")


def field_errors(problem: Problem, fields: tuple[str, ...]) -> dict[str, str]:
    """A refusal as form errors; a detail of the form ``field: why`` goes beside that field."""
    errors = problem_errors(problem)
    if set(errors) == {"form"}:
        name, _, why = errors["form"].partition(": ")
        if name in fields and why:
            return {name: why[:1].upper() + why[1:]}
    return errors


def role_list(roles) -> str:
    return ", ".join(ROLE_NAMES[MembershipRole(r)] for r in roles)


@router.get("/admin")
async def overview(page: Page, session: PageSession) -> Response:
    org = admin_only(page)
    return render(page, "admin/overview.html", overview=await views.overview(session, org), roles=ROLE_NAMES)


# Members


async def _members_page(
    page: PageContext, session, role: str | None, number: int, errors=None, posted=None, status: int = 200
) -> Response:
    org = admin_only(page)
    chosen = MembershipRole(role) if role in MembershipRole.__members__ else None
    listed = views.with_role(await views.members(session, org), chosen)
    pages = max(1, math.ceil(len(listed) / views.MEMBERS_PER_PAGE))
    number = min(max(number, 1), pages)
    start = (number - 1) * views.MEMBERS_PER_PAGE
    return render(
        page,
        "admin/members.html",
        status,
        members=listed[start : start + views.MEMBERS_PER_PAGE],
        total=len(listed),
        role=chosen,
        number=number,
        pages=pages,
        roles=ROLE_NAMES,
        role_filters=[(role.value, f"{name}s") for role, name in ROLE_NAMES.items()],
        domains=await views.domains(session, org),
        errors=errors or {},
        posted=posted or {"roles": []},
    )


@router.get("/admin/members")
async def members_page(
    page: Page,
    session: PageSession,
    role: Annotated[str | None, Query(max_length=20)] = None,
    number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    return await _members_page(page, session, role, number)


@router.post("/admin/members")
async def add_member(page: Page, form: Form, session: PageSession, mail: MailKick) -> Response:
    org = admin_only(page)
    posted = {name: text(form, name) for name in ("email", "username", "display_name")}
    posted["roles"] = [r for r in form.getlist("roles") if isinstance(r, str)]
    values = {name: value for name, value in posted.items() if value}
    if password := form.get("password"):
        values["password"] = password
    body, errors = parsed(schemas.MemberCreate, values)
    if body is not None:
        added, problem = await attempt(
            session, lambda: tenancy.add_member(session, page.settings, org, body, page.user_id)
        )
        if problem is None:
            return _added(page, body, added, mail)
        errors = field_errors(problem, MEMBER_FIELDS)
    status = 422 if body is None else problem.status
    return await _members_page(page, session, None, 1, errors, posted, status)


def _added(page: PageContext, body: schemas.MemberCreate, added: schemas.MemberAdded, mail) -> Response:
    """Say which happened: an account of the organization's own, or an invitation. An invitation
    reads the same whether or not the address has an account anywhere."""
    if added.outcome == "invited":
        mail()
        return page.redirect(
            "/admin/invitations",
            f"An invitation was sent to {body.email} ({role_list(body.roles)}). "
            "They join when they accept it from the email.",
        )
    who = body.display_name or body.email or body.username
    return page.redirect(
        f"/admin/members/{added.memberships[0].user_id}",
        f"{who} has an account managed by {page.organization.name} and is a member now ({role_list(body.roles)}).",
    )


async def _member_page(page: PageContext, session, user_id: uuid.UUID, errors=None, status: int = 200) -> Response:
    org = admin_only(page)
    return render(
        page,
        "admin/member.html",
        status,
        member=await views.member(session, org, user_id),
        roles=ROLE_NAMES,
        errors=errors or {},
    )


@router.get("/admin/members/{user_id}")
async def member_page(user_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _member_page(page, session, user_id)


@router.post("/admin/members/{user_id}/roles")
async def add_role(user_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    person = await views.member(session, org, user_id)
    body, errors = parsed(schemas.MembershipCreate, {"user_id": user_id, "role": text(form, "role")})
    if body is not None:
        _, problem = await attempt(session, lambda: tenancy.add_membership(session, org, body))
        if problem is None:
            return page.redirect(f"/admin/members/{user_id}", f"{person.name} is now also {ROLE_NAMES[body.role]}.")
        errors = {"role": problem.detail or problem.title}
    return await _member_page(page, session, user_id, errors, 422 if body is None else problem.status)


@router.post("/admin/members/{user_id}/roles/{membership_id}/delete")
async def remove_role(user_id: uuid.UUID, membership_id: uuid.UUID, page: Page, _: Form, session: PageSession):
    org = admin_only(page)
    person = await views.member(session, org, user_id)
    role = next((r for r, m in person.roles.items() if m == membership_id), None)
    if role is None:
        raise not_found("membership")
    await tenancy.remove_membership(session, org, membership_id)
    notice = f"{person.name} is no longer {ROLE_NAMES[role]}."
    if len(person.roles) == 1:
        return page.redirect("/admin/members", notice + " They have no role here any more.")
    return page.redirect(f"/admin/members/{user_id}", notice)


async def _managed(page: PageContext, session, user_id: uuid.UUID) -> views.Member:
    person = await views.member(session, admin_only(page), user_id)
    if not person.managed:
        raise forbidden("Only accounts your organization manages can be disabled or given a password here.")
    return person


@router.post("/admin/members/{user_id}/disable")
async def disable(user_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    person = await _managed(page, session, user_id)
    await tenancy.update_user(session, user_id, schemas.UserUpdate(disabled=True))
    return page.redirect(f"/admin/members/{user_id}", f"{person.name}'s account is disabled: they cannot sign in.")


@router.post("/admin/members/{user_id}/enable")
async def enable(user_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    person = await _managed(page, session, user_id)
    await tenancy.update_user(session, user_id, schemas.UserUpdate(disabled=False))
    return page.redirect(f"/admin/members/{user_id}", f"{person.name}'s account is enabled again.")


@router.post("/admin/members/{user_id}/password")
async def set_password(user_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    person = await _managed(page, session, user_id)
    body, errors = parsed(schemas.ManagedPassword, {"password": form.get("password") or ""})
    if body is not None:
        _, problem = await attempt(session, lambda: tenancy.set_managed_password(session, user_id, body.password))
        if problem is None:
            return page.redirect(
                f"/admin/members/{user_id}",
                f"{person.name}'s password is set. They choose their own when they next sign in.",
            )
        errors = {"password": problem.detail or problem.title}
    return await _member_page(page, session, user_id, errors, 422 if body is None else problem.status)


# Invitations and domains


async def _invitations_page(page: PageContext, session, errors=None, status: int = 200) -> Response:
    org = admin_only(page)
    return render(
        page,
        "admin/invitations.html",
        status,
        invitations=await views.invitations(session, org),
        roles=ROLE_NAMES,
        errors=errors or {},
    )


@router.get("/admin/invitations")
async def invitations_page(page: Page, session: PageSession) -> Response:
    return await _invitations_page(page, session)


@router.post("/admin/invitations/send-held")
async def send_held(page: Page, _: Form, session: PageSession, mail: MailKick) -> Response:
    sent = await tenancy.send_held_invitations(session, page.settings, admin_only(page))
    mail()
    return page.redirect("/admin/invitations", f"{sent} held invitation{'s were' if sent != 1 else ' was'} sent.")


@router.post("/admin/invitations/{invitation_id}/resend")
async def resend(invitation_id: uuid.UUID, page: Page, _: Form, session: PageSession, mail: MailKick) -> Response:
    found = await views.invitation(session, admin_only(page), invitation_id)
    _, problem = await attempt(session, lambda: tenancy.resend_invitation(session, page.settings, invitation_id))
    if problem is not None:
        return await _invitations_page(page, session, {f"invitation-{invitation_id}": problem.detail}, problem.status)
    mail()
    again = "sent" if found.state == "held" else "sent again with a new link"
    return page.redirect("/admin/invitations", f"The invitation to {found.email} was {again}.")


@router.post("/admin/invitations/{invitation_id}/revoke")
async def revoke(invitation_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    found = await views.invitation(session, admin_only(page), invitation_id)
    _, problem = await attempt(session, lambda: tenancy.revoke_invitation(session, invitation_id))
    if problem is not None:
        return await _invitations_page(page, session, {f"invitation-{invitation_id}": problem.detail}, problem.status)
    return page.redirect("/admin/invitations", f"The invitation to {found.email} is revoked: its link no longer works.")


@router.get("/admin/domains")
async def domains_page(page: Page, session: PageSession) -> Response:
    org = admin_only(page)
    return render(page, "admin/domains.html", domains=await views.domains(session, org))
