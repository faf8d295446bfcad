"""The provider factory (``auto`` picks by the key), the offline provider's answers and
streams, and the local upstream's holds; and one call through an app left to ``auto``."""

import asyncio
import threading

import httpx
import pytest

from schoolbase.ai.gateway import answer_text
from schoolbase.ai.providers import StreamTally
from schoolbase.ai.providers.anthropic import AnthropicProvider
from schoolbase.ai.providers.factory import provider_from_settings
from schoolbase.ai.providers.local_upstream import Hold
from schoolbase.ai.providers.offline import LABEL, OfflineProvider
from schoolbase.app import create_app
from schoolbase.config import Settings
from tests.ai.support import message

MODEL = "claude-haiku-test"


def settings_with(**values) -> Settings:
    """Settings from these values alone: no .env file, and the key unset unless given."""
    return Settings(_env_file=None, **{"anthropic_api_key": None, **values})


async def made(**values):
    provider = provider_from_settings(settings_with(**values))
    await provider.close()
    return provider


async def test_auto_without_a_key_is_offline():
    provider = await made(ai_provider="auto")
    assert isinstance(provider, OfflineProvider) and provider.name == "offline"


async def test_auto_with_a_key_is_anthropic_with_the_configured_client():
    provider = await made(
        ai_provider="auto",
        anthropic_api_key="sk-test",
        anthropic_base_url="http://127.0.0.1:9/",
        ai_timeout_seconds=7,
        ai_max_retries=1,
    )
    assert isinstance(provider, AnthropicProvider) and provider.name == "anthropic"
    client = provider.client
    assert client.api_key == "sk-test"
    assert str(client.base_url).startswith("http://127.0.0.1:9")
    assert client.max_retries == 1
    assert (client.timeout.read, client.timeout.connect) == (7, 5.0)


async def test_offline_is_offline_even_with_a_key():
    assert isinstance(await made(ai_provider="offline", anthropic_api_key="sk-test"), OfflineProvider)


def test_anthropic_without_a_key_is_refused():
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        provider_from_settings(settings_with(ai_provider="anthropic"))


async def test_anthropic_with_a_key_is_anthropic():
    assert isinstance(await made(ai_provider="anthropic", anthropic_api_key="sk-test"), AnthropicProvider)


def params(text: str = "Explain photosynthesis briefly.", **extra) -> dict:
    """What the gateway hands a provider: the request without the feature and model."""
    body = message(text, **extra)
    del body["feature"]
    return body


async def test_offline_answer_is_labelled_echoes_the_prompt_and_counts_usage():
    completion = await OfflineProvider().create(MODEL, params("What is a leaf?"))
    answer = completion.message
    assert (answer["type"], answer["role"], answer["model"], answer["stop_reason"]) == (
        "message",
        "assistant",
        MODEL,
        "end_turn",
    )
    (block,) = answer["content"]
    assert block == {"type": "text", "text": f"{LABEL} You asked: What is a leaf?"}
    assert completion.usage.output_tokens == len(block["text"].split())
    assert completion.usage.input_tokens > 0
    assert (completion.usage.cache_write_tokens, completion.usage.cache_read_tokens) == (0, 0)
    assert answer["usage"]["input_tokens"] == completion.usage.input_tokens
    assert answer["usage"]["output_tokens"] == completion.usage.output_tokens


async def test_offline_answers_the_last_user_message_in_text_blocks():
    body = params()
    body["messages"] = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "question"}]},
    ]
    completion = await OfflineProvider().create(MODEL, body)
    assert completion.message["content"][0]["text"] == f"{LABEL} You asked: second question"


async def test_offline_answers_are_deterministic_per_request():
    provider = OfflineProvider()
    first, again = await provider.create(MODEL, params("a")), await provider.create(MODEL, params("a"))
    other = await provider.create(MODEL, params("b"))
    other_model = await provider.create("another-model", params("a"))
    assert first.message == again.message and first.usage == again.usage
    assert first.message["id"].startswith("msg_offline_")
    assert len({first.message["id"], other.message["id"], other_model.message["id"]}) == 3


async def test_offline_answer_keeps_to_max_tokens():
    completion = await OfflineProvider().create(MODEL, params("one two three four five six", max_tokens=3))
    assert completion.message["content"][0]["text"].split() == LABEL.split()[:3]
    assert completion.usage.output_tokens == 3


async def test_offline_stream_is_the_messages_api_stream_of_the_same_answer():
    provider = OfflineProvider()
    completion = await provider.create(MODEL, params("stream it"))
    events = [event async for event in provider.stream(MODEL, params("stream it"))]
    kinds = [event["type"] for event in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert events[0]["message"]["id"] == completion.message["id"]
    assert events[0]["message"]["content"] == [] and events[0]["message"]["stop_reason"] is None
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    tally = StreamTally()
    for event in events:
        tally.observe(event)
    assert "".join(tally.text) == completion.message["content"][0]["text"]
    assert tally.usage == completion.usage
    assert await provider.close() is None


async def test_a_hold_keeps_calls_until_released():
    hold = Hold("k")
    assert hold.tag == "[[hold:k]]"
    waiters = [asyncio.create_task(hold.wait()) for _ in range(3)]
    await hold.wait_held(3)
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    hold.release()
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=5)
    await asyncio.wait_for(hold.wait(), timeout=5)  # once released, later calls pass at once
    assert hold.held == 4


async def test_a_hold_is_released_from_another_thread():
    hold = Hold("threads")
    waiter = asyncio.create_task(hold.wait())
    await hold.wait_held(1)
    releaser = threading.Thread(target=hold.release)
    releaser.start()
    await asyncio.wait_for(waiter, timeout=5)
    releaser.join()


async def test_waiting_for_more_held_calls_than_arrive_fails():
    with pytest.raises(AssertionError, match="0 of 1 calls"):
        await Hold("none").wait_held(1, timeout=0.05)


async def test_an_app_without_a_key_answers_offline(settings, urls, make_school):
    """``auto`` end to end: the gateway answers, logs and bills the offline provider's reply."""
    application = create_app(settings.model_copy(update={"ai_provider": "auto", "anthropic_api_key": None}), urls)
    school = await make_school()
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post("/ai/messages", json=message("offline?"), headers=school.headers["s"])
    assert response.status_code == 200, response.text
    assert answer_text(response.json()) == f"{LABEL} You asked: offline?"
