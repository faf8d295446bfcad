"""One structured log line per request, request ids, and Prometheus metrics."""

import logging
import secrets
import sys
import time
import uuid

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schoolbase.problems import NOT_FOUND, UNAUTHORIZED

REQUESTS = Counter("schoolbase_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("schoolbase_http_request_seconds", "HTTP request latency", ["method", "route"])

AI_CALLS = Counter("schoolbase_ai_calls_total", "AI gateway calls", ["model", "status"])
AI_TOKENS = Counter("schoolbase_ai_tokens_total", "AI tokens billed", ["model", "kind"])
AI_COST = Counter("schoolbase_ai_cost_usd_total", "AI cost in USD (approximate; the usage logs are exact)", ["model"])

access_log = structlog.get_logger("schoolbase.access")


def record_ai_call(model: str, status: str, usage, cost) -> None:
    AI_CALLS.labels(model, status).inc()
    for kind in ("input", "output", "cache_write", "cache_read"):
        tokens = getattr(usage, f"{kind}_tokens")
        if tokens:
            AI_TOKENS.labels(model, kind).inc(tokens)
    if cost:
        AI_COST.labels(model).inc(float(cost))


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


QUIET_WHEN_SERVING = ("alembic", "procrastinate")  # migration steps; the job worker's every periodic run


def configure_serving_logs(level: str = "INFO") -> None:
    """A server's logs: requests and problems, without each migration step and job poll."""
    configure_logging(level)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in QUIET_WHEN_SERVING:
            logging.getLogger(name).setLevel(logging.WARNING)


class RequestLogMiddleware:
    """Plain ASGI (Starlette's BaseHTTPMiddleware costs about a millisecond a request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:200] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # The route template, not the raw path, keeps metric label cardinality bounded.
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            client = scope.get("client")
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                user_id=scope["state"].get("user_id"),
                client=client[0] if client else None,
            )
            structlog.contextvars.clear_contextvars()


def check_metrics_token(request: Request) -> None:
    """Raise unless the request carries ``Authorization: Bearer <metrics_token>``."""
    configured = request.app.state.settings.metrics_token
    # An empty token would let anyone in who sends an empty bearer, so it counts as unset.
    expected = configured.get_secret_value() if configured is not None else ""
    if not expected:
        raise NOT_FOUND("metrics are not served: no metrics token is configured")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Bytes, because compare_digest refuses str with non-ASCII characters and a header may carry them.
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected.encode()):
        raise UNAUTHORIZED(
            "metrics need Authorization: Bearer <metrics token>", headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
        )


def install_observability(app: FastAPI) -> None:
    app.add_middleware(RequestLogMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # Read per request, not at install time, so the token in app.state.settings is the one in force.
        check_metrics_token(request)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
