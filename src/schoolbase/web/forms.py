"""Reading posted forms into the API's own schemas, so a page validates exactly as the API
does, and turning what fails into messages beside the fields."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from schoolbase.errors import problem_from_db_error
from schoolbase.problems import Problem
from schoolbase.resources.uploads import UploadForm

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")
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


async def attempt(
    session: AsyncSession, change: Callable[[], Awaitable[Result]]
) -> tuple[Result | None, Problem | None]:
    """Make one change in a savepoint. Refused (a problem, or a database error that maps to
    one), it leaves the page's transaction usable, so the form can be shown again with why."""
    try:
        async with session.begin_nested():
            return await change(), None
    except Problem as problem:
        return None, problem
    except DBAPIError as exc:
        problem = problem_from_db_error(exc)
        if problem is None:
            raise
        return None, problem


class PageUpload(UploadForm):
    """The upload form of a page: its fields are read once, so the form token is checked before
    the flow reads on to the file."""

    _file_part = None

    async def read_fields(self):
        if self._file_part is None:
            self._file_part = await super().read_fields()
        return self._file_part
