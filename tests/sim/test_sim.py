"""The simulated model server, driven over real HTTP by the official OpenAI SDK."""

from __future__ import annotations

import asyncio
import base64
import math
import socket
import struct
import subprocess
import sys
import time
from typing import Any

import httpx
import openai
import pytest

from headwater.sim.app import create_sim_app
from headwater.sim.config import SimConfig
from headwater.sim.directives import parse_model
from headwater.sim.text import WORDS
from headwater.token_estimate import count_text

MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello, river!"},
]


def _check_words(text: str, count: int) -> None:
    words = text.split(" ")
    assert len(words) == count == count_text(text)
    assert all(word in WORDS for word in words)


def test_vocabulary_words_cost_one_token_each() -> None:
    assert len(set(WORDS)) == len(WORDS) >= 50
    for word in WORDS:
        assert word.isalpha() and word.islower() and len(word) <= 4 and count_text(word) == 1


def test_health_and_models(http: httpx.Client, client: openai.OpenAI) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    models = client.models.list()
    assert [m.id for m in models.data] == ["sim-chat", "sim-embed"]
    assert all(m.owned_by == "headwater-sim" and m.object == "model" for m in models.data)


def test_chat_non_stream(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="any/model-name", messages=MESSAGES)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == "any/model-name"
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert reply.usage is not None
    # 3 (reply priming) + 3 + "Be brief." (Be, bri-ef, .: 4) + 3 + "Hello, river!" (Hel-lo , riv-er !: 6)
    assert reply.usage.prompt_tokens == 19
    assert 8 <= reply.usage.completion_tokens <= 48
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert choice.message.content is not None
    _check_words(choice.message.content, reply.usage.completion_tokens)
    again = client.chat.completions.create(model="any/model-name", messages=MESSAGES)
    assert again.choices[0].message.content == choice.message.content
    other = client.chat.completions.create(model="other", messages=MESSAGES)
    assert other.choices[0].message.content != choice.message.content


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_stream(client: openai.OpenAI, include_usage: bool) -> None:
    full = client.chat.completions.create(model="m", messages=MESSAGES)
    options: Any = {"include_usage": True} if include_usage else openai.omit
    with client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options=options
    ) as stream:
        chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == "m" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    if include_usage:
        *chunks, last = chunks
        assert last.choices == [] and last.usage == full.usage
    assert all(c.usage is None for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    *tokens, finish = chunks
    assert finish.choices[0].finish_reason == "stop" and finish.choices[0].delta.content is None
    assert all(c.choices[0].finish_reason is None for c in tokens)
    assert full.usage is not None and len(tokens) == full.usage.completion_tokens
    assert "".join(c.choices[0].delta.content or "" for c in tokens) == full.choices[0].message.content


def test_completions(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="legacy", prompt="Once upon a time")
    assert reply.object == "text_completion" and reply.model == "legacy" and reply.id.startswith("cmpl-")
    assert reply.usage is not None and reply.usage.prompt_tokens == 4  # four words of up to 4 letters
    _check_words(reply.choices[0].text, reply.usage.completion_tokens)
    assert reply.choices[0].finish_reason == "stop"

    with client.completions.create(model="legacy", prompt="Once upon a time", stream=True) as stream:
        chunks = list(stream)
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].choices[0].text == ""
    assert "".join(c.choices[0].text for c in chunks) == reply.choices[0].text

    with client.completions.create(
        model="legacy", prompt=[1, 2, 3], stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 3
    assert chunks[-1].usage.completion_tokens == len(chunks) - 2


def test_max_tokens_truncates(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 5
    assert reply.choices[0].message.content is not None
    _check_words(reply.choices[0].message.content, 5)

    with client.chat.completions.create(
        model="m",
        messages=MESSAGES,
        max_completion_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None, None, None, "length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3

    legacy = client.completions.create(model="m", prompt="hi", max_tokens=1)
    assert legacy.choices[0].finish_reason == "length" and len(legacy.choices[0].text.split(" ")) == 1


def test_embeddings(client: openai.OpenAI) -> None:
    default = client.embeddings.create(model="sim-embed", input="hello world")  # SDK asks for base64
    assert default.model == "sim-embed" and len(default.data) == 1
    vector = default.data[0].embedding
    assert len(vector) == 256
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, abs_tol=1e-5)
    assert default.usage.prompt_tokens == default.usage.total_tokens == 4  # hel-lo wor-ld

    floats = client.embeddings.create(model="e", input="hello world", encoding_format="float")
    assert floats.data[0].embedding == vector  # same numbers in both encodings, any model

    batch = client.embeddings.create(model="e", input=["a", "hello world", "a"], dimensions=16)
    first, second, third = (d.embedding for d in batch.data)
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert len(first) == 16 and first == third and first != second
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, abs_tol=1e-5) for v in (first, second))

    tokens = client.embeddings.create(model="e", input=[[1, 2], [3]], encoding_format="float")
    assert len(tokens.data) == 2 and tokens.usage.prompt_tokens == 3
    assert client.embeddings.create(model="e", input=[1, 2]).data[0].embedding == tokens.data[0].embedding


