"""Teachers' marking pages: grade one submission (points or rubric, feedback), ask the AI for
a suggestion and accept, edit or reject it, and AI-grade a whole assignment with live progress.

The same services as the API's grading and AI grading routes. Asking the AI (for one
submission or all of them) runs the API's flow, which opens its own transactions around
the AI call: those two routes hold no page transaction, and open one only to show the page
again when the AI refuses."""

import uuid
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.grading import grades
from schoolbase.grading.assist import flows, runs, service
from schoolbase.grading.assist.schemas import GradeEdit
from schoolbase.grading.schemas import GradeIn
from schoolbase.problems import AI_GRADING_RUNNING, NOT_AN_AI_SUGGESTION, Problem
from schoolbase.web.context import PageContext
from schoolbase.web.deps import (
    AnyonePage,
    Form,
    Page,
    PageSession,
    check_signed_in,
    database_of,
    shown_again,
)
from schoolbase.web.forms import attempt, problem_errors, text
from schoolbase.web.marking import form as grade_form
from schoolbase.web.marking import views
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


def _submission_url(submission_id: uuid.UUID) -> str:
    return f"/teach/submissions/{submission_id}"


def _marking_page(
    page: PageContext,
    view: views.Marking,
    status_code: int = 200,
    form: grade_form.GradeForm | None = None,
    errors: dict[str, str] | None = None,
    ai_problem: Problem | None = None,
) -> Response:
    if form is None:
        form = grade_form.from_grade(view.rubric, None if view.suggestion else view.grade)
    return render(
        page,
        "marking/submission.html",
        status_code,
        problem_shown=ai_problem,
        view=view,
        form=form,
        errors=errors or {},
        ai_problem=ai_problem,
    )


# ---------------------------------------------------------------- one submission


