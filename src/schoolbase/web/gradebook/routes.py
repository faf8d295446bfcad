"""The gradebook grid of a class for its staff: grades entered from the keyboard (a cell at a
time by the page's script, or every changed cell with "Save grades"), and its CSV download.

Reads are the API's ``GET /classes/{id}/gradebook`` (``grading.gradebook``); grades are
saved as ``PUT /submissions/{id}/grade`` saves them (``web.gradebook.entry``)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import FormData

from schoolbase.csvexport import csv_response
from schoolbase.grading import gradebook as gradebooks
from schoolbase.web import csrf
from schoolbase.web.context import PageContext
from schoolbase.web.deps import AnyonePage, Form, Page, PageSession
from schoolbase.web.gradebook import entry, periods, views
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)

# The grid posts a field per cell: a class of 30 x 40 is over Starlette's default of 1,000.
MAX_GRID_FIELDS = 20_000


async def grid_form(page: AnyonePage) -> FormData:
    """The posted grid, read with room for a field per cell (the request keeps it, so the
    CSRF check reads the same form), after its CSRF token matched."""
    await page.request.form(max_fields=MAX_GRID_FIELDS)
    return await csrf.checked_form(page.request, page.settings)


GridForm = Annotated[FormData, Depends(grid_form)]
Period = Annotated[uuid.UUID | None, Query(alias="period", description="a grading period; none: the year")]


def gradebook_url(class_id: uuid.UUID, period_id: uuid.UUID | None = None) -> str:
    return f"/teach/classes/{class_id}/gradebook" + (f"?period={period_id}" if period_id else "")


async def _render_book(
    page: PageContext,
    session,
    staff: views.StaffGradebook,
    period_id: uuid.UUID | None,
    status: int = 200,
    *,
    refused=None,
    saved: str = "",
    new_state: str = "final",
    override_errors: dict | None = None,
) -> Response:
    listed = await periods.grading_periods(session, staff.cls)
    return render(
        page,
        "gradebook/gradebook.html",
        status,
        book=views.page_view(staff, page.time_zone, refused),
        saved=saved,
        new_state=new_state,
        periods=listed,
        period=periods.chosen(listed, period_id),
        override_errors=override_errors or {},
    )


def _saved_notice(count: int) -> str:
    if count == 0:
        return "No changes to save."
    return "Saved 1 grade." if count == 1 else f"Saved {count} grades."


@router.get("/teach/classes/{class_id}/gradebook")
async def gradebook_page(class_id: uuid.UUID, page: Page, session: PageSession, period: Period = None) -> Response:
    """The whole year, or (``period``) one grading period's assignments with its overrides."""
    staff = await views.staff_gradebook(session, class_id, period)
    return await _render_book(page, session, staff, period)


@router.post("/teach/classes/{class_id}/gradebook")
async def save_grades(
    class_id: uuid.UUID, page: Page, form: GridForm, session: PageSession, period: Period = None
) -> Response:
    """Without the script: every cell whose points changed is saved; refused ones (a closed
    grading period among them) are shown again beside their cells, with what was typed."""
    staff = await views.staff_gradebook(session, class_id, period)
    new_state = entry.new_grade_state(form)
    saved, refused, status = await entry.save_changed(
        session, staff, entry.posted_cells(form), grader_id=page.user_id, new_state=new_state
    )
    if not refused:
        return page.redirect(gradebook_url(class_id, period), _saved_notice(saved))
    staff = await views.staff_gradebook(session, class_id, period)
    notice = _saved_notice(saved) if saved else ""
    return await _render_book(
        page, session, staff, period, status, refused=refused, saved=notice, new_state=new_state.value
    )


@router.post("/teach/classes/{class_id}/gradebook/overrides/{student_id}")
async def set_override(
    class_id: uuid.UUID, student_id: uuid.UUID, page: Page, form: Form, session: PageSession, period: Period = None
) -> Response:
    """A student's grade for the grading period instead of the computed one, with a reason
    (also while the period is closed); ``remove`` takes the override away, with a reason."""
    staff = await views.staff_gradebook(session, class_id, period)
    if period is None or staff.book.period_id is None:
        return page.redirect(gradebook_url(class_id), "Choose a grading period first.")
    if form.get("remove"):
        why = await periods.remove_override(session, staff.cls, period, student_id, form)
    else:
        why = await periods.set_override(session, staff.cls, period, student_id, form, page.user_id)
    if why is None:
        return page.redirect(gradebook_url(class_id, period), "Period grade saved.")
    staff = await views.staff_gradebook(session, class_id, period)
    return await _render_book(page, session, staff, period, 422, override_errors={student_id: why})


@router.post("/teach/classes/{class_id}/gradebook/cell")
async def save_cell(class_id: uuid.UUID, page: Page, form: Form, session: PageSession) -> Response:
    """The page's script saves one cell: JSON with the cell and the student's course
    percentage as they are now, or the error to show beside the cell."""
    cls = await views.class_for_staff(session, class_id)
    key = entry.posted_key(form)
    if key is None:
        return JSONResponse({"error": "This cell is not part of the gradebook; reload the page."}, 422)
    problem = await entry.save_points(
        session,
        cls,
        key,
        str(form.get("points", "")).strip(),
        grader_id=page.user_id,
        new_state=entry.new_grade_state(form),
    )
    if problem is not None:
        return JSONResponse({"error": entry.message(problem)}, problem.status)
    staff = await views.staff_gradebook(session, class_id)
    return JSONResponse(views.cell_json(staff, key))


@router.get("/teach/classes/{class_id}/gradebook.csv")
async def gradebook_csv(class_id: uuid.UUID, _: Page, session: PageSession, period: Period = None) -> StreamingResponse:
    """The same file as the API's ``GET /classes/{id}/gradebook.csv``."""
    await views.class_for_staff(session, class_id)
    book = await gradebooks.gradebook(session, class_id, period)
    return csv_response(f"gradebook-{class_id}.csv", *gradebooks.gradebook_table(book))
