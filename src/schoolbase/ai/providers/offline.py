"""A deterministic provider for demos and development: no network, clearly labelled output.

A plain request gets a labelled echo of its prompt. A request for AI-assisted grading (its
system prompt names the ``grading-json-v1`` format of grading/assist/prompt.py) gets a valid
grading answer for the ``<rubric>`` in the prompt, so AI grading works in a demo without a key:
each criterion gets one of its levels (or a share of its maximum) chosen from a hash of the
submission, with feedback that says no AI model was called, and a modest confidence.
"""

import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from schoolbase.ai.pricing import Usage
from schoolbase.ai.providers import Completion

LABEL = "[offline demo response — no AI model was called]"
GRADING_LABEL = "[offline demo suggestion — no AI model was called]"
GRADING_FORMAT = "grading-json-v1"  # the tag grading/assist/prompt.py puts in its system prompt
RUBRIC = re.compile(r"<rubric>(.*?)</rubric>", re.S)
SHARES = (0.6, 0.7, 0.8, 0.9, 1.0)  # of a criterion's maximum, for criteria without levels


def system_text(params: dict[str, Any]) -> str:
    system = params.get("system") or ""
    if isinstance(system, list):
        return " ".join(block.get("text", "") for block in system if isinstance(block, dict))
    return system


def rubric_criteria(prompt: str) -> list[dict[str, Any]]:
    """The criteria of the ``<rubric>`` JSON in a grading prompt (none if there is none)."""
    match = RUBRIC.search(prompt)
    try:
        criteria = json.loads(match.group(1))["criteria"] if match else []
    except (ValueError, KeyError, TypeError):
        return []
    return [c for c in criteria if isinstance(c, dict) and "criterion_id" in c and "max_points" in c]


def _pick(seed: str, count: int) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % count


def _score(criterion: dict[str, Any], seed: str) -> dict[str, Any]:
    levels = [level for level in criterion.get("levels") or [] if isinstance(level, dict) and "points" in level]
    pick = _pick(seed + str(criterion["criterion_id"]), len(levels) or len(SHARES))
    if levels:
        level = levels[pick]
        points, title = min(float(level["points"]), float(criterion["max_points"])), level.get("title")
    else:
        points, title = round(float(criterion["max_points"]) * SHARES[pick] * 2) / 2, None
    return {
        "criterion_id": criterion["criterion_id"],
        "points": points,
        "level": title,
        "comment": f"{GRADING_LABEL} A placeholder score for {criterion.get('title', 'this criterion')!r}.",
    }


def grading_answer(prompt: str) -> str:
    """A valid grading-json-v1 answer for the rubric in ``prompt``, the same for the same prompt."""
    criteria = rubric_criteria(prompt)
    answer = {
        "criteria": [_score(criterion, prompt) for criterion in criteria],
        "feedback": f"{GRADING_LABEL} This suggestion was made without an AI model, to show how AI-assisted "
        "grading works. Review every score before you accept it.",
        "confidence": 0.5 + _pick(prompt, 4) / 10,
    }
    return json.dumps(answer, ensure_ascii=False)


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
    max_tokens = int(params.get("max_tokens", 1024))
    if GRADING_FORMAT in system_text(params):
        text = grading_answer(prompt)
    else:
        text = " ".join(f"{LABEL} You asked: {prompt[:300]}".split()[:max_tokens])
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
