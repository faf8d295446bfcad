"""Reading posted forms into the API's own schemas, so a page validates exactly as the API
does, and turning what fails into messages beside the fields."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from schoolbase.problems import Problem

Model = TypeVar("Model", bound=BaseModel)
Errors = dict[str, str]


def errors_of(exc: ValidationError) -> Errors:
    """Field name (dotted for nested fields) → the first message about it, for people."""
    found: Errors = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "form"
        found.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return found


def problem_errors(problem: Problem) -> Errors:
    """A refused change as form errors: per field where the problem names them."""
    found: Errors = {}
    for error in problem.extra.get("errors", []):
        location = [str(part) for part in error.get("loc", []) if part != "body"]
        found.setdefault(".".join(location) or "form", str(error.get("msg", problem.detail)))
    return found or {"form": problem.detail or problem.title}


def parsed(model: type[Model], data: dict[str, Any]) -> tuple[Model | None, Errors]:
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_of(exc)


def text(form: FormData, name: str) -> str | None:
    """A text field's value, None when empty or not sent."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def local_path(url: str | None, default: str) -> str:
    """Where to go after signing in: a path on this site only, never another site."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url
