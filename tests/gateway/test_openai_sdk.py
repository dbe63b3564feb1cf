"""The official OpenAI SDK against real `headwater serve` + `headwater sim` processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support import Server, Sim, apply, create_key, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Tell me about rivers and their headwaters."}
]


@pytest.fixture(scope="module")
def key(server: Server, sim: Sim) -> Iterator[str]:
    apply(
        server,
        model_doc("chat-model", sim.url, upstream="upstream-chat-name"),
        model_doc("embed-model", sim.url, kind="embedding"),
    )
    yield create_key(server, name="sdk")["key"]


@pytest.fixture
def client(server: Server, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk:
        yield sdk


def _event(server: Server, request_id: str) -> dict[str, object]:
    def find() -> dict[str, object] | None:
        return next((e for e in usage_events(server) if e["request_id"] == request_id), None)

    event: dict[str, object] = wait_for(find, timeout=5)
    return event


def test_chat_non_stream_reports_usage_and_public_model_name(client: openai.OpenAI, server: Server) -> None:
    raw = client.chat.completions.with_raw_response.create(model="chat-model", messages=MESSAGES)
    reply = raw.parse()
    assert reply.model == "chat-model"  # the upstream's own name stays hidden
    assert reply.choices[0].message.content
    assert reply.usage is not None
    # 3 (reply priming) + 3 (one message) + 13:
    # Tell(1) me(1) about(2) rivers(2) and(1) their(2) headwaters(3) .(1), a token per started 4 letters
    assert reply.usage.prompt_tokens == 19
    request_id = raw.headers["x-request-id"]
    event = _event(server, request_id)
    assert event["prompt_tokens"] == reply.usage.prompt_tokens
    assert event["completion_tokens"] == reply.usage.completion_tokens
    expected = (
        Decimal("0.20") * reply.usage.prompt_tokens + Decimal("0.60") * reply.usage.completion_tokens
    ) / 10**6
    assert Decimal(str(event["cost"])) == expected
    assert event["status"] == "success" and event["streamed"] is False and event["estimated"] is False
    assert event["model"] == "chat-model" and event["deployment"] == "chat-model/0"


def test_chat_stream_hides_usage_chunk_unless_asked(client: openai.OpenAI, server: Server) -> None:
    chunks = list(client.chat.completions.create(model="chat-model", messages=MESSAGES, stream=True))
    assert chunks, "no chunks"
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.model == "chat-model" for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_chat_stream_with_include_usage_gets_the_usage_chunk(client: openai.OpenAI, server: Server) -> None:
    response = client.chat.completions.with_raw_response.create(
        model="chat-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(response.parse())
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert usage.completion_tokens == len(content_chunks)
    event = _event(server, response.headers["x-request-id"])
    assert event["streamed"] is True and event["estimated"] is False
    assert event["completion_tokens"] == usage.completion_tokens
    assert event["ttft_ms"] is not None


def test_completions_stream_and_non_stream(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="chat-model", prompt="Once upon a time", max_tokens=5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 5
    chunks = list(client.completions.create(model="chat-model", prompt="Once upon a time", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_embeddings_are_deterministic(client: openai.OpenAI, server: Server) -> None:
    first = client.embeddings.create(model="embed-model", input=["alpha", "beta"])
    again = client.embeddings.create(model="embed-model", input="alpha")
    assert len(first.data) == 2
    assert first.data[0].embedding == again.data[0].embedding
    assert first.usage.prompt_tokens == 3  # alpha (2: five letters) + beta (1)


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list()} == {"chat-model", "embed-model"}
    assert client.models.retrieve("embed-model").id == "embed-model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


async def test_async_sdk_concurrent_streams(server: Server, key: str) -> None:
    import asyncio

    async with openai.AsyncOpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk:

        async def one(index: int) -> int:
            stream = await sdk.chat.completions.create(
                model="chat-model",
                messages=[{"role": "user", "content": f"question {index}"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            usage = None
            async for chunk in stream:
                usage = chunk.usage or usage
            assert usage is not None
            return usage.completion_tokens

        counts = await asyncio.gather(*(one(i) for i in range(20)))
        reply = await sdk.chat.completions.create(model="chat-model", messages=MESSAGES)
    assert all(count > 0 for count in counts)
    assert reply.choices[0].message.content


def test_last_used_at_is_updated_in_batches(client: openai.OpenAI, server: Server, key: str) -> None:
    client.chat.completions.create(model="chat-model", messages=MESSAGES)
    key_id = key.split("_")[1]
    with server.admin() as admin:
        stamp = wait_for(lambda: admin.get(f"/keys/{key_id}").json()["last_used_at"], timeout=5)
    assert stamp.startswith(time.strftime("%Y-", time.gmtime()))


def _metrics(server: Server) -> dict[str, float]:
    import httpx

    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        line.split()[0]: float(line.split()[1])
        for line in response.text.splitlines()
        if line and line[0] != "#"
    }


def test_metrics_endpoint(server: Server, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="chat-model", messages=MESSAGES)
    found = _metrics(server)
    assert found["headwater_snapshot_revision"] >= 1
    assert found["headwater_limits_degraded"] == 0
    assert wait_for(lambda: _metrics(server)["headwater_usage_events_written_total"] >= 1)
