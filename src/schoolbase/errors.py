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


# One mapping from database errors to problems. PostgreSQL's own messages (constraint text,
# "new row violates row-level security policy for table ...") name tables, columns and policies
# and are not written for the people using the API, so they are never shown: each SQLSTATE has a
# title and a detail of its own here, found by exact code first, then by class (the first two
# characters). Messages our own triggers and functions raise (``raise exception '...' using
# errcode = ...``, see the migrations) are written for people and are shown as they are.
# Anything not listed is a real fault: a 500 showing only the request id.
# SQLSTATE or class → (status, type, title, detail).
SQLSTATE_PROBLEMS: dict[str, tuple[int, str, str, str]] = {
    # Class 22: data exceptions: a value the column cannot hold.
    "22": (422, "invalid-value", "A value is not valid", "A value is not valid for {field}"),
    "22001": (422, "invalid-value", "A value is too long", "A value is too long for {field}"),
    "22003": (422, "invalid-value", "A number is out of range", "A number is too large for {field}"),
    "22007": (422, "invalid-value", "A date or time is not valid", "A date or time is not valid for {field}"),
    "22008": (422, "invalid-value", "A date or time is out of range", "A date or time is out of range for {field}"),
    "22P02": (422, "invalid-value", "A value has the wrong format", "A value has the wrong format for {field}"),
    "22P05": (422, "invalid-value", "A value is not valid", "Text may not contain NUL (0x00) characters"),
    "22021": (422, "invalid-value", "A value is not valid", "Text may not contain NUL (0x00) characters"),
    # Class 23: integrity: the change conflicts with what is stored or breaks a rule.
    "23": (422, "constraint-violation", "A value breaks a rule", "A value breaks a rule of {field}"),
    "23505": (409, "conflict", "Already exists", "Something with the same {field} already exists"),
    "23503": (
        422,
        "invalid-reference",
        "Refers to something that does not exist",
        "{field} refers to something that does not exist or is not visible to you",
    ),
    "23502": (422, "missing-value", "A required value is missing", "{field} is required"),
    "23514": (422, "constraint-violation", "A value breaks a rule", "A value breaks a rule of {field}"),
    "23P01": (409, "conflict", "Conflicts with an existing row", "It overlaps with an existing one ({field})"),
    # Insufficient privilege, and row-level security refusing a row.
    "42501": (403, "forbidden", "Not allowed", "You are not allowed to make this change"),
    # Class 54: program limits (a value nested too deep, a query too complex).
    "54": (422, "too-complex", "Request too complex", "The request is too large or too complex to handle"),
    # Concurrent transactions: the client may retry.
    "40001": (409, "retry", "Concurrent update, please retry", "Another change got there first; please retry"),
    "40P01": (409, "retry", "Concurrent update, please retry", "Another change got there first; please retry"),
    # Our own rules, raised by triggers with ``raise exception`` (message shown, see below).
    "P0001": (422, "rule-violation", "A rule was broken", "A rule was broken"),
}


def _raised_by_us(diag: Any) -> bool:
    """Whether the error comes from a ``raise exception`` of our own PL/pgSQL: its innermost
    context line ends "at RAISE". PostgreSQL's own errors (even inside our functions) do not."""
    context = getattr(diag, "context", None) or ""
    return context.splitlines()[0].rstrip().endswith("at RAISE") if context else False


def _field(diag: Any) -> str:
    """The column (or else the constraint) the database names, for a message people can act on."""
    return getattr(diag, "column_name", None) or getattr(diag, "constraint_name", None) or "a field"


def problem_from_db_error(exc: DBAPIError) -> Problem | None:
    """The problem for a database error by SQLSTATE (exact, else class), or None for a real fault."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None and "cannot contain NUL" in str(orig):
        # Refused by the driver before the text reaches PostgreSQL, so there is no SQLSTATE.
        return Problem(422, "invalid-value", "A value is not valid", "Text may not contain NUL (0x00) characters")
    if not sqlstate:
        return None
    entry = SQLSTATE_PROBLEMS.get(sqlstate) or SQLSTATE_PROBLEMS.get(sqlstate[:2])
    if entry is None:
        return None
    status, kind, title, detail = entry
    diag = getattr(orig, "diag", None)
    if _raised_by_us(diag) and getattr(diag, "message_primary", None):
        detail = diag.message_primary
    else:
        detail = detail.replace("{field}", _field(diag))
        detail = detail[0].upper() + detail[1:]
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    extra = {**({"constraint": constraint} if constraint else {}), **({"field": column} if column else {})}
    return Problem(status, kind, title, detail, **extra)


def internal_problem(request: Request) -> Problem:
    """A real fault: nothing about it is shown but the request id to quote when reporting it."""
    request_id = getattr(request.state, "request_id", None)
    detail = "The server could not complete the request"
    if request_id:
        return Problem(500, "internal", "Internal error", f"{detail}; request id {request_id}", request_id=request_id)
    return Problem(500, "internal", "Internal error", detail)


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
            problem = internal_problem(request)
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        response = problem_response(request, internal_problem(request))
        # Answered outside the request-log middleware, which adds the header to every other response.
        if request_id := getattr(request.state, "request_id", None):
            response.headers["X-Request-ID"] = request_id
        return response
