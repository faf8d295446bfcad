"""The provider interface: ``anthropic`` (the real SDK) and ``offline`` (deterministic, for demos)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from schoolbase.ai.pricing import Usage


@dataclass
class Completion:
    message: dict[str, Any]
    usage: Usage


@dataclass
class StreamTally:
    """Usage and text seen so far in a stream; complete once the stream has ended."""

    usage: Usage = field(default_factory=Usage)
    text: list[str] = field(default_factory=list)

    def observe(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self.usage = usage_from(event["message"].get("usage") or {})
        elif kind == "message_delta" and event.get("usage"):
            delta = event["usage"]
            self.usage = Usage(
                input_tokens=delta.get("input_tokens") or self.usage.input_tokens,
                output_tokens=delta.get("output_tokens") or self.usage.output_tokens,
                cache_write_tokens=delta.get("cache_creation_input_tokens") or self.usage.cache_write_tokens,
                cache_read_tokens=delta.get("cache_read_input_tokens") or self.usage.cache_read_tokens,
            )
        elif kind == "content_block_delta" and event["delta"].get("type") == "text_delta":
            self.text.append(event["delta"]["text"])


def usage_from(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=raw.get("input_tokens") or 0,
        output_tokens=raw.get("output_tokens") or 0,
        cache_write_tokens=raw.get("cache_creation_input_tokens") or 0,
        cache_read_tokens=raw.get("cache_read_input_tokens") or 0,
    )


class ProviderError(Exception):
    """An upstream failure, classified for the API's answer."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.status, self.retry_after = kind, message, status, retry_after


class Provider(Protocol):
    name: str

    async def create(self, model_id: str, params: dict[str, Any]) -> Completion: ...

    def stream(self, model_id: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]: ...

    async def close(self) -> None: ...
