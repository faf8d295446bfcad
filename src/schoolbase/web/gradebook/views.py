"""The gradebook grid as a page shows it: the API's gradebook (``grading.gradebook``, one
query for the grid and the course percentages) for the class's staff, with every cell's
text, marks and whether it takes points worked out here.

A 30 × 40 class is 1,200 cells: each row's cells are written here as one piece of HTML
(``cells_html``, every text escaped) that the template puts in place, instead of a
template loop with its conditions and escaping per cell, which made the page take about
1.6× the time of the API call (docs/benchmarks.md)."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from html import escape

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import get_visible
from schoolbase.grading import gradebook as gradebooks
from schoolbase.grading.access import require_manager
from schoolbase.grading.gradebook_schemas import Gradebook, GradebookCell, GradebookRow, PeriodOverride
from schoolbase.models import AssignmentRubric, Class, GradeState, SubmissionStatus
from schoolbase.web import formatting

Key = tuple[uuid.UUID, uuid.UUID]  # (student, assignment)
TURNED_IN = {SubmissionStatus.submitted, SubmissionStatus.late}
NOT_TURNED_IN = {None, SubmissionStatus.draft}


@dataclass
class Entry:
    """What was typed into a cell that could not be saved, and why."""

    text: str
    error: str


@dataclass
class Column:
    key: int
    assignment_id: uuid.UUID
    title: str
    category: str
    points_possible: str
    due: str
    by_rubric: bool


@dataclass
class Cell:
    key: str  # "row_column", the input's name and id
    editable: bool
    value: str
    mark: str = ""
    error: str = ""
    empty: bool = False  # nothing turned in


@dataclass
class Row:
    key: int
    student_id: uuid.UUID
    name: str
    course: str
    letter: str
    cells_html: Markup = Markup("")
    shown: str = ""  # the points each cell showed, joined by "|": what "Save grades" compares with
    override: PeriodOverride | None = None  # in a grading period: the teacher's period grade


@dataclass
class Category:
    name: str
    weight: str
    drop_lowest: int


@dataclass
class GradebookPage:
    cls: Class
    categories: list[Category]
    weights_total: str
    weights_add_up: bool
    columns: list[Column]
    rows: list[Row]
    errors: list[tuple[str, str]]  # (cell key, "Student, Assignment: message")


@dataclass
class StaffGradebook:
    """The class and its gradebook as its staff see it, and which columns are graded by rubric."""

    cls: Class
    book: Gradebook
    by_rubric: set[uuid.UUID]

    @cached_property
    def cells(self) -> dict[Key, GradebookCell]:
        return {(row.student_id, c.assignment_id): c for row in self.book.students for c in row.cells}

    def row(self, student_id: uuid.UUID) -> GradebookRow | None:
        return next((row for row in self.book.students if row.student_id == student_id), None)


async def class_for_staff(session: AsyncSession, class_id: uuid.UUID) -> Class:
    """The class, when the caller is its teacher, an org admin or a super admin: 404 when it
    is not visible to them, 403 for anyone else who sees it (a student or parent)."""
    cls = await get_visible(session, Class, class_id, "class")
    await require_manager(session, cls.organization_id, class_id, "open the class's gradebook")
    return cls


async def staff_gradebook(
    session: AsyncSession, class_id: uuid.UUID, period_id: uuid.UUID | None = None
) -> StaffGradebook:
    cls = await class_for_staff(session, class_id)
    book = await gradebooks.gradebook(session, class_id, period_id)
    return StaffGradebook(
        cls, book, await rubric_assignments(session, cls, [a.assignment_id for a in book.assignments])
    )


async def rubric_assignments(session: AsyncSession, cls: Class, assignment_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these assignments are graded by a rubric (their points are the rubric's sum)."""
    if not assignment_ids:
        return set()
    return set(
        await session.scalars(
            select(AssignmentRubric.assignment_id).where(
                AssignmentRubric.organization_id == cls.organization_id,
                AssignmentRubric.assignment_id.in_(assignment_ids),
            )
        )
    )


def shown_points(cell: GradebookCell) -> str:
    """The points a cell's input holds: the teacher's grade (before any late penalty), empty
    while there is none (an AI suggestion is not a grade yet)."""
    if cell.grade_id is None or cell.grade_state == GradeState.ai_suggested or cell.points is None:
        return ""
    return formatting.points(cell.points)


def cell_marks(cell: GradebookCell) -> str:
    """The short notes beside a cell's points: late (and its penalty), missing, to grade,
    draft, an AI suggestion waiting."""
    marks = []
    graded = cell.grade_id is not None and cell.grade_state != GradeState.ai_suggested
    if cell.grade_state == GradeState.ai_suggested:
        marks.append(f"AI suggests {formatting.points(cell.points)}")
    if not graded:
        if cell.status == SubmissionStatus.missing:
            marks.append("missing")
        elif cell.status in TURNED_IN:
            marks.append("late, to grade" if cell.status == SubmissionStatus.late else "to grade")
    else:
        if cell.grade_state == GradeState.draft:
            marks.append("draft")
        if cell.final_points is not None and cell.points is not None and cell.final_points < cell.points:
            marks.append(f"late −{formatting.points(cell.points - cell.final_points)}")
    return ", ".join(marks)


