"""Adds the web app to the FastAPI app: its pages, its own static files and page errors."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from schoolbase.web.account.routes import router as account_router
from schoolbase.web.admin.routes import router as admin_router
from schoolbase.web.aidash.routes import router as aidash_router
from schoolbase.web.errors import install_page_errors
from schoolbase.web.family.routes import router as family_router
from schoolbase.web.gradebook.routes import router as gradebook_router
from schoolbase.web.learning.routes import router as learning_router
from schoolbase.web.library.routes import router as library_router
from schoolbase.web.marking.routes import router as marking_router
from schoolbase.web.meetings.routes import router as meetings_router
from schoolbase.web.platform.routes import router as platform_router
from schoolbase.web.teaching.routes import router as teaching_router

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    app.mount("/static/app", StaticFiles(directory=STATIC), name="app-static")
    install_page_errors(app)
    for router in (
        account_router,
        teaching_router,
        marking_router,
        gradebook_router,
        learning_router,
        family_router,
        meetings_router,
        aidash_router,
        platform_router,
        admin_router,
        library_router,
    ):
        app.include_router(router)
