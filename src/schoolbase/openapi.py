"""Error responses in the OpenAPI document, declared once for every operation.

Every error the API answers is an RFC 9457 problem document (``application/problem+json``,
see errors.py). Rather than each route listing what can go wrong, the document is
post-processed here: each operation gets the problem responses it can answer (who may call
it, whether it takes input, whether it pages) and every 4xx/5xx response, including the
request-validation 422 FastAPI documents as ``HTTPValidationError``, points at one shared
``Problem`` schema. Routes may still declare extra statuses (402, 429, 413, ...) with
``responses={...}``; they get the same content here."""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from schoolbase.problems import PROBLEM_JSON, TYPE_BASE

PROBLEM_REF = "#/components/schemas/Problem"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": (
        "An RFC 9457 problem document. `type` is stable per kind of error; members beyond the"
        " standard ones (e.g. `errors` on a validation problem, `constraint`, `max_bytes`) are"
        " extensions and may be added."
    ),
    "type": "object",
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [TYPE_BASE + "not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On a validation problem: each invalid field, its location and why.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
}

# What every operation that acts for a signed-in person can answer: no or a bad token (401),
# not allowed (403), not there or not visible (404), a conflict with what is stored (409) and
# invalid input, whether caught at the edge or by the database (422).
SIGNED_IN = (401, 403, 404, 409, 422)
# Operations without a bearer token: sign-in, refresh, password reset, invitations. They check
# a credential or a token of their own, so the same answers apply.
PUBLIC = (401, 403, 404, 409, 422)
# Statuses particular to one operation, beyond what its route declares.
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/auth/token"): (400, 429),  # unsupported grant type; sign-in throttling
    ("post", "/invitations/{invitation_id}/resend"): (429,),  # sent a moment ago
}
# Operations that answer no problem but a real fault.
OPERATIONS = {("get", "/healthz"): (503,)}


def problem_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses ``operation`` can answer (routes' own declarations come on top)."""
    statuses = {500}
    if (method, path) in OPERATIONS:
        return statuses | set(OPERATIONS[method, path])
    statuses |= set(SIGNED_IN if operation.get("security") else PUBLIC)
    statuses |= set(EXTRA.get((method, path), ()))
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "query" and p.get("name") == "cursor" for p in parameters):
        statuses.add(400)  # a cursor that is not one of ours
    if operation.get("requestBody"):
        statuses.add(400)  # a body that cannot be parsed at all (not JSON, not a form)
    return statuses


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def _is_default_validation(response: dict[str, Any]) -> bool:
    content = response.get("content") or {}
    return any(
        str(media.get("schema", {}).get("$ref", "")).endswith("/HTTPValidationError") for media in content.values()
    )


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses and the ``Problem`` schema to an OpenAPI ``document`` in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(path, method, operation):
                responses.setdefault(str(status), {})
            for code, response in responses.items():
                if not (code.isdigit() and int(code) >= 400):
                    continue
                if not response.get("content") or _is_default_validation(response):
                    response["content"] = _problem_content()
                if not response.get("description") or response["description"] == "Validation Error":
                    response["description"] = HTTPStatus(int(code)).phrase
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's own validation error shapes are never answered; drop them once unreferenced.
    text = repr(document.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text and name in schemas and not _referenced(schemas, name):
            del schemas[name]
    return document


def _referenced(schemas: dict[str, Any], name: str) -> bool:
    ref = f"#/components/schemas/{name}"
    return any(ref in repr(schema) for other, schema in schemas.items() if other != name)


def install_problem_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every operation's problem responses."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
