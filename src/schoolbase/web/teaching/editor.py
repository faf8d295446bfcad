"""The assignment editor's form: what it shows (from an assignment, or as posted), its rubric
builder's rows (added and removed by submit buttons, so it works without JavaScript), and
reading it into the API's own schemas (``AssignmentCreate`` and ``RubricIn``), with each
error keyed by the name of the field it is about."""

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from schoolbase.grading.schemas import AssignmentCreate, AssignmentUpdate, RubricIn, RubricOut
from schoolbase.models import Assignment, AssignmentType
from schoolbase.problems import Problem
from schoolbase.web import formatting
from schoolbase.web.forms import Errors, errors_of, parsed, problem_errors

TEXTS = (
    "title",
    "instructions",
    "type",
    "category_id",
    "points_possible",
    "late_penalty_percent_per_day",
    "late_penalty_floor_percent",
    "allowed_attempts",
)
TIMES = ("available_from", "due_at", "close_at")
CHECKS = ("accept_late", "visible_to_parents")
MAX_CRITERIA = 50
MAX_LEVELS = 20
TYPES = [(t.value, t.value.capitalize()) for t in AssignmentType]

# Messages about the whole assignment, said beside the field they are about.
_ORDER_ERRORS = {
    "due_at must not be before available_from": ("due_at", "The due date must not be before the date it opens."),
    "close_at must not be before due_at": ("close_at", "The closing date must not be before the due date."),
}
CHOOSE_CATEGORY = "Choose one of this class’s categories."
# Refusals of a save, by problem type: the field they are about.
_REFUSAL_FIELDS = {"points-locked": "points_possible", "rubric-in-use": "rubric"}


@dataclass
class Level:
    title: str = ""
    points: str = ""
    description: str = ""

    def blank(self) -> bool:
        return not (self.title.strip() or self.points.strip() or self.description.strip())


@dataclass
class Criterion:
    title: str = ""
    description: str = ""
    max_points: str = ""
    levels: list[Level] = field(default_factory=list)

    def blank(self) -> bool:
        return not (self.title.strip() or self.description.strip() or self.max_points.strip()) and all(
            level.blank() for level in self.levels
        )


@dataclass
class Editor:
    """The form's values as it shows them: text as typed, times in the organization's zone."""

    values: dict[str, Any]
    rubric_title: str = ""
    criteria: list[Criterion] = field(default_factory=list)
    focus: str | None = None  # the field to put the keyboard in after a row was added or removed


def blank(category_id: str = "") -> Editor:
    values: dict[str, Any] = {name: "" for name in TEXTS + TIMES}
    values |= {
        "type": AssignmentType.homework.value,
        "category_id": category_id,
        "late_penalty_percent_per_day": "0",
        "late_penalty_floor_percent": "0",
        "allowed_attempts": "1",
        "accept_late": True,
        "visible_to_parents": True,
    }
    return Editor(values)


