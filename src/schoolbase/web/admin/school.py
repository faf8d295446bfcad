"""The org admin's pages, part two: classes and their enrollments, guardianships (a parent and
their child) and the grading scale, through the services the API uses, as the admin."""

import uuid

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from schoolbase.academics import service as academics
from schoolbase.academics.schemas import ClassAcademics
from schoolbase.grading import scale
from schoolbase.grading.schemas import GradingScaleIn
from schoolbase.models import AcademicSession, Course, MembershipRole, School
from schoolbase.problems import not_found
from schoolbase.tenancy import schemas
from schoolbase.tenancy import service as tenancy
from schoolbase.web.admin import views
from schoolbase.web.admin.views import admin_only
from schoolbase.web.context import PageContext
from schoolbase.web.deps import Form, Page, PageSession
from schoolbase.web.forms import attempt, parsed, problem_errors, text
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)
CLASS_FIELDS = ("name", "subject", "grade_level", "term")
EXTRA_LEVELS = 3  # empty rows under the scale's levels, for new letters


def _class_form(form) -> dict[str, str | None]:
    return {name: text(form, name) for name in CLASS_FIELDS}


# Classes


async def _classes_page(page: PageContext, session, errors=None, posted=None, status: int = 200) -> Response:
    org = admin_only(page)
    return render(
        page,
        "admin/classes.html",
        status,
        classes=await views.classes(session, org),
        errors=errors or {},
        posted=posted or {},
    )


@router.get("/admin/classes")
async def classes_page(page: Page, session: PageSession) -> Response:
    return await _classes_page(page, session)


