"""AI-assisted grading: suggestions through the AI gateway, the teacher's review, bulk runs
and the agreement report. Errors are problem documents; see ``flows.py`` and ``service.py``."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from schoolbase.ai.gateway import Gateway
from schoolbase.auth.deps import CurrentUser, Session, get_database
from schoolbase.db.engine import Database
from schoolbase.grading.assist import flows, runs, schemas, service

router = APIRouter(tags=["ai grading"])

AI_ERRORS = {402: {}, 403: {}, 404: {}, 409: {}, 422: {}, 429: {}, 502: {}, 503: {}, 504: {}}


async def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


def _model(request: Request, body: schemas.AiGradeRequest | None) -> str:
    return (body.model if body and body.model else None) or request.app.state.settings.ai_grading_model


@router.post(
    "/submissions/{submission_id}/ai-grade", response_model=schemas.GradeOut, status_code=201, responses=AI_ERRORS
)
async def ai_grade(
    submission_id: uuid.UUID,
    identity: CurrentUser,
    request: Request,
    db: Annotated[Database, Depends(get_database)],
    gateway: Annotated[Gateway, Depends(get_gateway)],
    body: Annotated[schemas.AiGradeRequest | None, Body()] = None,
) -> schemas.GradeOut:
    """Teachers of the class and org admins: score a submitted (or late) submission against the
    assignment's rubric with the AI (feature ``grading_assistance``: its roles, rate limits and
    budget apply, and the call is logged). The answer is stored as an ``ai_suggested`` grade,
    visible only to staff, with the model's confidence and the usage log id. 502 when the
    model's answer does not fit the rubric (nothing is stored); 409 when the submission
    already has a grade."""
    return await flows.suggest_grade(
        db,
        gateway,
        identity,
        submission_id,
        model=_model(request, body),
        request_id=getattr(request.state, "request_id", None),
    )


@router.get("/submissions/{submission_id}/ai-grade", response_model=schemas.GradeOut)
async def get_ai_grade(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.GradeOut:
    """Staff: the submission's AI-assisted grade (a suggestion, or what the teacher made of it)."""
    return await service.submission_suggestion(session, submission_id)


@router.post("/grades/{grade_id}/accept", response_model=schemas.GradeOut, responses={403: {}, 404: {}, 409: {}})
async def accept_grade(grade_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.GradeOut:
    """Accept an AI suggestion as it is: it becomes the final grade with the suggested points."""
    return await service.accept(session, grade_id)


@router.put("/grades/{grade_id}", response_model=schemas.GradeOut, responses={403: {}, 404: {}, 422: {}})
async def edit_grade(
    grade_id: uuid.UUID, body: schemas.GradeEdit, _: CurrentUser, session: Session
) -> schemas.GradeOut:
    """Edit a grade (typically an AI suggestion): new points, or new scores for some rubric
    criteria, and/or feedback; it becomes the teacher's grade, ``final`` unless ``state: draft``.
    The suggested points stay on the grade, so ``ai_difference`` shows how far it moved."""
    return await service.edit(session, grade_id, body)


@router.delete("/grades/{grade_id}", status_code=204, responses={403: {}, 404: {}, 409: {}})
async def reject_grade(grade_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Reject an AI suggestion awaiting review: it is removed (the grade history keeps it)."""
    await service.reject(session, grade_id)


@router.get("/organizations/{organization_id}/ai-grading/agreement", response_model=schemas.AgreementOut)
async def agreement(
    organization_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    tolerance: Annotated[
        Decimal, Query(ge=0, le=100000, description="points within which final and suggestion agree")
    ] = Decimal(0),
    class_id: uuid.UUID | None = None,
    since: Annotated[datetime | None, Query(description="suggestions made at or after")] = None,
    until: Annotated[datetime | None, Query(description="suggestions made before")] = None,
) -> schemas.AgreementOut:
    """Org admins: how often teachers keep the AI's suggestion, and how far they move from it."""
    return await service.agreement(session, organization_id, tolerance, class_id, since, until)


@router.post(
    "/assignments/{assignment_id}/ai-grade-all",
    response_model=schemas.JobOut,
    status_code=202,
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
async def ai_grade_all(
    assignment_id: uuid.UUID,
    identity: CurrentUser,
    request: Request,
    response: Response,
    db: Annotated[Database, Depends(get_database)],
    body: Annotated[schemas.AiGradeRequest | None, Body()] = None,
) -> schemas.JobOut:
    """Teachers of the class and org admins: AI-grade, in the background, the latest attempt of
    every student that is submitted or late and has no grade yet. Follow the run at
    ``GET /ai-grading-jobs/{id}``; each suggestion is reviewed like a single one."""
    job = await flows.start(db, request.app.state.jobs, identity, assignment_id, _model(request, body))
    response.headers["Location"] = f"/ai-grading-jobs/{job.id}"
    return job


@router.get("/ai-grading-jobs/{job_id}", response_model=schemas.JobOut)
async def get_job(job_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.JobOut:
    """A bulk run's progress: total, done, failed, skipped, pending, and each submission's outcome."""
    return await runs.job_out(session, job_id)
