"""The super admin's pages: organizations (list, create, edit, delete) and each one's email
domains. Each change goes through the tenancy services the API's ``/organizations`` routes
use, in the page's one transaction as the super admin; forms are read into the API's schemas."""

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from schoolbase.problems import Problem
from schoolbase.tenancy import service
from schoolbase.tenancy.schemas import DomainCreate, OrganizationCreate, OrganizationUpdate
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, parsed, problem_errors, text
from schoolbase.web.platform import views
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)

ORGANIZATION_FIELDS = ("name", "slug", "time_zone")
TAKEN = {
    "slug": "Another organization already uses this slug. Choose another.",
    "domain": "This domain already belongs to an organization.",
}


def _refusal(problem: Problem, field: str) -> dict[str, str]:
    """A refused change as form errors: a duplicate is said beside the field that clashes."""
    if problem.status == 409:
        return {field: TAKEN[field]}
    return problem_errors(problem)


def _posted(form, names: tuple[str, ...]) -> dict[str, str]:
    return {name: text(form, name) or "" for name in names}


@router.get("/platform")
async def organizations(page: Page, session: PageSession, cursor: str | None = None) -> Response:
    views.require_super_admin(page)
    found = await views.organizations(session, cursor)
    return render(page, "platform/organizations.html", organizations=found.items, next_cursor=found.next_cursor)


def _new_form(page: PageContext, status: int = 200, posted=None, errors=None) -> Response:
    posted = posted or {"name": "", "slug": "", "time_zone": "UTC"}
    return render(page, "platform/new.html", status, posted=posted, errors=errors or {}, time_zones=views.TIME_ZONES)


@router.get("/platform/organizations/new")
async def new_organization(page: Page) -> Response:
    views.require_super_admin(page)
    return _new_form(page)


@router.post("/platform/organizations")
async def create_organization(page: Page, form: Form, session: PageSession) -> Response:
    views.require_super_admin(page)
    posted = _posted(form, ORGANIZATION_FIELDS)
    body, errors = parsed(OrganizationCreate, {name: value for name, value in posted.items() if value})
    if body is None:
        return _new_form(page, 422, posted, errors)
    created, problem = await attempt(session, lambda: service.create_organization(session, body))
    if problem is not None:
        return _new_form(page, problem.status, posted, _refusal(problem, "slug"))
    return page.redirect(f"/platform/organizations/{created.id}", f"Organization “{created.name}” created.")


async def _organization_page(
    page: PageContext, session, organization_id: uuid.UUID, status: int = 200, posted=None, errors=None
) -> Response:
    organization = await views.organization(session, organization_id)
    return render(
        page,
        "platform/organization.html",
        status,
        organization=organization,
        domains=await views.domains(session, organization_id),
        posted=posted or {"name": organization.name, "time_zone": organization.time_zone, "domain": ""},
        errors=errors or {},
        time_zones=views.TIME_ZONES,
    )


@router.get("/platform/organizations/{organization_id}")
async def organization(organization_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    views.require_super_admin(page)
    return await _organization_page(page, session, organization_id)


@router.post("/platform/organizations/{organization_id}")
async def update_organization(organization_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    views.require_super_admin(page)
    posted = _posted(form, ("name", "time_zone"))
    body, errors = parsed(OrganizationUpdate, posted)
    if body is not None:
        done, problem = await attempt(session, lambda: service.update_organization(session, organization_id, body))
        if problem is None:
            return page.redirect(f"/platform/organizations/{organization_id}", f"“{done.name}” saved.")
        errors = problem_errors(problem)
    status = 422 if body is None else problem.status
    return await _organization_page(page, session, organization_id, status, posted | {"domain": ""}, errors)


@router.post("/platform/organizations/{organization_id}/domains")
async def add_domain(organization_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    views.require_super_admin(page)
    organization = await views.organization(session, organization_id)
    posted = {"name": organization.name, "time_zone": organization.time_zone, "domain": text(form, "domain") or ""}
    body, errors = parsed(DomainCreate, {"domain": posted["domain"]})
    if body is not None:
        done, problem = await attempt(session, lambda: service.add_domain(session, organization_id, body))
        if problem is None:
            return page.redirect(f"/platform/organizations/{organization_id}#domains", f"Domain {done.domain} added.")
        errors = _refusal(problem, "domain")
    status = 422 if body is None else problem.status
    return await _organization_page(page, session, organization_id, status, posted, errors)


@router.post("/platform/organizations/{organization_id}/domains/{domain_id}/remove")
async def remove_domain(
    organization_id: uuid.UUID, domain_id: uuid.UUID, page: Page, _: Form, session: PageSession
) -> Response:
    views.require_super_admin(page)
    await service.remove_domain(session, organization_id, domain_id)
    return page.redirect(f"/platform/organizations/{organization_id}#domains", "Domain removed.")


def _delete_form(page: PageContext, organization, status: int = 200, errors=None) -> Response:
    return render(page, "platform/delete.html", status, organization=organization, errors=errors or {})


@router.get("/platform/organizations/{organization_id}/delete")
async def confirm_delete(organization_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    views.require_super_admin(page)
    return _delete_form(page, await views.organization(session, organization_id))


@router.post("/platform/organizations/{organization_id}/delete")
async def delete_organization(organization_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    views.require_super_admin(page)
    organization = await views.organization(session, organization_id)
    if text(form, "confirm_slug") != organization.slug:
        errors = {"confirm_slug": f"Type {organization.slug} to confirm."}
        return _delete_form(page, organization, 422, errors)
    name = organization.name
    await service.delete_organization(session, organization_id)
    return page.redirect("/platform", f"Organization “{name}” and everything in it deleted.")
