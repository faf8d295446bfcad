"""The real provider: Anthropic's official async SDK, ``base_url`` and key from settings."""

import importlib
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from schoolbase.ai.providers import Completion, ProviderError, usage_from


def _http_errors(name: str) -> tuple[type[Exception], ...]:
    """``name`` (TimeoutException, TransportError) of the HTTP libraries the SDK may use (httpx or httpx2)."""
    found = []
    for library in ("httpx", "httpx2"):
        try:
            found.append(getattr(importlib.import_module(library), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


# While a stream is read, the SDK lets its HTTP library's errors through unwrapped.
HTTP_TIMEOUTS = _http_errors("TimeoutException")
HTTP_TRANSPORT_ERRORS = _http_errors("TransportError")


def classify(exc: Exception) -> ProviderError:
    """Upstream failures as the gateway reports them; usage is still logged by the caller."""
    if isinstance(exc, (anthropic.APITimeoutError, *HTTP_TIMEOUTS)):
        return ProviderError("timeout", "the AI provider did not answer in time")
    if isinstance(exc, (anthropic.APIConnectionError, *HTTP_TRANSPORT_ERRORS)):
        return ProviderError("unavailable", f"could not reach the AI provider: {exc}")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        retry_after = exc.response.headers.get("retry-after")
        retry = int(float(retry_after)) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
        detail = f"AI provider answered {status}: {exc.message}"
        if status == 429:
            return ProviderError("upstream_rate_limited", detail, status=status, retry_after=retry or 10)
        if status == 529:
            return ProviderError("overloaded", detail, status=status, retry_after=retry or 30)
        if status >= 500:
            return ProviderError("upstream_error", detail, status=status)
        return ProviderError("rejected", detail, status=status)
    return ProviderError("upstream_error", f"AI provider call failed: {exc}")


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, base_url: str | None, timeout_seconds: float, max_retries: int) -> None:
        # Retries stay few and the connect timeout short: a caller is waiting, and
        # each retry keeps a budget reservation and rate-limit slot in use.
        # The SDK's aiohttp transport: its connection pool hands out a kept-alive connection
        # without polling every idle one first, as the default transport does per request.
        # The server exports no OpenTelemetry traces (it logs and counts calls itself), so the
        # SDK's spans and trace headers would only cost every call.
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            timeout=anthropic.Timeout(timeout_seconds, connect=5.0),
            http_client=anthropic.DefaultAioHttpClient(),
            open_telemetry={"traces": False, "propagation": False},
        )

    async def create(self, model_id: str, params: dict[str, Any]) -> Completion:
        # The answer is passed on as the upstream wrote it: its JSON, read once. Building the
        # SDK's model and dumping it back into a dict was work the gateway does not need.
        try:
            response = await self.client.messages.with_raw_response.create(model=model_id, **params)
            message = await response.json()
        except anthropic.APIError as exc:
            raise classify(exc) from exc
        return Completion(message=message, usage=usage_from(message.get("usage") or {}))

    async def stream(self, model_id: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            events = await self.client.messages.create(model=model_id, stream=True, **params)
            async with events:
                async for event in events:
                    yield event.model_dump(mode="json", exclude_none=True)
        except Exception as exc:  # APIError, or a transport error mid-stream: either way the call failed
            raise classify(exc) from exc

    async def close(self) -> None:
        await self.client.close()