def test_embeddings_base64_wire_format(http: httpx.Client) -> None:
    body = {"model": "e", "input": "hello", "dimensions": 8}
    raw = http.post("/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    floats = http.post("/v1/embeddings", json=body).json()
    decoded = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(decoded) == floats["data"][0]["embedding"]


@pytest.mark.parametrize(
    ("suffix", "error"),
    [
        ("fail-400", openai.BadRequestError),
        ("fail-401", openai.AuthenticationError),
        ("fail-429", openai.RateLimitError),
        ("fail-500", openai.InternalServerError),
        ("fail-503", openai.InternalServerError),
    ],
)
def test_failure_directives(client: openai.OpenAI, suffix: str, error: type[openai.APIStatusError]) -> None:
    with pytest.raises(error) as raised:
        client.chat.completions.create(model=f"sim-chat:{suffix}", messages=MESSAGES)
    status = int(suffix.removeprefix("fail-"))
    assert raised.value.status_code == status
    assert raised.value.response.headers.get("retry-after") == ("7" if status in (429, 503) else None)
    assert raised.value.response.json()["error"]["message"]
    with pytest.raises(error):
        client.embeddings.create(model=f"e:{suffix}", input="x")


def test_no_usage_directive(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="sim-chat:no-usage", messages=MESSAGES)
    assert reply.usage is None and reply.model == "sim-chat"
    plain = client.chat.completions.create(model="sim-chat", messages=MESSAGES)
    assert reply.choices[0].message.content == plain.choices[0].message.content
    with client.chat.completions.create(
        model="sim-chat:no-usage", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    assert all(c.choices and c.usage is None for c in chunks)
    assert client.embeddings.create(model="e:no-usage", input="x").model == "e"


def test_cut_directive_drops_the_stream(client: openai.OpenAI) -> None:
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):  # noqa: SIM117
        with client.chat.completions.create(model="m:cut", messages=MESSAGES, stream=True) as stream:
            received.extend(c.choices[0].delta.content or "" for c in stream)
    assert len(received) == 3
    with pytest.raises(openai.APIConnectionError):
        client.completions.create(model="m:cut", prompt="x")


def test_garbage_and_hang_directives(http: httpx.Client, client: openai.OpenAI) -> None:
    garbage = http.post("/v1/chat/completions", json={"model": "m:garbage", "messages": MESSAGES})
    assert garbage.status_code == 200 and garbage.headers["content-type"] == "application/json"
    assert garbage.content == b"not json at all"
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m:hang", messages=MESSAGES, timeout=0.3)
    assert http.get("/health").status_code == 200


def test_parse_model() -> None:
    model, directives = parse_model("llama3:8b:no-usage:cut")
    assert model == "llama3:8b" and directives.no_usage and directives.cut and directives.fail is None
    assert parse_model("llama3:8b") == ("llama3:8b", parse_model("plain")[1])
    assert parse_model("plain")[1] == type(directives)()
    assert parse_model("x:fail-503:hang")[1].fail == "fail-503"


@pytest.mark.parametrize(
    ("path", "body", "status", "param", "code"),
    [
        ("/v1/chat/completions", b"{not json", 400, None, "invalid_json"),
        ("/v1/chat/completions", b"[1, 2]", 400, None, "invalid_json"),
        ("/v1/chat/completions", b'{"messages": []}', 400, "model", "missing_required_parameter"),
        ("/v1/chat/completions", b'{"model": "m"}', 400, "messages", "missing_required_parameter"),
        ("/v1/chat/completions", b'{"model": "m", "messages": [{}], "n": 0}', 400, "n", "invalid_value"),
        ("/v1/chat/completions", b'{"model": "m", "messages": [{}], "n": 129}', 400, "n", "invalid_value"),
        ("/v1/completions", b'{"model": "m", "prompt": "x", "n": 3, "best_of": 2}', 400, "best_of", None),
        (
            "/v1/chat/completions",
            b'{"model": "m", "messages": [{}], "max_tokens": 0}',
            400,
            "max_tokens",
            None,
        ),
        ("/v1/completions", b'{"model": "m"}', 400, "prompt", "missing_required_parameter"),
        ("/v1/embeddings", b'{"model": "m"}', 400, "input", "missing_required_parameter"),
        ("/v1/embeddings", b'{"model": "m", "input": [1, "a"]}', 400, "input", "invalid_value"),
        ("/v1/nothing-here", b"{}", 404, None, "unknown_url"),
    ],
)
def test_bad_requests(
    http: httpx.Client, path: str, body: bytes, status: int, param: str | None, code: str | None
) -> None:
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert http.get("/v1/chat/completions").status_code == 405


async def test_error_rate_is_seeded() -> None:
    async def run(rate: float) -> list[int]:
        transport = httpx.ASGITransport(
            app=create_sim_app(SimConfig(ttft_ms=0, tokens_per_second=0, error_rate=rate))
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as sim:
            codes = []
            for _ in range(40):
                r = await sim.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES})
                codes.append(r.status_code)
            return codes

    assert set(await run(1.0)) == {500}
    half = await run(0.5)
    assert set(half) == {200, 500} and half == await run(0.5)


