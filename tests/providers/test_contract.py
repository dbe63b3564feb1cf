"""One contract, every provider: chat, streaming, tools, usage, errors, timeouts and cancellation,
through a real ``headwater serve``, driven by the official SDKs of each client API (chat completions
and the Responses API with ``openai``, the Messages API with ``anthropic``).

Upstreams: ``headwater sim`` for ``openai``; fakes replaying the real wire formats of Azure OpenAI,
Anthropic and Bedrock (:mod:`tests.providers.fakes`), which check what they receive (paths, auth,
SigV4 signatures, bodies) as the real services do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.providers.gateway_world import FAKED, PROVIDERS, World, serving_every_provider
from tests.support import Sim, usage_events, wait_for

pytestmark = pytest.mark.e2e

APIS = ("chat", "responses", "messages")
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a place.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}


#: The providers whose credential a test made the fake refuse (the server log must say so).
REFUSED: set[str] = set()


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # a 3 s timeout: an upstream that hangs is a 504 soon
    with serving_every_provider(
        sim, tmp_path_factory.mktemp("contract"), key_name="contract", timeout=3
    ) as world:
        yield world
    # a refused credential is logged, naming the deployment (for each provider a test made refuse it)
    for provider in REFUSED:
        assert f"deployment via-{provider}/0" in world.log and "upstream_auth_failed" in world.log


def _openai(world: World, timeout: float = 10.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=world.server.v1, api_key=world.key, max_retries=0, timeout=timeout)


def _anthropic(world: World, timeout: float = 10.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=world.server.url, api_key=world.key, max_retries=0, timeout=timeout)


@dataclass
class Answer:
    text: str
    tool: tuple[str, dict[str, Any]] | None
    prompt_tokens: int
    completion_tokens: int
    request_id: str | None


def _ask(
    world: World, api: str, model: str, *, stream: bool, tools: bool = False, request_id: str | None = None
) -> Answer:
    """One call through ``api``'s official SDK: the answer's text, first tool call and usage."""
    extra = {"extra_headers": {"X-Request-Id": request_id}} if request_id else {}
    question = "What is the weather in Paris?" if tools else "Say hello."
    if api == "chat":
        with _openai(world) as client:
            kwargs: dict[str, Any] = {
                "model": model,
                "messages": [{"role": "user", "content": question}],
                **extra,
            }
            if tools:
                kwargs["tools"] = [{"type": "function", "function": WEATHER_TOOL}]
            if not stream:
                raw = client.chat.completions.with_raw_response.create(**kwargs)
                reply = raw.parse()
                message = reply.choices[0].message
                call = message.tool_calls[0] if message.tool_calls else None
                assert reply.usage is not None and reply.model == model
                return Answer(
                    message.content or "",
                    (call.function.name, json.loads(call.function.arguments)) if call else None,
                    reply.usage.prompt_tokens,
                    reply.usage.completion_tokens,
                    raw.headers.get("x-request-id"),
                )
            text, name, arguments, usage = "", None, "", None
            for chunk in client.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True}
            ):
                assert chunk.model == model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    for piece in choice.delta.tool_calls or []:
                        name = name or (piece.function.name if piece.function else None)
                        arguments += (piece.function.arguments or "") if piece.function else ""
            assert usage is not None
            tool = (name, json.loads(arguments)) if name else None
            return Answer(text, tool, usage.prompt_tokens, usage.completion_tokens, None)
    if api == "responses":
        with _openai(world) as client:
            rkwargs: dict[str, Any] = {"model": model, "input": question, **extra}
            if tools:
                rkwargs["tools"] = [{"type": "function", **WEATHER_TOOL}]
            if stream:
                with client.responses.stream(**rkwargs) as events:
                    response = events.get_final_response()
            else:
                response = client.responses.create(**rkwargs)
            assert response.model == model and response.usage is not None
            calls = [item for item in response.output if item.type == "function_call"]
            tool = (calls[0].name, json.loads(calls[0].arguments)) if calls else None
            return Answer(
                response.output_text, tool, response.usage.input_tokens, response.usage.output_tokens, None
            )
    with _anthropic(world) as claude:
        mkwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": question}],
            **extra,
        }
        if tools:
            mkwargs["tools"] = [
                {
                    "name": WEATHER_TOOL["name"],
                    "description": "The weather.",
                    "input_schema": WEATHER_TOOL["parameters"],
                }
            ]
        if stream:
            with claude.messages.stream(**mkwargs) as events:
                message = events.get_final_message()
        else:
            message = claude.messages.create(**mkwargs)
        assert message.model == model
        text = "".join(block.text for block in message.content if block.type == "text")
        uses = [block for block in message.content if block.type == "tool_use"]
        tool = (uses[0].name, dict(uses[0].input)) if uses else None
        return Answer(text, tool, message.usage.input_tokens, message.usage.output_tokens, None)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_and_usage(world: World, provider: str, api: str, stream: bool) -> None:
    answer = _ask(world, api, f"via-{provider}", stream=stream)
    assert answer.text.strip()
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0
    if provider in FAKED:
        assert "Hello" in answer.text  # the recorded answer, relayed whole


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_call(world: World, provider: str, api: str, stream: bool) -> None:
    if provider in FAKED:
        world.fakes[provider].next("tool")
    answer = _ask(world, api, f"via-{provider}", stream=stream, tools=True)
    assert answer.tool is not None
    name, arguments = answer.tool
    assert name == "get_weather"
    assert isinstance(arguments.get("location"), str)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_usage_event_matches_what_the_client_was_told(world: World, provider: str, api: str) -> None:
    request_id = f"contract-{provider}-{api}-{time.time_ns()}"
    answer = _ask(world, api, f"via-{provider}", stream=True, request_id=request_id)

    def new() -> dict[str, Any] | None:
        return next((e for e in usage_events(world.server) if e["request_id"] == request_id), None)

    event = wait_for(new, timeout=5)
    assert event["provider"] == provider
    assert event["endpoint"] == api
    assert event["status"] == "success"
    assert (event["prompt_tokens"], event["completion_tokens"]) == (
        answer.prompt_tokens,
        answer.completion_tokens,
    )


def _status_error(world: World, api: str, model: str) -> tuple[int, str, dict[str, str]]:
    """Call once and return the HTTP status, the body and the headers of the error."""
    body: dict[str, Any]
    if api == "messages":
        path = "/v1/messages"
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
        headers = {"x-api-key": world.key, "anthropic-version": "2023-06-01"}
    elif api == "responses":
        path, body = "/v1/responses", {"model": model, "input": "Hi"}
        headers = {"Authorization": f"Bearer {world.key}"}
    else:
        path = "/v1/chat/completions"
        body = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
        headers = {"Authorization": f"Bearer {world.key}"}
    response = httpx.post(world.server.url + path, json=body, headers=headers, timeout=15)
    return response.status_code, response.text, dict(response.headers)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("provider", FAKED)
@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("error:429", 429, None),
        ("error:401", 502, "upstream_auth_failed"),
        ("error:500", 502, "bad_upstream_response"),
        ("hang", 504, "upstream_timeout"),
    ],
)
def test_errors_in_the_clients_own_shape(
    world: World, provider: str, api: str, scenario: str, status: int, code: str | None
) -> None:
    world.fakes[provider].next(scenario)
    got, text, headers = _status_error(world, api, f"via-{provider}")
    if scenario == "error:401":
        REFUSED.add(provider)
    assert got == status, text
    body = json.loads(text)
    if api == "messages":
        assert body["type"] == "error" and isinstance(body["error"]["message"], str)
        if status == 429:
            assert body["error"]["type"] == "rate_limit_error"
    else:
        assert isinstance(body["error"]["message"], str)
        if code is not None:
            assert body["error"]["code"] == code
    if status == 429 and provider != "bedrock":  # Bedrock's throttling answer says no time
        assert headers.get("retry-after")
    fake: Any = world.fakes[provider]
    assert fake.api_key not in text


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("provider", FAKED)
def test_a_client_that_leaves_closes_the_upstream_stream(world: World, provider: str, api: str) -> None:
    fake = world.fakes[provider]
    before = fake.cancelled
    fake.next("stall")
    body: dict[str, Any]
    if api == "messages":
        path = "/v1/messages"
        body = {"model": f"via-{provider}", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    elif api == "responses":
        path, body = "/v1/responses", {"model": f"via-{provider}", "input": "Hi"}
    else:
        path = "/v1/chat/completions"
        body = {"model": f"via-{provider}", "messages": [{"role": "user", "content": "Hi"}]}
    body["stream"] = True
    headers = {"Authorization": f"Bearer {world.key}"}
    with httpx.stream("POST", world.server.url + path, json=body, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            if chunk:
                break  # the first events came: leave
    assert fake.wait_cancelled(before + 1, timeout=5)
    time.sleep(0.1)
