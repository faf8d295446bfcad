"""The AI pages: the organization's AI settings for its admins (``/admin/ai``, as ``PATCH
/organizations/{id}/ai-settings``) and the AI usage dashboard (``/ai-dashboard``) with its
CSV export. Everything is read and changed in the page's transaction as the person."""

from decimal import Decimal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from schoolbase.ai import service as ai
from schoolbase.ai.schemas import AiSettingsOut
from schoolbase.csvexport import csv_response
from schoolbase.problems import forbidden, not_found
from schoolbase.web.aidash import figures, settings_form, views
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, parsed, problem_errors
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)
SETTINGS_URL = "/admin/ai"


def _admin(page: PageContext) -> None:
    if page.organization is None or not page.has("org_admin"):
        raise forbidden("The AI settings are for the organization's admins.")


async def _settings_page(page: PageContext, session, values, errors=None, status_code: int = 200) -> Response:
    return render(
        page,
        "aidash/settings.html",
        status_code,
        values=values,
        errors=errors or {},
        features=views.FEATURES,
        roles=settings_form.ROLES,
        models=await views.models(session),
        money=figures.money,
    )


@router.get(SETTINGS_URL)
async def settings_page(page: Page, session: PageSession) -> Response:
    _admin(page)
    current = AiSettingsOut.model_validate(await ai.get_settings(session, page.organization.id))
    return await _settings_page(page, session, settings_form.from_settings(current))


@router.post(SETTINGS_URL)
async def save_settings(page: Page, session: PageSession, form: Form) -> Response:
    _admin(page)
    values = settings_form.from_posted(form)
    body, errors = settings_form.read(values)
    status = 422
    if body is not None:
        org = page.organization.id
        _, problem = await attempt(session, lambda: ai.update_settings(session, org, body))
        if problem is None:
            return page.redirect(SETTINGS_URL, "AI settings saved. They apply to the next AI call.")
        errors, status = problem_errors(problem), problem.status
    return await _settings_page(page, session, values, errors, status)


class Tolerance(BaseModel):
    """As the agreement report's ``tolerance`` query parameter."""

    tolerance: Decimal = Field(default=Decimal(0), ge=0, le=100000)


async def _dashboard(page: PageContext, session, tolerance: str | None) -> tuple[views.Dashboard, dict, Decimal]:
    if page.organization is None:
        raise not_found("organization")
    query, errors = parsed(Tolerance, {} if tolerance in (None, "") else {"tolerance": tolerance})
    value = query.tolerance if query else Decimal(0)
    return await views.dashboard(session, page, value), errors, value


@router.get("/ai-dashboard")
async def dashboard(page: Page, session: PageSession, tolerance: str | None = None) -> Response:
    view, errors, value = await _dashboard(page, session, tolerance)
    return render(
        page,
        "aidash/dashboard.html",
        422 if errors else 200,
        view=view,
        errors=errors,
        tolerance=tolerance if errors else value,
        money=figures.money,
        currency=figures.CURRENCY,
    )


@router.get("/ai-dashboard/usage.csv")
async def usage_csv(page: Page, session: PageSession) -> Response:
    """The month's usage shown on the dashboard, one row per day, person, feature, model and outcome."""
    view, _, _ = await _dashboard(page, session, None)
    name = f"ai-usage-{view.month_start:%Y-%m}.csv"
    return page.finish(csv_response(name, views.CSV_COLUMNS, views.csv_rows(view)))
