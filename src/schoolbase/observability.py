"""One structured log line per request, request ids, and Prometheus metrics."""

import logging
import sys
import time
import uuid

import structlog
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def install_observability(app: FastAPI) -> None:
    app.add_middleware(RequestLogMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
