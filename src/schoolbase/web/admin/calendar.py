"""The org admin's "School year" pages: schools, the academic sessions as a tree with their
dates, courses, and a session's own page (edit, close or reopen a grading period with a
reason, its history). Every change goes through the academics services the API uses, in the
page's one transaction as the admin."""

import uuid
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.academics import closing, schemas, service
from schoolbase.models import AcademicSessionType
from schoolbase.problems import Problem, not_found
from schoolbase.web.admin import views
from schoolbase.web.admin.views import admin_only
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, parsed, problem_errors, text
from schoolbase.web.learning.views import every
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)
BASE = "/admin/school-year"
TYPE_NAMES = {
    AcademicSessionType.school_year: "School year",
    AcademicSessionType.semester: "Semester",
    AcademicSessionType.term: "Term",
    AcademicSessionType.grading_period: "Grading period",
}
ACTIONS = {
    "closed": "Closed",
    "reopened": "Reopened",
    "override_set": "Grade overridden",
    "override_changed": "Override changed",
    "override_removed": "Override removed",
}


@dataclass
class Node:
    session: schemas.SessionOut
    depth: int


def tree(sessions: list[schemas.SessionOut]) -> list[Node]:
    """The sessions in order: each year, then what lies within it, by start date (flattened,
    with each one's depth)."""
    by_parent: dict[uuid.UUID | None, list[schemas.SessionOut]] = {}
    for s in sorted(sessions, key=lambda s: (s.start_date, s.end_date, s.title)):
        by_parent.setdefault(s.parent_id, []).append(s)
    flat: list[Node] = []

    def walk(parent: uuid.UUID | None, depth: int) -> None:
        for s in by_parent.get(parent, []):
            flat.append(Node(s, depth))
            walk(s.id, depth + 1)

    walk(None, 0)
    return flat


async def _structure(session: AsyncSession, org: uuid.UUID) -> dict:
    schools = await every(lambda p: service.list_schools(session, org, p))
    sessions = await every(lambda p: service.list_sessions(session, org, p))
    courses = await every(lambda p: service.list_courses(session, org, p))
    nodes = tree(sessions)
    return {
        "schools": schools,
        "sessions": nodes,
        "courses": courses,
        "type_options": [(t.value, name) for t, name in TYPE_NAMES.items()],
        "parent_options": [
            (str(n.session.id), "— " * n.depth + n.session.title)
            for n in nodes
            if n.session.type != AcademicSessionType.grading_period
        ],
        "school_options": [(str(s.id), s.name) for s in schools],
        "year_options": [
            (str(n.session.id), n.session.title) for n in nodes if n.session.type == AcademicSessionType.school_year
        ],
    }


def _render(page: PageContext, name: str, status: int, **context) -> Response:
    return render(page, name, status, type_names=TYPE_NAMES, **context)


async def _year_page(
    page: PageContext, session: AsyncSession, errors=None, posted=None, status: int = 200, form: str = ""
) -> Response:
    org = admin_only(page)
    return _render(
        page,
        "admin/school_year.html",
        status,
        **await _structure(session, org),
        errors=errors or {},
        posted=posted or {},
        form=form,
    )


@router.get(BASE)
async def school_year_page(page: Page, session: PageSession) -> Response:
    return await _year_page(page, session)


def _fields(form, names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: text(form, name) for name in names}


