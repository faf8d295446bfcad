"""create_app(): routers, error handlers, observability and the database lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from schoolbase import __version__
from schoolbase.academics.routes import router as academics_router
from schoolbase.ai.gateway import Gateway
from schoolbase.ai.providers.factory import provider_from_settings
from schoolbase.ai.routes import router as ai_router
from schoolbase.auth.routes import me_router as sessions_router
from schoolbase.auth.routes import router as auth_router
from schoolbase.config import Settings, get_settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import ANONYMOUS
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.errors import install_error_handlers
from schoolbase.grading.assist.flows import Runtime as AiGradingRuntime
from schoolbase.grading.assist.jobs import register as register_ai_grading
from schoolbase.grading.assist.routes import router as ai_grading_router
from schoolbase.grading.routes import router as grading_router
from schoolbase.jobs import JobQueue
from schoolbase.mail import jobs as mail_jobs
from schoolbase.meetings.routes import router as meetings_router
from schoolbase.observability import configure_serving_logs, install_observability
from schoolbase.openapi import install_problem_responses
from schoolbase.problems import UNAVAILABLE
from schoolbase.resources.routes import router as resources_router
from schoolbase.resources.storage import LocalStorage
from schoolbase.roster import jobs as roster_jobs
from schoolbase.roster.routes import router as roster_router
from schoolbase.tenancy.routes import router as tenancy_router
from schoolbase.web.install import install_web


def create_app(settings: Settings | None = None, urls: DatabaseUrls | None = None) -> FastAPI:
    """The API. Without ``urls`` the database is found (and migrated) at startup."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal urls
        if urls is None:
            from schoolbase.db.runtime import prepare_database  # noqa: PLC0415 - may start a server

            urls = prepare_database(settings)
        app.state.db = Database(urls, pool_size=settings.pool_size, max_overflow=settings.pool_max_overflow)
        app.state.gateway = Gateway(app.state.db, provider_from_settings(settings), settings)
        app.state.jobs = JobQueue(urls.service, settings)
        register_ai_grading(AiGradingRuntime(app.state.db, app.state.gateway, app.state.jobs, settings))
        mail_jobs.register(mail_jobs.Runtime(app.state.db, app.state.jobs, settings))
        app.state.roster = roster_jobs.Runtime(app.state.db, app.state.jobs, settings)
        roster_jobs.register(app.state.roster)
        await app.state.jobs.open()
        if settings.jobs_worker:
            await app.state.jobs.start_worker()
        try:
            yield
        finally:
            await app.state.jobs.close()
            await app.state.gateway.aclose()
            await app.state.db.dispose()

    # The API's documentation pages load Swagger UI and ReDoc from an installed package, so
    # they work without internet.
    app = FastAPIOffline(
        static_url="/static/api-docs",
        title="Schoolbase",
        version=__version__,
        description="Multi-tenant school platform backend. Errors are RFC 9457 problem documents.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.storage = LocalStorage(settings.files_dir)
    install_error_handlers(app)
    install_problem_responses(app)
    install_observability(app)
    # Routes are matched in order, one by one: the AI gateway, the busiest route and the one
    # whose overhead is measured against LiteLLM (bench/ai_gateway.py), is tried first.
    app.include_router(ai_router)
    app.include_router(auth_router)
    app.include_router(sessions_router)
    app.include_router(tenancy_router)
    app.include_router(academics_router)
    app.include_router(resources_router)
    app.include_router(meetings_router)
    app.include_router(grading_router)
    app.include_router(ai_grading_router)
    app.include_router(roster_router)
    install_web(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz(request: Request) -> dict:
        """Answers 200 when the database answers."""
        try:
            async with request.app.state.db.as_user(ANONYMOUS) as session:
                await session.execute(text("select 1"))
        except Exception as exc:
            raise UNAVAILABLE(str(exc)) from exc
        return {"status": "ok", "database": "ok"}

    return app


def create_served_app() -> FastAPI:
    """The app of one of ``serve --workers N``'s processes: settings from the environment, on a
    database the parent already migrated (``SCHOOLBASE_DATABASE_URL``)."""
    settings = get_settings()
    configure_serving_logs(settings.log_level)
    return create_app(settings, database_urls(settings.database_url, settings))