@router.post("/admin/classes")
async def create_class(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    posted = _class_form(form)
    body, errors = parsed(schemas.ClassCreate, {k: v for k, v in posted.items() if v is not None})
    if body is not None:
        klass, problem = await attempt(session, lambda: tenancy.create_class(session, org, body))
        if problem is None:
            return page.redirect(f"/admin/classes/{klass.id}", f"Class “{klass.name}” created.")
        errors = problem_errors(problem)
    return await _classes_page(page, session, errors, posted, 422 if body is None else problem.status)


async def _class_page(
    page: PageContext, session, class_id: uuid.UUID, errors=None, posted=None, status: int = 200
) -> Response:
    org = admin_only(page)
    klass = await views.school_class(session, org, class_id)
    roster = await views.roster(session, class_id)
    everyone = await views.members(session, org)
    taken = {(e.user_id, e.role) for e in roster}
    candidates = {
        role: [m for m in everyone if role in m.roles and (m.user_id, role) not in taken]
        for role in (MembershipRole.teacher, MembershipRole.student)
    }
    return render(
        page,
        "admin/class.html",
        status,
        klass=klass,
        roster=roster,
        candidates=candidates,
        placed=await academics.class_academics(session, class_id),
        choices=await _academic_choices(session, org),
        errors=errors or {},
        posted=posted or {},
    )


async def _academic_choices(session, org: uuid.UUID) -> dict[str, list]:
    """The organization's schools, courses and academic sessions, for placing a class."""

    async def rows(model, *order) -> list:
        return list(await session.scalars(select(model).where(model.organization_id == org).order_by(*order)))

    return {
        "schools": await rows(School, School.name),
        "courses": await rows(Course, Course.title),
        "terms": await rows(AcademicSession, AcademicSession.start_date, AcademicSession.title),
    }


@router.post("/admin/classes/{class_id}/academics")
async def place_class(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    """As ``PUT /classes/{id}/academics``: the class's school, course, code and terms at once."""
    klass = await views.school_class(session, admin_only(page), class_id)
    posted = {
        "school_id": text(form, "school_id"),
        "course_id": text(form, "course_id"),
        "class_code": text(form, "class_code"),
        "term_ids": [str(value) for value in form.getlist("term_ids")],
    }
    body, errors = parsed(ClassAcademics, posted)
    if body is not None:
        _, problem = await attempt(session, lambda: academics.set_class_academics(session, class_id, body))
        if problem is None:
            return page.redirect(f"/admin/classes/{class_id}#placement", f"Where “{klass.name}” belongs was saved.")
        errors = problem_errors(problem)
    return await _class_page(page, session, class_id, errors, posted, 422 if body is None else problem.status)


@router.get("/admin/classes/{class_id}")
async def class_page(class_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    return await _class_page(page, session, class_id)


@router.post("/admin/classes/{class_id}")
async def edit_class(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    await views.school_class(session, admin_only(page), class_id)
    posted = _class_form(form)
    # Sent empty, an optional field is cleared; the name stays required.
    body, errors = parsed(schemas.ClassUpdate, {**posted, "name": posted["name"] or ""})
    if body is not None:
        klass, problem = await attempt(session, lambda: tenancy.update_class(session, class_id, body))
        if problem is None:
            return page.redirect(f"/admin/classes/{class_id}", f"Class “{klass.name}” saved.")
        errors = problem_errors(problem)
    return await _class_page(page, session, class_id, errors, posted, 422 if body is None else problem.status)


@router.post("/admin/classes/{class_id}/delete")
async def delete_class(class_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    klass = await views.school_class(session, admin_only(page), class_id)
    _, problem = await attempt(session, lambda: tenancy.delete_class(session, class_id))
    if problem is not None:
        return await _class_page(page, session, class_id, {"delete": problem.detail}, status=problem.status)
    return page.redirect("/admin/classes", f"Class “{klass.name}” deleted.")


@router.post("/admin/classes/{class_id}/enrollments")
async def enroll(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    await views.school_class(session, admin_only(page), class_id)
    role = text(form, "role") if text(form, "role") in ("teacher", "student") else "student"
    body, errors = parsed(schemas.EnrollmentCreate, {"user_id": text(form, "user_id"), "role": role})
    field = f"{role}-user_id"
    if body is not None:
        _, problem = await attempt(session, lambda: tenancy.enroll(session, class_id, body))
        if problem is None:
            return page.redirect(f"/admin/classes/{class_id}#roster", f"Added to the class as {role}.")
        errors = {"user_id": problem.detail or problem.title}
    errors = {field: "Choose a person from the list." if "user_id" in errors else next(iter(errors.values()))}
    return await _class_page(page, session, class_id, errors, status=422 if body is None else problem.status)


@router.post("/admin/classes/{class_id}/enrollments/{enrollment_id}/delete")
async def unenroll(class_id: uuid.UUID, enrollment_id: uuid.UUID, page: Page, _: Form, session: PageSession):
    await views.school_class(session, admin_only(page), class_id)
    found = next((e for e in await views.roster(session, class_id) if e.enrollment_id == enrollment_id), None)
    if found is None:
        raise not_found("enrollment")
    await tenancy.unenroll(session, class_id, enrollment_id)
    return page.redirect(f"/admin/classes/{class_id}#roster", f"{found.name} is no longer in this class.")


# Guardianships


async def _guardianships_page(page: PageContext, session, errors=None, posted=None, status: int = 200):
    org = admin_only(page)
    everyone = await views.members(session, org)
    return render(
        page,
        "admin/guardianships.html",
        status,
        guardianships=await views.guardianships(session, org),
        parents=views.with_role(everyone, MembershipRole.parent),
        students=views.with_role(everyone, MembershipRole.student),
        errors=errors or {},
        posted=posted or {},
    )


@router.get("/admin/guardianships")
async def guardianships_page(page: Page, session: PageSession) -> Response:
    return await _guardianships_page(page, session)


@router.post("/admin/guardianships")
async def add_guardianship(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    posted = {"parent_id": text(form, "parent_id"), "student_id": text(form, "student_id")}
    body, errors = parsed(schemas.GuardianshipCreate, posted)
    if body is not None:
        _, problem = await attempt(session, lambda: tenancy.create_guardianship(session, org, body))
        if problem is None:
            return page.redirect("/admin/guardianships", "The parent now sees this child's classes and grades.")
        errors = problem_errors(problem)
    errors = {name: "Choose someone from the list." if name in posted else why for name, why in errors.items()}
    return await _guardianships_page(page, session, errors, posted, 422 if body is None else problem.status)


@router.post("/admin/guardianships/{guardianship_id}/delete")
async def remove_guardianship(guardianship_id: uuid.UUID, page: Page, _: Form, session: PageSession) -> Response:
    org = admin_only(page)
    found = next((g for g in await views.guardianships(session, org) if g.id == guardianship_id), None)
    if found is None:
        raise not_found("guardianship")
    await tenancy.delete_guardianship(session, guardianship_id)
    return page.redirect("/admin/guardianships", f"{found.parent} no longer sees {found.student}'s work.")


# The grading scale


async def _scale_page(page: PageContext, session, rows=None, errors=None, status: int = 200) -> Response:
    org = admin_only(page)
    current = await scale.get_grading_scale(session, org)
    if rows is None:
        rows = [(level.letter, f"{level.min_percent.normalize():f}") for level in current.levels]
        rows += [("", "")] * EXTRA_LEVELS
    return render(page, "admin/grading_scale.html", status, scale=current, rows=rows, errors=errors or {})


@router.get("/admin/grading-scale")
async def scale_page(page: Page, session: PageSession) -> Response:
    return await _scale_page(page, session)


@router.post("/admin/grading-scale")
async def set_scale(page: Page, form: Form, session: PageSession) -> Response:
    org = admin_only(page)
    rows = [(text(form, f"letter-{i}") or "", text(form, f"min-{i}") or "") for i in range(50) if f"letter-{i}" in form]
    levels = [{"letter": letter, "min_percent": low} for letter, low in rows if letter or low]
    if not levels:
        return await _scale_page(
            page, session, rows, {"form": "Give at least one letter, or use the default scale."}, 422
        )
    body, errors = parsed(GradingScaleIn, {"levels": levels})
    if body is not None:
        _, problem = await attempt(session, lambda: scale.set_grading_scale(session, org, body))
        if problem is None:
            return page.redirect("/admin/grading-scale", "The grading scale is saved; grades are re-lettered.")
        errors = problem_errors(problem)
    # Errors of level n (of the non-empty rows) go beside that row's fields.
    filled = [i for i, (letter, low) in enumerate(rows) if letter or low]
    shown = {}
    for name, why in errors.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "levels" and parts[1].isdigit():
            prefix = "letter" if parts[2] == "letter" else "min"
            shown[f"{prefix}-{filled[int(parts[1])]}"] = why
        else:
            shown["form"] = why
    return await _scale_page(page, session, rows, shown, 422 if body is None else problem.status)


@router.post("/admin/grading-scale/default")
async def default_scale(page: Page, _: Form, session: PageSession) -> Response:
    org = admin_only(page)
    await scale.set_grading_scale(session, org, GradingScaleIn(levels=[]))
    return page.redirect("/admin/grading-scale", "The default scale (A 90, B 80, C 70, D 60, F 0) is in use again.")