def _tags(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


async def _create(page, session, form_name: str, model, values: dict, posted: dict, make, notice) -> Response:
    body, errors = parsed(model, {k: v for k, v in values.items() if v is not None})
    problem: Problem | None = None
    if body is not None:
        row, problem = await attempt(session, lambda: make(body))
        if problem is None:
            return page.redirect(BASE, notice(row))
        errors = problem_errors(problem)
    status = 422 if problem is None else problem.status
    return await _year_page(page, session, errors, posted, status, form_name)


@router.post(BASE + "/schools")
async def create_school(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    posted = _fields(form, ("name", "identifier"))
    return await _create(
        page,
        session,
        "school",
        schemas.SchoolCreate,
        posted,
        posted,
        lambda body: service.create_school(session, org, body),
        lambda row: f"School “{row.name}” added.",
    )


@router.post(BASE + "/sessions")
async def create_session(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    posted = _fields(form, ("title", "type", "parent_id", "start_date", "end_date"))
    return await _create(
        page,
        session,
        "session",
        schemas.SessionCreate,
        posted,
        posted,
        lambda body: service.create_session(session, org, body),
        lambda row: f"{TYPE_NAMES[row.type]} “{row.title}” added.",
    )


@router.post(BASE + "/courses")
async def create_course(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    posted = _fields(form, ("title", "code", "school_id", "school_year_id", "subjects", "grade_levels"))
    values = {**posted, "subjects": _tags(posted["subjects"]), "grade_levels": _tags(posted["grade_levels"])}
    return await _create(
        page,
        session,
        "course",
        schemas.CourseCreate,
        values,
        posted,
        lambda body: service.create_course(session, org, body),
        lambda row: f"Course “{row.title}” added.",
    )


# One school or course


async def _edit_page(
    page: PageContext, session: AsyncSession, kind: str, row, errors=None, posted=None, status: int = 200
) -> Response:
    org = admin_only(page)
    if row.organization_id != org:
        raise not_found(kind)
    return _render(
        page,
        "admin/school_year_item.html",
        status,
        kind=kind,
        row=row,
        **await _structure(session, org),
        errors=errors or {},
        posted=posted or {},
    )


@router.get(BASE + "/schools/{school_id}")
async def school_page(school_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _edit_page(page, session, "school", await service.get_school(session, school_id))


@router.get(BASE + "/courses/{course_id}")
async def course_page(course_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _edit_page(page, session, "course", await service.get_course(session, course_id))


async def _edit(page, session, kind: str, row_id: uuid.UUID, get, model, values: dict, posted: dict, change):
    row = await get(session, row_id)
    await _edit_page(page, session, kind, row)  # 404 for another organization's
    body, errors = parsed(model, values)
    problem: Problem | None = None
    if body is not None:
        _, problem = await attempt(session, lambda: change(body))
        if problem is None:
            return page.redirect(BASE, f"The {kind} was saved.")
        errors = problem_errors(problem)
    status = 422 if problem is None else problem.status
    return await _edit_page(page, session, kind, await get(session, row_id), errors, posted, status)


@router.post(BASE + "/schools/{school_id}")
async def edit_school(school_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    posted = _fields(form, ("name", "identifier"))
    return await _edit(
        page,
        session,
        "school",
        school_id,
        service.get_school,
        schemas.SchoolUpdate,
        {**posted, "name": posted["name"] or ""},
        posted,
        lambda body: service.update_school(session, school_id, body),
    )


@router.post(BASE + "/courses/{course_id}")
async def edit_course(course_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    posted = _fields(form, ("title", "code", "school_id", "school_year_id", "subjects", "grade_levels"))
    values = {
        **posted,
        "title": posted["title"] or "",
        "subjects": _tags(posted["subjects"]),
        "grade_levels": _tags(posted["grade_levels"]),
    }
    return await _edit(
        page,
        session,
        "course",
        course_id,
        service.get_course,
        schemas.CourseUpdate,
        values,
        posted,
        lambda body: service.update_course(session, course_id, body),
    )


# One session


async def _session_page(
    page: PageContext, session: AsyncSession, session_id: uuid.UUID, errors=None, posted=None, status: int = 200
) -> Response:
    org = admin_only(page)
    current = await service.get_session(session, session_id)
    if current.organization_id != org:
        raise not_found("academic session")
    history = await every(lambda p: closing.history(session, session_id, p))
    names = {m.user_id: m.name for m in await views.members(session, org)}
    return _render(
        page,
        "admin/academic_session.html",
        status,
        current=current,
        parent=await service.get_session(session, current.parent_id) if current.parent_id else None,
        history=history,
        names=names,
        actions=ACTIONS,
        errors=errors or {},
        posted=posted or {},
    )


@router.get(BASE + "/sessions/{session_id}")
async def session_page(session_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _session_page(page, session, session_id)


async def _session_change(page, session, session_id: uuid.UUID, posted: dict, model, change, notice) -> Response:
    await _session_page(page, session, session_id)  # 404 before reading anything else
    body, errors = parsed(model, {k: v for k, v in posted.items() if v is not None})
    problem: Problem | None = None
    if body is not None:
        _, problem = await attempt(session, lambda: change(body))
        if problem is None:
            return page.redirect(f"{BASE}/sessions/{session_id}", notice)
        errors = problem_errors(problem)
    status = 422 if problem is None else problem.status
    return await _session_page(page, session, session_id, errors, posted, status)


@router.post(BASE + "/sessions/{session_id}")
async def edit_session(session_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    posted = _fields(form, ("title", "start_date", "end_date"))
    return await _session_change(
        page,
        session,
        session_id,
        {**posted, "title": posted["title"] or ""},
        schemas.SessionUpdate,
        lambda body: service.update_session(session, session_id, body),
        "Saved.",
    )


@router.post(BASE + "/sessions/{session_id}/close")
async def close_period(session_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    posted = _fields(form, ("note",))
    return await _session_change(
        page,
        session,
        session_id,
        posted,
        schemas.CloseBody,
        lambda body: closing.close_period(session, session_id, page.user_id, body.note),
        "Grading period closed: its grades are locked until it is reopened.",
    )


@router.post(BASE + "/sessions/{session_id}/reopen")
async def reopen_period(session_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    posted = {"reason": text(form, "reason") or ""}
    return await _session_change(
        page,
        session,
        session_id,
        posted,
        schemas.ReopenBody,
        lambda body: closing.reopen_period(session, session_id, body.reason),
        "Grading period reopened.",
    )
