"""A local server that speaks Anthropic's Messages API, for tests, benchmarks and offline work.

The real ``anthropic`` SDK is pointed at it with ``base_url``. Directives in the
last user message steer it:

- ``[[status:N]]`` answer with HTTP status N and an Anthropic error body (429 adds Retry-After)
- ``[[sleep:S]]`` wait S seconds before answering (spread over the events when streaming)
- ``[[tokens:IN,OUT]]`` report these input and output token counts
- ``[[cache:W,R]]`` report W cache-write and R cache-read tokens
- ``[[hold:KEY]]`` wait until the test releases ``upstream.hold(KEY)``: a plain answer is held
  before it is sent, a stream after its first two events (so a test can stand mid-stream).
  Unlike ``sleep`` nothing depends on timing: the test waits until the calls are held.

When the system prompt asks for the ``grading-json-v1`` format (AI-assisted grading),
the answer is a deterministic grading JSON for the ``<rubric>`` in the user message:
each criterion gets ``[[score:F]]`` (default 0.75) of its maximum, confidence is
``[[confidence:C]]`` (default 0.9), and ``[[reply:KIND]]`` bends the answer for tests:
``fenced`` (in a json code fence), ``wrapped`` (prose around it), ``prose`` (no JSON),
``missing`` (one criterion left out), ``over`` (points above the maximum),
``unknown`` (a criterion not in the rubric), ``bad-confidence`` (1.5).
"""

import asyncio
import json
import re
import socket
import threading
import time
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from schoolbase.ai.pricing import Usage
from schoolbase.ai.providers.offline import (
    GRADING_FORMAT,
    _last_user_text,
    message_json,
    offline_reply,
    rubric_criteria,
    stream_events,
    system_text,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
DIRECTIVE = re.compile(r"\[\[(status|sleep|tokens|cache|score|confidence):([0-9.,]+)\]\]")
HOLD = re.compile(r"\[\[hold:([\w-]+)\]\]")
HELD_STREAM_EVENTS = 2  # a held stream sends message_start and content_block_start first
REPLY = re.compile(r"\[\[reply:([a-z-]+)\]\]")


def directives(text: str) -> dict[str, list[float]]:
    return {name: [float(v) for v in values.split(",")] for name, values in DIRECTIVE.findall(text)}


def grading_reply(prompt: str, found: dict[str, list[float]]) -> str:
    """A grading answer in the grading-json-v1 format for the rubric in ``prompt``."""
    criteria = rubric_criteria(prompt)
    fraction = found.get("score", [0.75])[0]
    kinds = set(REPLY.findall(prompt))
    scores = [
        {
            "criterion_id": c["criterion_id"],
            "points": round(c["max_points"] * fraction, 2),
            "level": None,
            "comment": f"local upstream: {c['title']}",
        }
        for c in criteria
    ]
    if "missing" in kinds and scores:
        scores.pop()
    if "over" in kinds and scores:
        scores[0]["points"] = criteria[0]["max_points"] + 1
    if "unknown" in kinds:
        scores.append({"criterion_id": "00000000-0000-4000-8000-000000000000", "points": 0})
    answer = {
        "criteria": scores,
        "feedback": "[local upstream] feedback for the student.",
        "confidence": 1.5 if "bad-confidence" in kinds else found.get("confidence", [0.9])[0],
    }
    body = json.dumps(answer)
    if "prose" in kinds:
        return "The submission shows some understanding of the topic, but I cannot give scores."
    if "fenced" in kinds:
        return f"```json\n{body}\n```"
    if "wrapped" in kinds:
        return f"Here are the scores.\n{body}\nI hope this helps."
    return body


class Hold:
    """Calls that carry ``[[hold:KEY]]`` wait here until the test calls ``release()``.

    The upstream runs its own event loop in another thread, so the gate is a thread-safe
    count and, per held call, an asyncio event set from the releasing thread.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.held = 0
        self._lock = threading.Lock()
        self._released = False
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def tag(self) -> str:
        """The directive that puts a call under this hold."""
        return f"[[hold:{self.key}]]"

    async def wait(self) -> None:
        """Server side: count this call as held and wait for the release."""
        event = asyncio.Event()
        with self._lock:
            self.held += 1
            if self._released:
                return
            self._waiting.append((asyncio.get_running_loop(), event))
        await event.wait()

    def release(self) -> None:
        with self._lock:
            self._released = True
            waiting, self._waiting = self._waiting, []
        for loop, event in waiting:
            loop.call_soon_threadsafe(event.set)

    async def wait_held(self, count: int, timeout: float = 30.0) -> None:
        """Test side: return once ``count`` calls are held (fail after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while self.held < count:
            assert time.monotonic() < deadline, f"{self.held} of {count} calls reached hold {self.key!r}"
            await asyncio.sleep(0.005)


class LocalUpstream:
    def __init__(self) -> None:
        self.requests = 0
        self.holds: dict[str, Hold] = {}
        self.app = Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])

    @contextmanager
    def hold(self, key: str):
        """Hold the calls carrying ``[[hold:KEY]]`` until released; leaving releases them."""
        gate = self.holds[key] = Hold(key)
        try:
            yield gate
        finally:
            gate.release()
            del self.holds[key]

    def _hold_for(self, prompt: str) -> Hold | None:
        keys = HOLD.findall(prompt)
        return self.holds.get(keys[0]) if keys else None

    async def messages(self, request: Request) -> Response:
        self.requests += 1
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return self.error(401, "missing API key")
        params = await request.json()
        found = directives(_last_user_text(params))
        delay = found.get("sleep", [0.0])[0]
        hold = self._hold_for(_last_user_text(params))
        if hold and not params.get("stream"):
            await hold.wait()
        if "status" in found:
            await asyncio.sleep(delay)
            return self.error(int(found["status"][0]), "requested by the test")
        model = params["model"]
        text, usage, message_id = offline_reply(model, params)
        text = text.replace("[offline demo response — no AI model was called]", "[local upstream]")
        if GRADING_FORMAT in system_text(params):
            text = grading_reply(_last_user_text(params), found)
        if "tokens" in found:
            usage = Usage(int(found["tokens"][0]), int(found["tokens"][1]))
        if "cache" in found:
            usage = Usage(usage.input_tokens, usage.output_tokens, int(found["cache"][0]), int(found["cache"][1]))
        if not params.get("stream"):
            await asyncio.sleep(delay)
            return JSONResponse(message_json(model, message_id, text, usage))
        events = stream_events(model, message_id, text, usage)
        return StreamingResponse(self.sse(events, delay, hold), media_type="text/event-stream")

    @staticmethod
    async def sse(events: list[dict], delay: float, hold: Hold | None):
        pause = delay / max(1, len(events))
        for index, event in enumerate(events):
            if hold and index == HELD_STREAM_EVENTS:
                await hold.wait()
            if pause:
                await asyncio.sleep(pause)
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"

    @staticmethod
    def error(status: int, message: str) -> Response:
        headers = {"retry-after": "7"} if status == 429 else {}
        body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_local_upstream(port: int | None = None):
    """Run a LocalUpstream on 127.0.0.1 in a background thread; yields (base_url, upstream)."""
    upstream = LocalUpstream()
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(upstream.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("local upstream did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", upstream
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    """``python -m schoolbase.ai.providers.local_upstream --port 8099``: run it on its own."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    uvicorn.run(LocalUpstream().app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
