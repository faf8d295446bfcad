import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Select
from starlette.background import BackgroundTask

from schoolbase.ai import schemas, service
from schoolbase.ai.gateway import Gateway
from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.csvexport import csv_response
from schoolbase.db.engine import Database
from schoolbase.db.rls import DbIdentity
from schoolbase.models.ai import (
    AiCallStatus,
    AiFeature,
)
from schoolbase.pagination import Page, PageParams, page_params
from schoolbase.problems import AI_CALL_PROBLEMS, responses

router = APIRouter(tags=["ai"])
Paging = Annotated[PageParams, Depends(page_params)]


async def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


@router.post("/ai/messages", responses=responses(*AI_CALL_PROBLEMS))
async def create_message(
    body: schemas.MessageRequest,
    user: CurrentUser,
    request: Request,
    gateway: Annotated[Gateway, Depends(get_gateway)],
):
    """Call a model through the gateway: feature and role check, rate limits, budget, logging.

    With ``stream: true`` the answer is the provider's server-sent events followed by a
    ``schoolbase_receipt`` event carrying the usage log id and cost.
    """
    call = await gateway.admit(user, body, getattr(request.state, "request_id", None))
    if body.stream:
        return StreamingResponse(gateway.stream(call), media_type="text/event-stream")
    # The provider's answer is plain JSON already: sent as it is, without FastAPI's encoder walking
    # it, and before its usage row is written (the receipt already names the row).
    message, settlement = await gateway.answer(call)
    return JSONResponse(message, background=BackgroundTask(settlement))


@router.get("/ai/services", response_model=list[schemas.ServiceOut])
async def list_services(_: CurrentUser, session: Session) -> list[schemas.ServiceOut]:
    """The models you may ask for, with the prices in force now (USD per million tokens)."""
    return await service.services_with_prices(session)


@router.post("/ai/services/{service_id}/prices", response_model=schemas.PriceOut, status_code=201)
async def add_price(service_id: uuid.UUID, body: schemas.PriceCreate, _: CurrentUser, session: Session):
    """Super admins: a new price from ``effective_from`` on; earlier calls keep the prices they were charged."""
    return await service.add_price(session, service_id, body)


@router.get("/organizations/{organization_id}/ai-settings", response_model=schemas.AiSettingsOut)
async def get_ai_settings(organization_id: uuid.UUID, _: CurrentUser, session: Session):
    return await service.get_settings(session, organization_id)


@router.patch("/organizations/{organization_id}/ai-settings", response_model=schemas.AiSettingsOut)
async def update_ai_settings(
    organization_id: uuid.UUID, body: schemas.AiSettingsUpdate, _: CurrentUser, session: Session
):
    """Org admins: features and roles, allowed models, budget, quotas, rate limits, retention, alerts."""
    return await service.update_settings(session, organization_id, body)


@router.get("/organizations/{organization_id}/ai-alerts", response_model=Page[schemas.BudgetAlertOut])
async def list_alerts(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Budget thresholds crossed, once per threshold per month (org admins)."""
    return await service.list_alerts(session, organization_id, paging)


@router.get("/ai/usage", response_model=Page[schemas.UsageLogOut], responses={200: {"content": {"text/csv": {}}}})
async def list_usage(
    request: Request,
    user: CurrentUser,
    session: Session,
    paging: Paging,
    organization_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    feature: AiFeature | None = None,
    status: AiCallStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: every matching row, no paging")] = "json",
):
    """AI calls you may see: your own; as org admin all of the organization's; as teacher your
    students'; as parent your children's. ``format=csv`` streams every matching row (at most
    100,000, else 422 ``export-too-large``) through the formula-safe CSV writer."""
    stmt = service.usage_query(
        organization_id=organization_id, user_id=user_id, feature=feature, status=status, since=since, until=until
    )
    if format == "csv":
        await service.check_usage_export(session, stmt)
        return csv_response("ai-usage.csv", service.USAGE_CSV_COLUMNS, _usage_rows(request.app.state.db, user, stmt))
    return await service.list_usage(session, stmt, paging)


async def _usage_rows(db: Database, user: DbIdentity, stmt: Select) -> AsyncIterator[list[Any]]:
    """The export's rows, read in a transaction of its own as the caller that lasts while the
    response streams (the request's transaction has ended by then)."""
    async with db.as_user(user) as session:
        async for row in service.usage_csv_rows(session, stmt):
            yield row


@router.post("/ai/usage/{log_id}/feedback", response_model=schemas.UsageLogOut)
async def give_feedback(log_id: uuid.UUID, body: schemas.Feedback, _: CurrentUser, session: Session):
    """Rate one of your own AI calls (1–5) with an optional comment."""
    return await service.give_feedback(session, log_id, body)


@router.get("/ai/usage/daily", response_model=Page[schemas.DailyUsageOut])
async def daily_usage(
    _: CurrentUser,
    session: Session,
    paging: Paging,
    organization_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Page:
    """Per person per day (the organization's time zone)."""
    return await service.list_daily(session, paging, organization_id, user_id, since, until)


@router.get("/ai/usage/monthly", response_model=Page[schemas.MonthlyUsageOut])
async def monthly_usage(
    _: CurrentUser, session: Session, paging: Paging, organization_id: uuid.UUID | None = None
) -> Page:
    """Per organization per month, with the budget and the amount reserved by calls in flight (org admins)."""
    return await service.list_monthly(session, paging, organization_id)