def of_assignment(assignment: Assignment, rubric: RubricOut | None, time_zone: str) -> Editor:
    values: dict[str, Any] = {
        "title": assignment.title,
        "instructions": assignment.instructions or "",
        "type": assignment.type.value,
        "category_id": str(assignment.category_id),
        "points_possible": formatting.points(assignment.points_possible),
        "late_penalty_percent_per_day": formatting.points(assignment.late_penalty_percent_per_day),
        "late_penalty_floor_percent": formatting.points(assignment.late_penalty_floor_percent),
        "allowed_attempts": str(assignment.allowed_attempts),
        "accept_late": assignment.accept_late,
        "visible_to_parents": assignment.visible_to_parents,
    }
    values |= {name: formatting.field_value(getattr(assignment, name), time_zone) for name in TIMES}
    if rubric is None:
        return Editor(values)
    criteria = [
        Criterion(
            c.title,
            c.description or "",
            formatting.points(c.max_points),
            [Level(level.title, formatting.points(level.points), level.description or "") for level in c.levels],
        )
        for c in rubric.criteria
    ]
    return Editor(values, rubric.title, criteria)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def of_form(form: FormData) -> Editor:
    """The editor as posted: its rows are numbered from 0 without gaps."""
    values: dict[str, Any] = {name: _text(form, name) for name in TEXTS + TIMES}
    values |= {name: name in form for name in CHECKS}
    criteria = []
    for i in range(MAX_CRITERIA):
        prefix = f"criteria-{i}-"
        if f"{prefix}title" not in form:
            break
        levels = []
        for j in range(MAX_LEVELS):
            level = f"{prefix}levels-{j}-"
            if f"{level}title" not in form:
                break
            levels.append(
                Level(_text(form, f"{level}title"), _text(form, f"{level}points"), _text(form, f"{level}description"))
            )
        criteria.append(
            Criterion(
                _text(form, f"{prefix}title"),
                _text(form, f"{prefix}description"),
                _text(form, f"{prefix}max_points"),
                levels,
            )
        )
    return Editor(values, _text(form, "rubric_title"), criteria)


def change_rows(editor: Editor, action: str | None) -> bool:
    """Apply a rubric builder button (add or remove a criterion or a level); False for any
    other action (saving)."""
    parts = (action or "").split("-")
    match parts:
        case ["add", "criterion"] if len(editor.criteria) < MAX_CRITERIA:
            editor.criteria.append(Criterion())
            editor.focus = f"field-criteria-{len(editor.criteria) - 1}-title"
        case ["add", "level", i] if _row(i, editor.criteria) and len(editor.criteria[int(i)].levels) < MAX_LEVELS:
            levels = editor.criteria[int(i)].levels
            levels.append(Level())
            editor.focus = f"field-criteria-{i}-levels-{len(levels) - 1}-title"
        case ["remove", "criterion", i] if _row(i, editor.criteria):
            editor.criteria.pop(int(i))
            editor.focus = "add-criterion"
        case ["remove", "level", i, j] if _row(i, editor.criteria) and _row(j, editor.criteria[int(i)].levels):
            editor.criteria[int(i)].levels.pop(int(j))
            editor.focus = f"add-level-{i}"
        case ["add" | "remove", *_]:
            pass  # a row past the limits, or one that is gone: show the form again as it is
        case _:
            return False
    return True


def _row(index: str, rows: list) -> bool:
    return index.isdigit() and int(index) < len(rows)


def _people(message: str) -> str:
    return "This is required." if message == "Field required" else message.replace("max_points", "the maximum points")


# Reading the form into the API's schemas


def assignment_body(editor: Editor, time_zone: str) -> tuple[AssignmentCreate | None, Errors]:
    """The assignment as the API's create schema (the editor validates an update the same way)."""
    data: dict[str, Any] = {name: editor.values[name].strip() for name in TEXTS if editor.values[name].strip()}
    data |= {name: editor.values[name] for name in CHECKS}
    errors: Errors = {}
    for name in TIMES:
        try:
            data[name] = formatting.parse_local(editor.values[name].strip(), time_zone)
        except ValueError:
            errors[name] = "Enter a date and a time."
    body, found = parsed(AssignmentCreate, data)
    for name, message in found.items():
        name, message = _ORDER_ERRORS.get(message, (name, message))
        if name == "category_id":
            message = CHOOSE_CATEGORY
        errors.setdefault(name, _people(message))
    return (body if not errors else None), errors


def update_of(body: AssignmentCreate) -> AssignmentUpdate:
    """Every field of the editor, as a change to the assignment."""
    return AssignmentUpdate(**body.model_dump())


