"""A deterministic provider for demos and development: no network, clearly labelled output."""

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from schoolbase.ai.pricing import Usage
from schoolbase.ai.providers import Completion

LABEL = "[offline demo response — no AI model was called]"


def _last_user_text(params: dict[str, Any]) -> str:
    for message in reversed(params.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(block.get("text", "") for block in content if isinstance(block, dict))
    return ""


def offline_reply(model_id: str, params: dict[str, Any]) -> tuple[str, Usage, str]:
    prompt = _last_user_text(params)
    text = f"{LABEL} You asked: {prompt[:300]}"
    words = text.split()
    max_tokens = int(params.get("max_tokens", 1024))
    text = " ".join(words[:max_tokens])
    payload = json.dumps([params.get("system"), params.get("messages")], sort_keys=True, default=str)
    usage = Usage(input_tokens=max(1, len(payload) // 4), output_tokens=min(max_tokens, len(text.split())))
    digest = hashlib.sha256((model_id + payload).encode()).hexdigest()[:24]
    return text, usage, f"msg_offline_{digest}"


def message_json(model_id: str, message_id: str, text: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
        },
    }


def stream_events(model_id: str, message_id: str, text: str, usage: Usage) -> list[dict[str, Any]]:
    """The Messages API's stream for one text block, as Anthropic sends it."""
    start = message_json(
        model_id, message_id, "", Usage(usage.input_tokens, 1, usage.cache_write_tokens, usage.cache_read_tokens)
    )
    start["content"], start["stop_reason"] = [], None
    words = text.split(" ")
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
            }
            for i, word in enumerate(words)
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage.output_tokens},
        },
        {"type": "message_stop"},
    ]


class OfflineProvider:
    name = "offline"

    async def create(self, model_id: str, params: dict[str, Any]) -> Completion:
        text, usage, message_id = offline_reply(model_id, params)
        return Completion(message=message_json(model_id, message_id, text, usage), usage=usage)

    async def stream(self, model_id: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        text, usage, message_id = offline_reply(model_id, params)
        for event in stream_events(model_id, message_id, text, usage):
            yield event

    async def close(self) -> None:
        return None
