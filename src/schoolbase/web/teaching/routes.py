"""The teacher's pages: my classes, a class (roster, categories, assignments), the assignment
editor with its rubric builder, and an assignment's submissions with the teacher's moves
(publish, close, post grades, mark missing, excuse). Each change goes through the grading
services the API uses, in the page's one transaction as the teacher."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from schoolbase.grading import assignments, categories, grades, rubrics, submissions
from schoolbase.grading.schemas import CategoryCreate, CategoryUpdate
from schoolbase.models import Assignment, Class, SubmissionStatus
from schoolbase.problems import Problem
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, local_path, parsed, text
from schoolbase.web.teaching import editor, views
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/teach")
async def my_classes(page: Page, session: PageSession) -> Response:
    return render(page, "teaching/classes.html", cards=await views.my_classes(session, page))


# A class: roster, categories, assignments


async def _class_page(
    page: PageContext, session, klass: Class, status: int = 200, category_errors: dict | None = None, posted=None
) -> Response:
    rows = await views.categories(session, klass.id)
    names = {row.category.id: row.category.name for row in rows}
    return render(
        page,
        "teaching/class.html",
        status,
        klass=klass,
        roster=await views.roster(session, klass.id),
        categories=rows,
        total_weight=views.total_weight(rows),
        assignments=await views.class_assignments(session, klass.id, names),
        errors=category_errors or {},
        summary=_category_summary(category_errors or {}, rows),
        posted=posted or {},
    )


_CATEGORY_FIELDS = {"name": "name", "weight_percent": "weight", "drop_lowest": "lowest scores dropped"}


def _category_summary(errors: dict[str, str], rows: list[views.CategoryRow]) -> dict[str, str]:
    """The category errors for the summary: each says which category and field it is about."""
    forms = {f"category-{row.category.id}-": f"Category “{row.category.name}”" for row in rows} | {
        "new-": "New category"
    }
    said = {}
    for name, message in errors.items():
        prefix = next((p for p in forms if name.startswith(p)), None)
        field = _CATEGORY_FIELDS.get(name.removeprefix(prefix or ""))
        where = forms.get(prefix) if prefix else None
        said[name] = f"{where}{', ' + field if field else ''}: {message}" if where else message
    return said


@router.get("/teach/classes/{class_id}")
async def class_page(class_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _class_page(page, session, await views.taught_class(session, page, class_id))


def _category_form(form, prefix: str) -> tuple[CategoryCreate | None, dict[str, str], dict[str, str]]:
    """A category form (its fields named ``prefix`` + the schema's names) read into CategoryCreate."""
    posted = {name: text(form, prefix + name) for name in ("name", "weight_percent", "drop_lowest")}
    body, errors = parsed(CategoryCreate, {name: value for name, value in posted.items() if value is not None})
    return body, {prefix + name: value or "" for name, value in posted.items()}, _prefixed(prefix, errors)


def _prefixed(prefix: str, errors: dict[str, str]) -> dict[str, str]:
    return {prefix + name: message for name, message in errors.items()}


def _category_refusal(problem: Problem, prefix: str) -> dict[str, str]:
    """Too much weight (the database's rule) is said beside the weight; anything else above the form."""
    field = problem.extra.get("field")
    if problem.extra.get("constraint") == "assignment_categories_weights":
        field = "weight_percent"
    return {prefix + (field or "form"): problem.detail or problem.title}


async def _category_change(
    page: PageContext, session, klass: Class, form, prefix: str, change: Callable[[CategoryCreate], Awaitable[Any]]
) -> Response:
    body, posted, errors = _category_form(form, prefix)
    if body is not None:
        done, problem = await attempt(session, lambda: change(body))
        if problem is None:
            return page.redirect(f"/teach/classes/{klass.id}#categories", f"Category “{done.name}” saved.")
        errors = _category_refusal(problem, prefix)
    status = 422 if body is None else problem.status
    return await _class_page(page, session, klass, status, errors, posted)


@router.post("/teach/classes/{class_id}/categories")
async def add_category(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    klass = await views.taught_class(session, page, class_id)
    return await _category_change(
        page, session, klass, form, "new-", lambda body: categories.create_category(session, class_id, body)
    )


@router.post("/teach/classes/{class_id}/categories/{category_id}")
async def edit_category(
    class_id: uuid.UUID, category_id: uuid.UUID, page: Page, form: Form, session: PageSession
) -> Response:
    klass = await views.taught_class(session, page, class_id)
    await categories.get_category(session, class_id, category_id)
    return await _category_change(
        page,
        session,
        klass,
        form,
        f"category-{category_id}-",
        lambda body: categories.update_category(session, class_id, category_id, CategoryUpdate(**body.model_dump())),
    )


@router.post("/teach/classes/{class_id}/categories/{category_id}/delete")
async def delete_category(
    class_id: uuid.UUID, category_id: uuid.UUID, page: Page, _: Form, session: PageSession
) -> Response:
    klass = await views.taught_class(session, page, class_id)
    category = await categories.get_category(session, class_id, category_id)
    _, problem = await attempt(session, lambda: categories.delete_category(session, class_id, category_id))
    if problem is not None:
        errors = {f"category-{category_id}-form": problem.detail or problem.title}
        return await _class_page(page, session, klass, problem.status, errors)
    return page.redirect(f"/teach/classes/{class_id}#categories", f"Category “{category.name}” deleted.")


# The assignment editor


async def _editor_page(
    page: PageContext,
    session,
    klass: Class,
    form: editor.Editor,
    assignment: Assignment | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> Response:
    rows = await views.categories(session, klass.id)
    return render(
        page,
        "teaching/editor.html",
        status,
        klass=klass,
        assignment=assignment,
        form=form,
        categories=[(str(row.category.id), row.category.name) for row in rows],
        types=editor.TYPES,
        max_criteria=editor.MAX_CRITERIA,
        max_levels=editor.MAX_LEVELS,
        errors=errors or {},
        summary=editor.summary(errors or {}),
    )


def _read(posted: editor.Editor, time_zone: str):
    """The editor's assignment and rubric as the API's schemas, and every error in either."""
    body, errors = editor.assignment_body(posted, time_zone)
    rubric, rubric_errors = editor.rubric_body(posted)
    return body, rubric, errors | rubric_errors


@router.get("/teach/classes/{class_id}/assignments/new")
async def new_assignment(class_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    klass = await views.taught_class(session, page, class_id)
    rows = await views.categories(session, class_id)
    return await _editor_page(page, session, klass, editor.blank(str(rows[0].category.id) if rows else ""))


@router.post("/teach/classes/{class_id}/assignments/new")
async def create_assignment(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    klass = await views.taught_class(session, page, class_id)
    posted = editor.of_form(form)
    if editor.change_rows(posted, text(form, "action")):
        return await _editor_page(page, session, klass, posted)
    body, rubric, errors = _read(posted, page.time_zone)
    if errors:
        return await _editor_page(page, session, klass, posted, errors=errors, status=422)

    async def create() -> Assignment:
        created = await assignments.create_assignment(session, page.user_id, class_id, body)
        if rubric is not None:
            await rubrics.set_rubric(session, created.id, rubric)
        return created

    created, problem = await attempt(session, create)
    if problem is not None:
        return await _editor_page(page, session, klass, posted, errors=editor.refusal(problem), status=problem.status)
    notice = f"“{created.title}” is saved as a draft: students see it once you publish it."
    return page.redirect(f"/teach/assignments/{created.id}", notice)


@router.get("/teach/assignments/{assignment_id}/edit")
async def edit_assignment_form(assignment_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    assignment = await views.managed_assignment(session, page, assignment_id)
    klass = await views.taught_class(session, page, assignment.class_id)
    form = editor.of_assignment(assignment, await views.rubric_of(session, assignment_id), page.time_zone)
    return await _editor_page(page, session, klass, form, assignment)


@router.post("/teach/assignments/{assignment_id}/edit")
async def edit_assignment(assignment_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    assignment = await views.managed_assignment(session, page, assignment_id)
    klass = await views.taught_class(session, page, assignment.class_id)
    posted = editor.of_form(form)
    if editor.change_rows(posted, text(form, "action")):
        return await _editor_page(page, session, klass, posted, assignment)
    body, rubric, errors = _read(posted, page.time_zone)
    if errors:
        return await _editor_page(page, session, klass, posted, assignment, errors, 422)
    old_rubric = await views.rubric_of(session, assignment_id)

    async def save() -> Assignment:
        saved = await assignments.update_assignment(session, assignment_id, editor.update_of(body))
        if not editor.same_rubric(rubric, old_rubric):
            if rubric is None:
                await rubrics.delete_rubric(session, assignment_id)
            else:
                await rubrics.set_rubric(session, assignment_id, rubric)
        return saved

    saved, problem = await attempt(session, save)
    if problem is not None:  # the savepoint's rollback expired the assignment: read it again
        assignment = await assignments.get_assignment(session, assignment_id)
        return await _editor_page(page, session, klass, posted, assignment, editor.refusal(problem), problem.status)
    return page.redirect(f"/teach/assignments/{assignment_id}", f"“{saved.title}” is saved.")


# An assignment's submissions and the teacher's moves


async def _assignment_page(
    page: PageContext, session, assignment: Assignment, problem: Problem | None = None
) -> Response:
    klass = await views.taught_class(session, page, assignment.class_id)
    rows = await views.categories(session, klass.id)
    return render(
        page,
        "teaching/assignment.html",
        problem.status if problem else 200,
        klass=klass,
        assignment=assignment,
        category=next((r.category.name for r in rows if r.category.id == assignment.category_id), "—"),
        rubric=await views.rubric_of(session, assignment.id),
        submissions=await views.submissions(session, assignment),
        past_due=await views.past_due(session, assignment),
        problem=problem,
        back=page.request.url.path,
    )


@router.get("/teach/assignments/{assignment_id}")
async def assignment_page(assignment_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _assignment_page(page, session, await views.managed_assignment(session, page, assignment_id))


async def _move(
    page: PageContext,
    session,
    form,
    assignment_id: uuid.UUID,
    change: Callable[[], Awaitable[Any]],
    notice: Callable[[Any], str],
) -> Response:
    """One of the teacher's moves on an assignment; back to where it was asked (the assignment's
    page unless the form says another of its pages) with a notice, or the page with why not."""
    assignment = await views.managed_assignment(session, page, assignment_id)
    done, problem = await attempt(session, change)
    if problem is not None:
        return await _assignment_page(page, session, await assignments.get_assignment(session, assignment.id), problem)
    back = local_path(text(form, "back"), f"/teach/assignments/{assignment_id}")
    if not back.startswith(f"/teach/assignments/{assignment_id}"):
        back = f"/teach/assignments/{assignment_id}"
    return page.redirect(back, notice(done))


# Each move: the service that makes it, and what the notice says about its result.
_MOVES: dict[str, tuple[Callable[[Any, uuid.UUID], Awaitable[Any]], Callable[[Any], str]]] = {
    "publish": (assignments.publish_assignment, lambda done: f"“{done.title}” is published: its students see it now."),
    "close": (assignments.close_assignment, lambda done: f"“{done.title}” is closed: no more work can be turned in."),
    "post-grades": (
        grades.post_grades,
        lambda done: _count(done.posted, "grade is", "grades are") + " posted: students and parents see them now.",
    ),
    "mark-missing": (
        submissions.mark_missing,
        lambda done: _count(done.marked, "student is", "students are") + " marked missing.",
    ),
}
_STUDENT_MOVES = {"excuse": SubmissionStatus.excused, "missing": SubmissionStatus.missing}


def _assignment_move(move: str) -> Callable[..., Awaitable[Response]]:
    change, notice = _MOVES[move]

    async def make_move(assignment_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
        return await _move(page, session, form, assignment_id, lambda: change(session, assignment_id), notice)

    return make_move


# One route per move, so other pages under /teach/assignments/{id}/ (AI grading) stay reachable.
for _move_name in _MOVES:
    router.post(f"/teach/assignments/{{assignment_id}}/{_move_name}")(_assignment_move(_move_name))


@router.post("/teach/assignments/{assignment_id}/students/{student_id}/{move}")
async def student_move(
    assignment_id: uuid.UUID,
    student_id: uuid.UUID,
    move: Literal["excuse", "missing"],
    page: Page,
    form: Form,
    session: PageSession,
) -> Response:
    """Excuse one student, or mark their work missing, with or without a submission."""
    assignment = await views.managed_assignment(session, page, assignment_id)
    name = next((s.name for s in await views.roster(session, assignment.class_id) if s.id == student_id), "The student")
    status = _STUDENT_MOVES[move]
    said = "excused" if status == SubmissionStatus.excused else "marked missing"
    return await _move(
        page,
        session,
        form,
        assignment_id,
        lambda: submissions.set_student_status(session, assignment_id, student_id, status),
        lambda _: f"{name} is {said}.",
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