def rubric_body(editor: Editor) -> tuple[RubricIn | None, Errors]:
    """The rubric as the API's schema, or None when every criterion row is blank (no rubric).
    Blank rows are left out; errors name the rows as the form numbers them."""
    rows = [(i, c) for i, c in enumerate(editor.criteria) if not c.blank()]
    if not rows:
        return None, {}
    level_rows = [[j for j, level in enumerate(c.levels) if not level.blank()] for _, c in rows]
    data = {
        "title": editor.rubric_title.strip() or "Rubric",
        "criteria": [
            _present(
                title=c.title.strip(),
                description=c.description.strip(),
                max_points=c.max_points.strip(),
                levels=[_present(**vars(c.levels[j])) for j in level_rows[k]],
            )
            for k, (_, c) in enumerate(rows)
        ],
    }
    try:
        return RubricIn.model_validate(data), {}
    except ValueError as exc:
        errors: Errors = {}
        for name, message in errors_of(exc).items():
            errors.setdefault(_rubric_field(name.split("."), rows, level_rows), _people(message))
        return None, errors


def _present(**values: Any) -> dict[str, Any]:
    return {name: value.strip() if isinstance(value, str) else value for name, value in values.items() if value}


def _rubric_field(loc: list[str], rows: list, level_rows: list[list[int]]) -> str:
    """The form field a rubric error is about, from its place in ``RubricIn``."""
    match loc:
        case ["title"]:
            return "rubric_title"
        case ["criteria", k, "levels", m, name, *_]:
            return f"criteria-{rows[int(k)][0]}-levels-{level_rows[int(k)][int(m)]}-{name}"
        case ["criteria", k, "levels", *_]:
            return f"criteria-{rows[int(k)][0]}-max_points"
        case ["criteria", k, name, *_]:
            return f"criteria-{rows[int(k)][0]}-{name}"
        case ["criteria", k]:
            return f"criteria-{rows[int(k)][0]}-max_points"  # a level worth more than the criterion
        case _:
            return "rubric"


def same_rubric(new: RubricIn | None, old: RubricOut | None) -> bool:
    if new is None or old is None:
        return new is None and old is None

    def shape(rubric: RubricIn | RubricOut) -> list:
        return [
            (
                c.title,
                c.description or None,
                c.max_points,
                [(lv.title, lv.points, lv.description or None) for lv in c.levels],
            )
            for c in rubric.criteria
        ]

    return new.title == old.title and shape(new) == shape(old)


LABELS = {
    "title": "Title",
    "type": "Type",
    "category_id": "Category",
    "points_possible": "Points possible",
    "instructions": "Instructions",
    "available_from": "Available from",
    "due_at": "Due",
    "close_at": "Closes",
    "accept_late": "Accept late work",
    "late_penalty_percent_per_day": "Late penalty per day",
    "late_penalty_floor_percent": "Lowest late grade",
    "allowed_attempts": "Allowed attempts",
    "visible_to_parents": "Parents",
    "rubric_title": "Rubric title",
    "rubric": "Rubric",
}
_PARTS = {"title": "title", "max_points": "maximum points", "description": "description", "points": "points"}


def label(name: str) -> str | None:
    """The label a person reads for the field ``name`` (with its row in the rubric)."""
    match name.split("-"):
        case ["criteria", i, "levels", j, part]:
            return f"Criterion {int(i) + 1}, level {int(j) + 1}, {_PARTS.get(part, part)}"
        case ["criteria", i, part]:
            return f"Criterion {int(i) + 1}, {_PARTS.get(part, part)}"
        case _:
            return LABELS.get(name)


def summary(errors: Errors) -> Errors:
    """The errors for the summary above the form: each says which field it is about."""
    return {name: f"{label(name)}: {message}" if label(name) else message for name, message in errors.items()}


def refusal(problem: Problem) -> Errors:
    """A refused save as form errors, beside the field it is about where one is."""
    errors = problem_errors(problem)
    if problem.kind == "invalid-reference":
        return {"category_id": CHOOSE_CATEGORY}
    if "form" in errors and problem.kind in _REFUSAL_FIELDS:
        errors = {_REFUSAL_FIELDS[problem.kind]: errors.pop("form"), **errors}
    return errors