@router.get("/teach/submissions/{submission_id}")
async def submission_page(submission_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return _marking_page(page, await views.marking(session, submission_id))


@router.post("/teach/submissions/{submission_id}/grade")
async def save_grade(submission_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """As ``PUT /submissions/{id}/grade``: by points or rubric scores, draft or final, with feedback."""
    view = await views.marking(session, submission_id)
    posted = grade_form.from_posted(view.rubric, form)
    body, errors = grade_form.read(GradeIn, posted, text(form, "state") or "draft")
    status = 422
    if body is not None:
        _, problem = await attempt(session, lambda: grades.teacher_grades(session, submission_id, page.user_id, body))
        if problem is None:
            notice = (
                "Final grade saved. Students see it once you post the assignment's grades."
                if body.state == "final"
                else "Draft grade saved. Only staff see it."
            )
            return page.redirect(_submission_url(submission_id), notice)
        errors, status = problem_errors(problem), problem.status
    return _marking_page(page, view, status, form=posted, errors=errors)


# ---------------------------------------------------------------- the AI suggestion


@router.post("/teach/submissions/{submission_id}/suggestion")
async def ask_ai(submission_id: uuid.UUID, page: AnyonePage, _: Form) -> Response:
    """As ``POST /submissions/{id}/ai-grade``: the flow reads as the person, calls the AI with no
    database connection held, and stores the suggestion; a refusal is shown on the page."""
    check_signed_in(page, _submission_url(submission_id))
    request = page.request
    try:
        await flows.suggest_grade(
            database_of(request),
            request.app.state.gateway,
            page.identity,
            submission_id,
            model=page.settings.ai_grading_model,
            request_id=getattr(request.state, "request_id", None),
        )
    except Problem as problem:

        async def show(session: AsyncSession, refused: Problem) -> Response:
            view = await views.marking(session, submission_id)
            return _marking_page(page, view, refused.status, ai_problem=refused)

        return await shown_again(page, problem, show)
    return page.redirect(_submission_url(submission_id), "The AI suggested a grade: accept, edit or reject it.")


def _stale(view: views.Marking, form: FormData) -> Problem | None:
    """The suggestion the teacher looked at must still be the one awaiting review."""
    if view.suggestion is not None and str(view.suggestion.id) == text(form, "grade_id"):
        return None
    return NOT_AN_AI_SUGGESTION(
        "the AI suggestion changed or was reviewed meanwhile: here is the submission as it is now"
    )


def _edit_page(
    page: PageContext, view: views.Marking, form: grade_form.GradeForm, status_code: int = 200, errors=None
) -> Response:
    return render(page, "marking/suggestion_edit.html", status_code, view=view, form=form, errors=errors or {})


@router.get("/teach/submissions/{submission_id}/suggestion/edit")
async def edit_suggestion_form(submission_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    view = await views.marking(session, submission_id)
    if view.suggestion is None:
        return page.redirect(_submission_url(submission_id), "There is no AI suggestion awaiting review.")
    return _edit_page(page, view, grade_form.from_grade(view.rubric, view.suggestion))


@router.post("/teach/submissions/{submission_id}/suggestion/edit")
async def edit_suggestion(submission_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """As ``PUT /grades/{id}``: the edited suggestion becomes the teacher's grade."""
    view = await views.marking(session, submission_id)
    problem = _stale(view, form)
    if problem is not None:
        return _marking_page(page, view, problem.status, ai_problem=problem)
    posted = grade_form.from_posted(view.rubric, form)
    body, errors = grade_form.read(GradeEdit, posted, text(form, "state") or "final")
    status = 422
    if body is not None:
        _, problem = await attempt(session, lambda: service.edit(session, view.suggestion.id, body))
        if problem is None:
            return page.redirect(_submission_url(submission_id), "You edited the AI suggestion: it is your grade now.")
        errors, status = problem_errors(problem), problem.status
    return _edit_page(page, view, posted, status, errors)


# As ``POST /grades/{id}/accept`` (the suggestion becomes the final grade) and ``DELETE
# /grades/{id}`` (it is removed; the grade history keeps it).
_REVIEWS = {
    "accept": (service.accept, "You accepted the AI suggestion: it is the final grade now."),
    "reject": (service.reject, "You rejected the AI suggestion. Grade the work yourself, or ask again."),
}


@router.post("/teach/submissions/{submission_id}/suggestion/{action}")
async def review_suggestion(
    submission_id: uuid.UUID, action: Literal["accept", "reject"], page: Page, session: PageSession, form: Form
) -> Response:
    change, notice = _REVIEWS[action]
    view = await views.marking(session, submission_id)
    problem = _stale(view, form)
    if problem is None:
        _, problem = await attempt(session, lambda: change(session, view.suggestion.id))
    if problem is not None:
        return _marking_page(page, view, problem.status, ai_problem=problem)
    return page.redirect(_submission_url(submission_id), notice)


# ---------------------------------------------------------------- bulk AI grading


def _job_url(job_id: object) -> str:
    return f"/teach/ai-grading-jobs/{job_id}"


def _bulk_page(page: PageContext, view: views.BulkStart, status_code: int = 200, problem=None) -> Response:
    return render(page, "marking/ai_grading.html", status_code, problem_shown=problem, view=view, problem=problem)


@router.get("/teach/assignments/{assignment_id}/ai-grading")
async def ai_grading_page(assignment_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return _bulk_page(page, await views.bulk_start(session, assignment_id))


@router.post("/teach/assignments/{assignment_id}/ai-grading")
async def start_ai_grading(assignment_id: uuid.UUID, page: AnyonePage, _: Form) -> Response:
    """As ``POST /assignments/{id}/ai-grade-all``: the run is planned as the person, stored and
    queued by the flow, and worked in the background."""
    check_signed_in(page, f"/teach/assignments/{assignment_id}/ai-grading")
    request = page.request
    try:
        job = await flows.start(
            database_of(request), request.app.state.jobs, page.identity, assignment_id, page.settings.ai_grading_model
        )
    except Problem as problem:
        if problem.kind == AI_GRADING_RUNNING.slug and problem.extra.get("job_id"):
            return page.redirect(
                _job_url(problem.extra["job_id"]), "AI grading is already running for this assignment."
            )

        async def show(session: AsyncSession, refused: Problem) -> Response:
            return _bulk_page(page, await views.bulk_start(session, assignment_id), refused.status, refused)

        return await shown_again(page, problem, show)
    return page.redirect(_job_url(job.id), "AI grading started.")


@router.get("/teach/ai-grading-jobs/{job_id}")
async def ai_grading_job(job_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    view = await views.job_view(session, job_id)
    return render(page, "marking/job.html", view=view, progress=views.progress(view.job))


@router.get("/teach/ai-grading-jobs/{job_id}/progress")
async def ai_grading_progress(job_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    """The run's counts for the progress page's script (as ``GET /ai-grading-jobs/{id}``)."""
    job = await runs.job_out(session, job_id)
    return page.finish(JSONResponse(views.progress(job), headers={"Cache-Control": "no-store"}))