async def test_disconnect_stops_the_stream() -> None:
    app = create_sim_app(SimConfig(ttft_ms=0, tokens_per_second=10))
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            body = b'{"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            gone.set()  # the client leaves after the first token

    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
    started = time.monotonic()
    await asyncio.wait_for(app(scope, receive, send), 2)
    assert time.monotonic() - started < 0.3  # a full reply takes at least 0.7 s at 10 tokens/s
    assert len(sent) == 2  # the start and one token
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.e2e
def test_ttft_and_pace_through_server_run() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "from headwater.sim.config import SimConfig; from headwater.sim.server import run; "
        f"run(SimConfig(ttft_ms=200, tokens_per_second=50), port={port})"
    )
    with subprocess.Popen([sys.executable, "-c", code]) as process:
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 15
            with httpx.Client(base_url=base) as http:
                while True:
                    try:
                        if http.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline
                        time.sleep(0.05)
            with openai.OpenAI(base_url=base + "/v1", api_key="x", max_retries=0) as sdk:
                started = time.monotonic()
                with sdk.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True, max_tokens=6
                ) as s:
                    arrivals = [time.monotonic() - started for _ in s]
            assert arrivals[0] >= 0.18
            assert arrivals[-1] - arrivals[0] >= 5 * 0.02 * 0.9  # five gaps of 20 ms
        finally:
            process.terminate()
            process.wait(10)
