"""The student's pages: my to-do (``/todo``), an assignment's page where I turn work in and
see my grade (``/assignments/{id}/work``), and my grades by class (``/grades``)."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response

from schoolbase.grading import assignments, submissions
from schoolbase.grading.access import manages_class
from schoolbase.grading.schemas import SubmissionOut
from schoolbase.models import SubmissionStatus
from schoolbase.problems import not_found
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import Errors, attempt, problem_errors
from schoolbase.web.learning import views
from schoolbase.web.learning.assignment import AssignmentView, assignment_view, work_form
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/todo")
async def todo(page: Page, session: PageSession) -> Response:
    views.only_for(page, "student")
    work = await views.coursework(session, page.user_id, page.organization.id, datetime.now(UTC))
    return render(page, "learning/todo.html", classes=work.classes, groups=work.grouped())


@router.get("/grades")
async def grades(page: Page, session: PageSession) -> Response:
    views.only_for(page, "student")
    work = await views.coursework(session, page.user_id, page.organization.id, datetime.now(UTC))
    return render(
        page,
        "learning/grades.html",
        classes=await views.class_grades(session, work, page.user_id),
        excerpt=views.excerpt,
    )


# An assignment's page


def work_url(assignment_id: uuid.UUID) -> str:
    return f"/assignments/{assignment_id}/work"


async def _view(page: PageContext, session: PageSession, assignment_id: uuid.UUID) -> AssignmentView | Response:
    """The page's data; a teacher of the class goes to the teacher's page; anyone else who is
    not one of its students finds nothing here."""
    view = await assignment_view(session, page.user_id, assignment_id, datetime.now(UTC))
    if view is None:
        assignment = await assignments.get_assignment(session, assignment_id)
        if await manages_class(session, assignment.organization_id, assignment.class_id):
            return page.redirect(f"/teach/assignments/{assignment_id}")
        raise not_found("assignment")
    # Times and the menu as in the assignment's organization, if it is not the one looked at.
    page.organization = next(
        (o for o in page.me.organizations if o.id == view.assignment.organization_id), page.organization
    )
    return view


def _assignment_page(
    page: PageContext, view: AssignmentView, errors: Errors, values: dict[str, str], status: int = 200
) -> Response:
    return render(page, "learning/assignment.html", status, view=view, a=view.assignment, errors=errors, values=values)


@router.get("/assignments/{assignment_id}/work")
async def assignment_page(assignment_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    view = await _view(page, session, assignment_id)
    if isinstance(view, Response):
        return view
    return _assignment_page(page, view, {}, view.form_values())


@router.post("/assignments/{assignment_id}/work")
async def turn_in(assignment_id: uuid.UUID, page: Page, session: PageSession, form: Form) -> Response:
    """Turn work in (a new attempt after a turned-in one) or save a draft, as the API's
    ``POST /assignments/{id}/submissions`` does; a refusal is shown with its reason."""
    view = await _view(page, session, assignment_id)
    if isinstance(view, Response):
        return view
    work, errors, values = work_form(form)
    status = 422
    if work is not None:
        done, problem = await attempt(session, lambda: submissions.submit(session, page.user_id, assignment_id, work))
        if problem is None:
            return page.redirect(work_url(assignment_id), _turned_in(done[0]))
        errors, status = problem_errors(problem), problem.status
    return _assignment_page(page, view, errors, values, status)


def _turned_in(submission: SubmissionOut) -> str:
    if submission.status == SubmissionStatus.draft:
        return "Draft saved. It is not turned in yet."
    late = " late" if submission.status == SubmissionStatus.late else ""
    return f"Turned in{late} (attempt {submission.attempt})."
