"""Answering errors as RFC 9457 problem documents (the kinds are in ``problems.py``), and the
one mapping from database errors to problems."""

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schoolbase.problems import (
    CONFLICT,
    CONSTRAINT_VIOLATION,
    FORBIDDEN,
    INTERNAL,
    INVALID_REFERENCE,
    INVALID_VALUE,
    METHOD_NOT_ALLOWED,
    MISSING_VALUE,
    NOT_FOUND,
    OVERLAP,
    PERIOD_CLOSED,
    PROBLEM_JSON,
    RETRY,
    RULE_VIOLATION,
    TOO_COMPLEX,
    TYPE_BASE,
    UNAUTHORIZED,
    Problem,
    ProblemKind,
    validation_problem,
)

log = logging.getLogger(__name__)

NUL_IN_TEXT = "Text may not contain NUL (0x00) characters"
HTTP_KINDS = {401: UNAUTHORIZED, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}


def problem_response(request: Request, problem: Problem) -> Response:
    # The web app answers its pages' errors as pages (schoolbase.web.errors).
    page = getattr(request.app.state, "problem_page", None)
    if page is not None and _wants_page(request):
        return page(request, problem)
    body = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        **({"detail": problem.detail} if problem.detail else {}),
        "instance": request.url.path,
        **problem.extra,
    }
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _wants_page(request: Request) -> bool:
    """A page request, or a browser navigating (it asks for HTML first)."""
    return getattr(request.state, "page", False) or request.headers.get("accept", "").startswith("text/html")


# One mapping from database errors to problems. PostgreSQL's own messages (constraint text,
# "new row violates row-level security policy for table ...") name tables, columns and policies
# and are not written for the people using the API, so they are never shown: each SQLSTATE has a
# title and a detail of its own here, found by exact code first, then by class (the first two
# characters). Messages our own triggers and functions raise (``raise exception '...' using
# errcode = ...``, see the migrations) are written for people and are shown as they are.
# Anything not listed is a real fault: a 500 showing only the request id.
# SQLSTATE or class → (status, type, title, detail).
SQLSTATE_PROBLEMS: dict[str, tuple[ProblemKind, str]] = {
    # Class 22: data exceptions: a value the column cannot hold.
    "22": (INVALID_VALUE, "A value is not valid for {field}"),
    "22001": (INVALID_VALUE, "A value is too long for {field}"),
    "22003": (INVALID_VALUE, "A number is too large for {field}"),
    "22007": (INVALID_VALUE, "A date or time is not valid for {field}"),
    "22008": (INVALID_VALUE, "A date or time is out of range for {field}"),
    "22P02": (INVALID_VALUE, "A value has the wrong format for {field}"),
    "22P05": (INVALID_VALUE, NUL_IN_TEXT),
    "22021": (INVALID_VALUE, NUL_IN_TEXT),
    # Class 23: integrity: the change conflicts with what is stored or breaks a rule.
    "23": (CONSTRAINT_VIOLATION, "A value breaks a rule of {field}"),
    "23505": (CONFLICT, "Something with the same {field} already exists"),
    "23503": (INVALID_REFERENCE, "{field} refers to something that does not exist or is not visible to you"),
    "23502": (MISSING_VALUE, "{field} is required"),
    "23514": (CONSTRAINT_VIOLATION, "A value breaks a rule of {field}"),
    "23P01": (OVERLAP, "It overlaps with an existing one ({field})"),
    # Insufficient privilege, and row-level security refusing a row.
    "42501": (FORBIDDEN, "You are not allowed to make this change"),
    # Class 54: program limits (a value nested too deep, a query too complex).
    "54": (TOO_COMPLEX, "The request is too large or too complex to handle"),
    # Concurrent transactions: the client may retry.
    "40001": (RETRY, "Another change got there first; please retry"),
    "40P01": (RETRY, "Another change got there first; please retry"),
    # Object not in prerequisite state: a closed grading period locks its grades (message shown).
    "55000": (PERIOD_CLOSED, "The grading period is closed"),
    # Our own rules, raised by triggers with ``raise exception`` (message shown, see below).
    "P0001": (RULE_VIOLATION, "A rule was broken"),
}


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a database error, if the server sent one."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def violated_constraint(exc: DBAPIError) -> str | None:
    """The constraint a database error names, if any."""
    return getattr(getattr(getattr(exc, "orig", None), "diag", None), "constraint_name", None)


def _raised_by_us(diag: Any) -> bool:
    """Whether the error comes from a ``raise exception`` of our own PL/pgSQL: its innermost
    context line ends "at RAISE". PostgreSQL's own errors (even inside our functions) do not."""
    context = getattr(diag, "context", None) or ""
    return context.splitlines()[0].rstrip().endswith("at RAISE") if context else False


def _field(diag: Any) -> str:
    """The column (or else the constraint) the database names, for a message people can act on."""
    return getattr(diag, "column_name", None) or getattr(diag, "constraint_name", None) or "a field"


def problem_from_db_error(exc: DBAPIError | psycopg.Error) -> Problem | None:
    """The problem for a database error by SQLSTATE (exact, else class), or None for a real fault.
    ``exc`` is SQLAlchemy's wrapper, or the driver's own error (``Database.service_call``)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None and "cannot contain NUL" in str(orig):
        # Refused by the driver before the text reaches PostgreSQL, so there is no SQLSTATE.
        return INVALID_VALUE(NUL_IN_TEXT)
    if not sqlstate:
        return None
    entry = SQLSTATE_PROBLEMS.get(sqlstate) or SQLSTATE_PROBLEMS.get(sqlstate[:2])
    if entry is None:
        return None
    kind, detail = entry
    diag = getattr(orig, "diag", None)
    if _raised_by_us(diag) and getattr(diag, "message_primary", None):
        detail = diag.message_primary
    else:
        detail = detail.replace("{field}", _field(diag))
        detail = detail[0].upper() + detail[1:]
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    extra = {**({"constraint": constraint} if constraint else {}), **({"field": column} if column else {})}
    return kind(detail, **extra)


def internal_problem(request: Request) -> Problem:
    """A real fault: nothing about it is shown but the request id to quote when reporting it."""
    request_id = getattr(request.state, "request_id", None)
    detail = "The server could not complete the request"
    if request_id:
        return INTERNAL(f"{detail}; request id {request_id}", request_id=request_id)
    return INTERNAL(detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        kind = HTTP_KINDS.get(exc.status_code)
        problem = (
            kind(str(exc.detail), headers=headers)
            if kind
            else Problem(exc.status_code, "http-error", "Error", str(exc.detail), headers=headers)
        )
        return problem_response(request, problem)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc.errors()))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, exc: DBAPIError | psycopg.Error) -> JSONResponse:
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