def cell_view(key: str, cell: GradebookCell, by_rubric: bool, entry: Entry | None = None) -> Cell:
    """One cell of the grid. It takes points where the API grades by points: work turned in
    or marked missing, in an assignment without a rubric; not where nothing was turned in
    (mark it missing first, on the assignment's page) or the student is excused."""
    if cell.status in NOT_TURNED_IN:
        return Cell(key, False, "", "not turned in", empty=True)
    if cell.status == SubmissionStatus.excused:
        return Cell(key, False, "", "excused")
    marks = cell_marks(cell)
    if by_rubric:
        marks = f"{marks}, by rubric" if marks else "by rubric"
    if entry is not None:
        return Cell(key, not by_rubric, entry.text, marks, entry.error)
    return Cell(key, not by_rubric, shown_points(cell), marks)


def cells_html(row: int, cells: Iterable[Cell]) -> Markup:
    """A row's cells as HTML: an input where the cell takes points (named by its grid
    position, labelled by its student and assignment headers, described by its marks and
    error), the points and marks where it does not."""
    html = []
    for column, cell in enumerate(cells):
        key, mark = cell.key, escape(cell.mark)
        if cell.editable:
            error = f'<span class="cell-error" id="e{key}">{escape(cell.error)}</span>' if cell.error else ""
            described = f'e{key} m{key}" aria-invalid="true' if cell.error else f"m{key}"
            html.append(
                f'<td><input id="c{key}" name="c{key}" value="{escape(cell.value)}" inputmode="decimal"'
                f' autocomplete="off" aria-labelledby="s{row} a{column}" aria-describedby="{described}">'
                f'<span class="mark" id="m{key}">{mark}</span>{error}</td>'
            )
        elif cell.empty:
            html.append(
                '<td class="fixed"><span aria-hidden="true">—</span><span class="visually-hidden">not turned in</span></td>'
            )
        else:
            html.append(f'<td class="fixed">{escape(cell.value)} <span class="mark">{mark}</span></td>')
    return Markup("".join(html))  # every text in it is escaped above


def course_text(row: GradebookRow | None) -> tuple[str, str]:
    if row is None:
        return formatting.NOTHING, ""
    return formatting.percent(row.course_percentage), row.course_letter or ""


def page_view(staff: StaffGradebook, time_zone: str, entries: Mapping[Key, Entry] | None = None) -> GradebookPage:
    """The whole grid: columns by due date (each labelled with its category), a row per
    student with the course percentage, and the cells; ``entries`` are typed values that
    were refused, shown again with why beside them."""
    book, entries = staff.book, entries or {}
    category_names = {c.id: c.name for c in book.categories}
    columns = [
        Column(
            key=j,
            assignment_id=a.assignment_id,
            title=a.title,
            category=category_names.get(a.category_id, ""),
            points_possible=formatting.points(a.points_possible),
            due=formatting.day(a.due_at, time_zone) if a.due_at else "no due date",
            by_rubric=a.assignment_id in staff.by_rubric,
        )
        for j, a in enumerate(book.assignments)
    ]
    rows, errors = [], []
    for i, student in enumerate(book.students):
        course, letter = course_text(student)
        name = student.display_name or "Unnamed student"
        row = Row(
            key=i, student_id=student.student_id, name=name, course=course, letter=letter, override=student.override
        )
        by_assignment = {c.assignment_id: c for c in student.cells}
        cells, shown = [], []
        for column in columns:
            key = f"{i}_{column.key}"
            entry = entries.get((student.student_id, column.assignment_id)) if entries else None
            cell = by_assignment.get(column.assignment_id)
            view = (
                cell_view(key, cell, column.by_rubric, entry) if cell is not None else Cell(key, False, "", empty=True)
            )
            cells.append(view)
            shown.append("" if not view.editable else view.value if entry is None else shown_points(cell))
            if entry is not None:
                errors.append((key if view.error else "", f"{name}, {column.title}: {entry.error}"))
        row.cells_html, row.shown = cells_html(i, cells), "|".join(shown)
        rows.append(row)
    errors += [("", entry.error) for at, entry in entries.items() if at not in staff.cells]  # not in the grid
    total = sum((c.weight_percent for c in book.categories), Decimal(0))
    return GradebookPage(
        cls=staff.cls,
        categories=[Category(c.name, formatting.percent(c.weight_percent), c.drop_lowest) for c in book.categories],
        weights_total=formatting.percent(total),
        weights_add_up=total == 100,
        columns=columns,
        rows=rows,
        errors=errors,
    )


def cell_json(staff: StaffGradebook, key: Key) -> dict[str, str]:
    """A cell just saved, and its student's course percentage, for the page's script."""
    cell = staff.cells.get(key)
    view = cell_view("", cell, key[1] in staff.by_rubric) if cell is not None else Cell("", False, "")
    course, letter = course_text(staff.row(key[0]))
    return {"value": view.value, "mark": view.mark, "course": course, "letter": letter}
