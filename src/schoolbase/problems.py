"""RFC 9457 problem documents: every kind of error the API answers, declared once with its
status, its ``type`` (the slug after ``TYPE_BASE``) and its title.

Raise ``KIND(detail, **extra)``; list a route's particular kinds with ``responses(...)``.
Handlers that turn problems (and database errors) into responses are in ``errors.py``."""

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str
    title: str

    def __call__(self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any) -> Problem:
        return Problem(self.status, self.slug, self.title, detail, headers=headers, **extra)


def responses(*kinds: ProblemKind) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` for the problems particular to it, by status (one
    description naming every kind of that status)."""
    by_status: dict[int, list[ProblemKind]] = {}
    for kind in kinds:
        by_status.setdefault(kind.status, []).append(kind)
    return {
        status: {
            "description": "; ".join(f"{k.title} (`{k.slug}`)" for k in group),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, group in sorted(by_status.items())
    }


INVALID_CURSOR = ProblemKind(400, "invalid-cursor", "Invalid cursor")
INVALID_MULTIPART = ProblemKind(400, "invalid-multipart", "Invalid multipart form")
INVALID_TOKEN = ProblemKind(400, "invalid-token", "Invalid or expired link")
UNSUPPORTED_GRANT_TYPE = ProblemKind(400, "unsupported-grant-type", "Unsupported grant type")
SIGN_IN_REQUIRED = ProblemKind(401, "sign-in-required", "Sign in to accept")
UNAUTHORIZED = ProblemKind(401, "unauthorized", "Not authenticated")
AI_BUDGET_EXHAUSTED = ProblemKind(402, "ai-budget-exhausted", "AI budget exhausted")
AI_FEATURE_DISABLED = ProblemKind(403, "ai-feature-disabled", "AI feature not available")
FORBIDDEN = ProblemKind(403, "forbidden", "Forbidden")
CSRF_FAILED = ProblemKind(403, "csrf-failed", "Form expired")
PASSWORD_CHANGE_PENDING = ProblemKind(403, "password-change-required", "Password change required")
WRONG_ACCOUNT = ProblemKind(403, "wrong-account", "Signed in as someone else")
WRONG_PASSWORD = ProblemKind(403, "wrong-password", "Wrong password")
FILE_MISSING = ProblemKind(404, "file-missing", "File missing")
NO_FILE = ProblemKind(404, "no-file", "No file")
NOT_FOUND = ProblemKind(404, "not-found", "Not found")
METHOD_NOT_ALLOWED = ProblemKind(405, "method-not-allowed", "Method not allowed")
ACCOUNT_MANAGED_ELSEWHERE = ProblemKind(409, "account-managed-elsewhere", "Account managed by another organization")
AI_GRADING_RUNNING = ProblemKind(409, "ai-grading-running", "AI grading already running")
ALREADY_GRADED = ProblemKind(409, "already-graded", "Already graded")
ALREADY_SUBMITTED = ProblemKind(409, "already-submitted", "Already turned in")
ASSIGNMENT_STATE = ProblemKind(409, "assignment-state", "Not possible in this state")
CATEGORY_IN_USE = ProblemKind(409, "category-in-use", "Category in use")
CONFLICT = ProblemKind(409, "conflict", "Already exists")
OVERLAP = ProblemKind(409, "conflict", "Conflicts with an existing row")
PERIOD_CLOSED = ProblemKind(409, "period-closed", "Grading period closed")
RETRY = ProblemKind(409, "retry", "Concurrent update, please retry")
EXCUSED = ProblemKind(409, "excused", "Excused")
IN_USE = ProblemKind(409, "in-use", "Still in use")
INVALID_STATE = ProblemKind(409, "invalid-state", "Not possible in this state")
INVALID_TRANSITION = ProblemKind(409, "invalid-transition", "Invalid state change")
INVITATION_CLOSED = ProblemKind(409, "invitation-closed", "Invitation closed")
IMPORT_STATE = ProblemKind(409, "import-state", "Not possible in this import's state")
REPORT_HAS_ERRORS = ProblemKind(409, "report-has-errors", "The report has errors")
MARKED_MISSING = ProblemKind(409, "marked-missing", "Marked missing")
NO_RUBRIC = ProblemKind(409, "no-rubric", "No rubric")
NOT_AN_AI_SUGGESTION = ProblemKind(409, "not-an-ai-suggestion", "Not an AI suggestion awaiting review")
NOT_DUE_YET = ProblemKind(409, "not-due-yet", "Not due yet")
NOT_JOINED = ProblemKind(409, "not-joined", "Not joined")
NOT_SUBMITTED = ProblemKind(409, "not-submitted", "Not turned in")
PERSON_EXISTS = ProblemKind(409, "person-exists", "Person already exists")
POINTS_LOCKED = ProblemKind(409, "points-locked", "Points possible are fixed once graded")
REVIEW_EXISTS = ProblemKind(409, "review-exists", "Already reviewed")
ROOM_FULL = ProblemKind(409, "room-full", "Room full")
RUBRIC_IN_USE = ProblemKind(409, "rubric-in-use", "Rubric in use")
SESSION_CLOSED = ProblemKind(409, "session-closed", "Session closed")
SESSION_OVERLAP = ProblemKind(409, "session-overlap", "Room already booked")
SUBMISSION_STATE = ProblemKind(409, "submission-state", "Not possible in this state")
FILE_TOO_LARGE = ProblemKind(413, "file-too-large", "File too large")
FORM_TOO_LARGE = ProblemKind(413, "form-too-large", "Form too large")
CONTENT_TYPE_MISMATCH = ProblemKind(415, "content-type-mismatch", "File content does not match its type")
UNSUPPORTED_MEDIA_TYPE = ProblemKind(415, "unsupported-media-type", "File type not allowed")
NOT_A_ZIP = ProblemKind(415, "not-a-zip", "Not a zip file")
AI_REQUEST_REJECTED = ProblemKind(422, "ai-request-rejected", "AI provider rejected the request")
CATEGORY_CYCLE = ProblemKind(422, "category-cycle", "Category cycle")
EXPORT_TOO_LARGE = ProblemKind(422, "export-too-large", "Export too large")
INVALID_ASSIGNEE = ProblemKind(422, "invalid-assignee", "Not in this session")
INVALID_CLASS = ProblemKind(422, "invalid-class", "Unknown class")
INVALID_VALUE = ProblemKind(422, "invalid-value", "A value is not valid")
CONSTRAINT_VIOLATION = ProblemKind(422, "constraint-violation", "A value breaks a rule")
MISSING_VALUE = ProblemKind(422, "missing-value", "A required value is missing")
TOO_COMPLEX = ProblemKind(422, "too-complex", "Request too complex")
INVALID_REFERENCE = ProblemKind(422, "invalid-reference", "Refers to something that does not exist")
INVALID_ROOM = ProblemKind(422, "invalid-room", "Unknown room")
NOT_A_MEMBER = ProblemKind(422, "not-a-member", "Not a member")
NOT_GRADABLE = ProblemKind(422, "not-gradable", "Not gradable")
ORGANIZATION_REQUIRED = ProblemKind(422, "organization-required", "Organization required")
ROOM_INACTIVE = ProblemKind(422, "room-inactive", "Room inactive")
RUBRIC_REQUIRED = ProblemKind(422, "rubric-required", "Rubric required")
RULE_VIOLATION = ProblemKind(422, "rule-violation", "A rule was broken")
UNKNOWN_MODEL = ProblemKind(422, "unknown-model", "Unknown model")
VALIDATION = ProblemKind(422, "validation", "Invalid request")
TOO_MANY_LOGIN_FAILURES = ProblemKind(429, "too-many-login-failures", "Too many failed sign-ins")
AI_RATE_LIMITED = ProblemKind(429, "ai-rate-limited", "AI rate limit reached")
TOO_SOON = ProblemKind(429, "too-soon", "Sent a moment ago")
INTERNAL = ProblemKind(500, "internal", "Internal error")
AI_ANSWER_INVALID = ProblemKind(502, "ai-answer-invalid", "The AI answer did not fit the rubric")
AI_EMPTY_RESPONSE = ProblemKind(502, "ai-empty-response", "AI provider returned nothing")
AI_PROVIDER_ERROR = ProblemKind(502, "ai-provider-error", "AI provider failed")
AI_PROVIDER_BUSY = ProblemKind(503, "ai-provider-busy", "AI provider busy")
NO_PRICE = ProblemKind(503, "no-price", "No price")
UNAVAILABLE = ProblemKind(503, "unavailable", "Database unavailable")
AI_PROVIDER_TIMEOUT = ProblemKind(504, "ai-provider-timeout", "AI provider timed out")


def not_found(what: str) -> Problem:
    return NOT_FOUND(f"{what} does not exist or is not visible to you")


def forbidden(detail: str) -> Problem:
    return FORBIDDEN(detail)


def unauthorized(detail: str) -> Problem:
    return UNAUTHORIZED(detail, headers={"WWW-Authenticate": "Bearer"})


def validation_problem(errors: list[dict]) -> Problem:
    """A 422 listing every invalid field, from Pydantic's or FastAPI's validation errors."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return VALIDATION(detail, errors=errors)


# What any operation that calls the AI gateway can answer besides the usual problems.
AI_CALL_PROBLEMS = (
    AI_BUDGET_EXHAUSTED,
    AI_FEATURE_DISABLED,
    AI_RATE_LIMITED,
    UNKNOWN_MODEL,
    AI_REQUEST_REJECTED,
    AI_PROVIDER_ERROR,
    AI_PROVIDER_BUSY,
    NO_PRICE,
    AI_PROVIDER_TIMEOUT,
)
