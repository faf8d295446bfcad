"""Loading the demo across transactions: its organizations, people and term of work in one
``service_role`` transaction, then the AI suggestions waiting for teachers, each made through
AI-assisted grading's own flow (read as the teacher, the AI call through the gateway with its
limits and usage log, the suggestion stored as the server).

The suggestions always come from the offline provider, whatever provider the server uses: the
demo costs nothing, its suggestions are the same on every load, and each says that no AI model
was called.
"""

import logging

from schoolbase.ai.gateway import Gateway
from schoolbase.ai.providers.offline import OfflineProvider
from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.rls import user_identity
from schoolbase.grading.assist.flows import suggest
from schoolbase.problems import Problem
from schoolbase.resources.demo import WorksheetWanted
from schoolbase.resources.flows import generate
from schoolbase.resources.schemas import GenerateRequest
from schoolbase.tenancy import demo

log = logging.getLogger(__name__)
REQUEST_ID = "demo-load"


async def load_demo(db: Database, settings: Settings) -> demo.DemoSummary:
    """Load the demo (nothing changes when it is loaded already) and its waiting AI suggestions."""
    async with db.as_service() as session:
        summary = await demo.load_demo(session)
    if not summary.ai_waiting and summary.worksheet is None:
        return summary
    gateway = Gateway(db, OfflineProvider(), settings)
    try:
        if summary.worksheet is not None:
            await _generate_worksheet(db, gateway, summary.worksheet)
        for waiting in summary.ai_waiting:
            try:
                await suggest(
                    db,
                    gateway,
                    user_identity(waiting.teacher_id),
                    waiting.submission_id,
                    model=settings.ai_grading_model,
                    request_id=REQUEST_ID,
                )
            except Problem as problem:  # the demo is loaded; only this suggestion is missing
                log.warning("demo: no AI suggestion for submission %s: %s", waiting.submission_id, problem.detail)
    finally:
        await gateway.aclose()
    return summary


async def _generate_worksheet(db: Database, gateway: Gateway, wanted: WorksheetWanted) -> None:
    """The teacher's AI worksheet through the resource portal's own generation flow: it waits for
    the org admin's approval."""
    body = GenerateRequest(
        topic="Solving two-step equations",
        grade_level="9",
        kind="worksheet",
        length=6,
        subject="Mathematics",
        category_id=wanted.category_id,
        class_id=wanted.class_id,
    )
    try:
        await generate(db, gateway, user_identity(wanted.teacher_id), body, REQUEST_ID)
    except Problem as problem:  # the demo is loaded; only this worksheet is missing
        log.warning("demo: no AI worksheet: %s", problem.detail)
