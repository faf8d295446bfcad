"""The grading form: by points, or per rubric criterion a level (or other points) and a
comment, plus feedback. Filled from a grade (or an AI suggestion), or from what was posted;
read into the API's own schemas (``GradeIn``, or ``GradeEdit`` for a suggestion), so the
page validates exactly as the API does, with the messages beside the fields."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.datastructures import FormData

from schoolbase.grading.schemas import CriterionOut, RubricOut
from schoolbase.web.formatting import points as shown_points
from schoolbase.web.forms import Errors, parsed, text

Model = TypeVar("Model", bound=BaseModel)
OTHER = "other"  # the radio for points that are not one of the criterion's levels
_SCORE = re.compile(r"^rubric\.(\d+)\.(\w+)$")


@dataclass
class ScoreField:
    """One criterion's part of the form: the level chosen (its index, ``other`` or none),
    other points, and a comment."""

    criterion: CriterionOut
    choice: str = ""
    points: str = ""
    comment: str = ""

    @property
    def name(self) -> str:
        return str(self.criterion.id)


@dataclass
class GradeForm:
    points: str = ""
    feedback: str = ""
    scores: list[ScoreField] = field(default_factory=list)

    @property
    def by_rubric(self) -> bool:
        return bool(self.scores)


def blank(rubric: RubricOut | None) -> GradeForm:
    return GradeForm(scores=[ScoreField(c) for c in rubric.criteria] if rubric else [])


def from_grade(rubric: RubricOut | None, grade: Any) -> GradeForm:
    """The form as ``grade`` (an API grade or AI suggestion) fills it: a score that is one of
    its criterion's levels (by title, else by points) chooses that level."""
    form = blank(rubric)
    if grade is None:
        return form
    form.feedback = grade.feedback or ""
    form.points = "" if grade.rubric else shown_points(grade.points)
    given = {score.criterion_id: score for score in grade.rubric}
    for score_field in form.scores:
        score = given.get(score_field.criterion.id)
        if score is None:
            continue
        score_field.comment = score.comment or ""
        score_field.choice, score_field.points = _choice(score_field.criterion, score.points, score.level_title)
    return form


def _choice(criterion: CriterionOut, points: Decimal, level_title: str | None) -> tuple[str, str]:
    levels = criterion.levels
    for index, level in enumerate(levels):
        if level.points == points and (level_title is None or level.title == level_title):
            return str(index), ""
    return (OTHER if levels else ""), shown_points(points)


def from_posted(rubric: RubricOut | None, posted: FormData) -> GradeForm:
    """The form as it was posted, to show it again with what needs fixing."""
    form = blank(rubric)
    form.points = text(posted, "points") or ""
    form.feedback = text(posted, "feedback") or ""
    for score_field in form.scores:
        score_field.choice = text(posted, f"level-{score_field.name}") or ""
        score_field.points = text(posted, f"points-{score_field.name}") or ""
        score_field.comment = text(posted, f"comment-{score_field.name}") or ""
    return form


def read(model: type[Model], form: GradeForm, state: str) -> tuple[Model | None, Errors]:
    """The filled-in form as ``model`` (``GradeIn`` or ``GradeEdit``), or the errors by field name."""
    data: dict[str, Any] = {"state": state, "feedback": form.feedback or None}
    if not form.by_rubric:
        if not form.points:
            return None, {"points": "Enter the points."}
        return parsed(model, data | {"points": form.points})
    scored, errors = _scores(form)
    if errors:
        return None, errors
    if not scored:
        return None, {"rubric": "Score at least one criterion."}
    body, errors = parsed(model, data | {"rubric": [score for _, score in scored]})
    return body, {_field_name(name, scored): message for name, message in errors.items()}


def _scores(form: GradeForm) -> tuple[list[tuple[ScoreField, dict[str, Any]]], Errors]:
    """The criteria scored (a level, or other points), each with its API score."""
    scored: list[tuple[ScoreField, dict[str, Any]]] = []
    errors: Errors = {}
    for score_field in form.scores:
        criterion, level = score_field.criterion, _level(score_field)
        if level is not None:
            score = {"points": str(level.points), "level_title": level.title}
        elif score_field.points:
            score = {"points": score_field.points, "level_title": None}
            if (given := _decimal(score_field.points)) is not None and given > criterion.max_points:
                errors[f"points-{score_field.name}"] = (
                    f"{criterion.title}: at most {shown_points(criterion.max_points)} points."
                )
        elif score_field.choice == OTHER:
            errors[f"points-{score_field.name}"] = f"{criterion.title}: enter the points."
            continue
        else:
            continue
        score |= {"criterion_id": str(criterion.id), "comment": score_field.comment or None}
        scored.append((score_field, score))
    return scored, errors


def _level(score_field: ScoreField):
    choice, levels = score_field.choice, score_field.criterion.levels
    if choice.isdigit() and int(choice) < len(levels):
        return levels[int(choice)]
    return None


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _field_name(name: str, scored: list[tuple[ScoreField, dict[str, Any]]]) -> str:
    """``rubric.<i>.points`` (the API's name) → ``points-<criterion id>`` (the form's)."""
    found = _SCORE.match(name)
    if found is None or int(found.group(1)) >= len(scored):
        return name
    part = found.group(2) if found.group(2) in ("points", "comment") else "points"
    return f"{part}-{scored[int(found.group(1))][0].name}"
