"""RFC 9457 problem documents: every error the API returns, with a stable ``type``."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://schoolbase.dev/problems/"


class Problem(Exception):
    """An error the client caused or must know about, answered as a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.extra = extra


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"{what} does not exist or is not visible to you")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def validation_problem(errors: list[dict]) -> Problem:
    """A 422 listing every invalid field, from Pydantic's or FastAPI's validation errors."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return Problem(422, "validation", "Invalid request", detail, errors=errors)


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        **({"detail": problem.detail} if problem.detail else {}),
        "instance": request.url.path,
        **problem.extra,
    }
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


# SQLSTATE → (status, type, title). Triggers raise with these codes too, so a
# rule enforced in the database surfaces as the same 4xx as one checked in Python.
SQLSTATE_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "23505": (409, "conflict", "Already exists"),
    "23503": (422, "invalid-reference", "Refers to something that does not exist"),
    "23502": (422, "missing-value", "A required value is missing"),
    "23514": (422, "constraint-violation", "A value breaks a rule"),
    "23P01": (409, "conflict", "Conflicts with an existing row"),
    "22P02": (422, "invalid-value", "A value has the wrong format"),
    "22023": (422, "invalid-value", "A value is not valid"),
    "22001": (422, "invalid-value", "A value is too long"),
    "22007": (422, "invalid-value", "A date or time is not valid"),
    "22008": (422, "invalid-value", "A date or time is out of range"),
    "42501": (403, "forbidden", "Not allowed"),
    "P0001": (422, "rule-violation", "A rule was broken"),
    "40001": (409, "retry", "Concurrent update, please retry"),
    "40P01": (409, "retry", "Concurrent update, please retry"),
}


def problem_from_db_error(exc: DBAPIError) -> Problem | None:
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None and "cannot contain NUL" in str(orig):
        # Refused by the driver before the text reaches PostgreSQL, so there is no SQLSTATE.
        return Problem(422, "invalid-value", "A value is not valid", "text may not contain NUL (0x00) characters")
    if sqlstate not in SQLSTATE_PROBLEMS:
        return None
    status, kind, title = SQLSTATE_PROBLEMS[sqlstate]
    diag = getattr(orig, "diag", None)
    detail = getattr(diag, "message_primary", None) or str(orig)
    if sqlstate == "42501" and "row-level security" in detail:
        detail = "You are not allowed to make this change: " + detail
    constraint = getattr(diag, "constraint_name", None)
    return Problem(status, kind, title, detail, **({"constraint": constraint} if constraint else {}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http-error")
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem_response(
            request, Problem(exc.status_code, kind, title, str(exc.detail), headers=dict(exc.headers or {}))
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc.errors()))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        problem = problem_from_db_error(exc)
        if problem is None:
            log.exception("database error", exc_info=exc)
            problem = Problem(500, "internal", "Internal error", "The server could not complete the request")
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            request, Problem(500, "internal", "Internal error", "The server could not complete the request")
        )
