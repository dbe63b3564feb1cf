"""The provider fakes answer the real SDKs as the providers do: replies, streams, errors, checks, timeouts.

The official ``anthropic`` SDK and ``openai.AzureOpenAI`` are pointed at :class:`FakeAnthropic` and
:class:`FakeAzureOpenAI`; what the SDKs return or raise is what they would for the real services.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.providers.fakes.anthropic import FakeAnthropic
from tests.providers.fakes.anthropic import fixture as anthropic_fixture
from tests.providers.fakes.azure import FakeAzureOpenAI
from tests.providers.fakes.azure import fixture as azure_fixture

HELLO = "Hello! How can I help you today?"
WEATHER = {"location": "San Francisco, CA"}
ASK: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
TOOLS = [
    {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
    }
]
CHAT: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
VERSION = "2024-10-21"


@pytest.fixture
def claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def azure() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as fake:
        yield fake


def sdk(fake: FakeAnthropic, timeout: float = 10.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.origin, api_key=fake.api_key, max_retries=0, timeout=timeout)


def azure_sdk(fake: FakeAzureOpenAI, timeout: float = 10.0) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=fake.base_url,
        api_key=fake.api_key,
        api_version=VERSION,
        max_retries=0,
        timeout=timeout,
    )


# ---- Anthropic: replies -----------------------------------------------------------------------------
def test_anthropic_text_is_the_recorded_message_for_the_requested_model(claude: FakeAnthropic) -> None:
    message = sdk(claude).messages.create(**ASK)
    assert (message.model, message.content[0].type, message.stop_reason) == (
        "claude-haiku-4-5",
        "text",
        "end_turn",
    )
    assert message.content[0].text == HELLO
    assert (message.usage.input_tokens, message.usage.output_tokens) == (14, 12)
    seen = claude.requests[-1]
    assert (seen.method, seen.path, seen.json()["max_tokens"]) == ("POST", "/v1/messages", 64)
    assert seen.headers["anthropic-version"] and claude.base_url == f"{claude.origin}/v1"


def test_anthropic_stream_replays_the_recorded_events_byte_for_byte(claude: FakeAnthropic) -> None:
    body = {**ASK, "stream": True}
    headers = {"x-api-key": claude.api_key, "anthropic-version": "2023-06-01"}
    raw = httpx.post(f"{claude.base_url}/messages", json=body, headers=headers)
    assert raw.headers["content-type"].startswith("text/event-stream")
    recorded = anthropic_fixture("message_text.sse").replace(
        b"claude-sonnet-4-5-20250929", b"claude-haiku-4-5"
    )
    assert raw.content == recorded
    events = [event.type for event in sdk(claude).messages.create(**body)]
    assert events == ["message_start", "content_block_start", *["content_block_delta"] * 3,
                      "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    with sdk(claude).messages.stream(**ASK) as stream:
        final = stream.get_final_message()
    assert (final.content[0].text, final.usage.output_tokens) == (HELLO, 12)  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_scenario_calls_get_weather(claude: FakeAnthropic, stream: bool) -> None:
    claude.next("tool")
    if stream:
        with sdk(claude).messages.stream(**ASK, tools=TOOLS) as events:  # type: ignore[arg-type]
            message: Any = events.get_final_message()
    else:
        message = sdk(claude).messages.create(**ASK, tools=TOOLS)  # type: ignore[arg-type]
    call = message.content[1]
    assert (message.stop_reason, call.type, call.name, call.input) == (
        "tool_use",
        "tool_use",
        "get_weather",
        WEATHER,
    )
    assert sdk(claude).messages.create(**ASK).stop_reason == "end_turn"  # the scenario was used once


async def test_anthropic_async_client_streams_and_counts_tokens(claude: FakeAnthropic) -> None:
    client = anthropic.AsyncAnthropic(base_url=claude.origin, api_key=claude.api_key, max_retries=0)
    async with client.messages.stream(**ASK) as stream:
        text = "".join([piece async for piece in stream.text_stream])
    assert text == HELLO
    counted = await client.messages.count_tokens(model="claude-haiku-4-5", messages=ASK["messages"])
    assert counted.input_tokens == 14
    models = [model.id async for model in client.models.list()]
    assert models == ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    await client.close()


# ---- Anthropic: errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "error", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_anthropic_error_scenarios_raise_the_sdks_exception(
    claude: FakeAnthropic, code: int, error: type[anthropic.APIStatusError], kind: str
) -> None:
    claude.next(f"error:{code}")
    with pytest.raises(error) as raised:
        sdk(claude).messages.create(**ASK)
    body = raised.value.body
    assert raised.value.status_code == code and isinstance(body, dict)
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert raised.value.response.headers["request-id"] == body["request_id"]
    if code == 404:
        assert body["error"]["message"] == "model: claude-haiku-4-5"
    if code == 429:
        assert raised.value.response.headers["retry-after"] == "2"
        assert raised.value.response.headers["anthropic-ratelimit-input-tokens-remaining"] == "0"


def test_anthropic_stream_error_arrives_after_the_first_events(claude: FakeAnthropic) -> None:
    claude.next("stream-error")
    seen = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        for event in sdk(claude).messages.create(**ASK, stream=True):
            seen.append(event.type)
    assert seen == ["message_start", "content_block_start", "content_block_delta"]
    assert isinstance(raised.value.body, dict) and raised.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize("scenario", ["hang", "stall"])
def test_anthropic_hang_and_stall_time_out_and_count_the_client_leaving(
    claude: FakeAnthropic, scenario: str
) -> None:
    claude.next(scenario)
    seen = []
    with pytest.raises(anthropic.APITimeoutError):
        for event in sdk(claude, timeout=0.3).messages.create(**ASK, stream=True):
            seen.append(event.type)
    assert len(seen) == (0 if scenario == "hang" else 3)
    assert claude.wait_cancelled(1)


def test_anthropic_disconnect_cuts_the_stream(claude: FakeAnthropic) -> None:
    claude.next("disconnect")
    with pytest.raises(anthropic.APIConnectionError, match="incomplete chunked read"):
        list(sdk(claude).messages.create(**ASK, stream=True))
    assert claude.cancelled == 0  # the fake left, not the client


def test_a_client_closing_a_slow_stream_is_counted() -> None:
    with FakeAnthropic(event_delay=0.05) as fake:
        stream = sdk(fake).messages.create(**ASK, stream=True)
        assert next(iter(stream)).type == "message_start"
        stream.close()
        assert fake.wait_cancelled(1)


# ---- Anthropic: the checks ----------------------------------------------------------------------------
def post(fake: FakeAnthropic, body: Any, **headers: str) -> httpx.Response:
    sent = {
        "x-api-key": fake.api_key,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        **headers,
    }
    return httpx.post(f"{fake.base_url}/messages", content=json.dumps(body), headers=sent)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "messages": ASK["messages"]}, "max_tokens: Field required"),
        ({**ASK, "messages": []}, "messages: at least one message is required"),
        ({**ASK, "n": 2}, "n: Extra inputs are not permitted"),
        ({**ASK, "temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
        ({**ASK, "messages": [{"role": "system", "content": "x"}]}, 'Unexpected role "system"'),
        ({**ASK, "messages": [{"role": "tool", "content": "x"}]}, "messages.0.role: Input should be"),
        ({**ASK, "tools": [{"name": "f"}]}, "tools.0.input_schema: Field required"),
        (
            {
                **ASK,
                "messages": [
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]}
                ],
            },
            "messages.0.content.0: unexpected `tool_use_id`",
        ),
    ],
)
def test_anthropic_refuses_what_anthropic_refuses_naming_the_field(
    claude: FakeAnthropic, body: dict[str, Any], message: str
) -> None:
    claude.next("tool")
    refused = post(claude, body)
    assert refused.status_code == 400
    error = refused.json()
    assert error["error"]["type"] == "invalid_request_error" and message in error["error"]["message"]
    assert post(claude, ASK).json()["stop_reason"] == "tool_use"  # a refused request used no scenario


def test_anthropic_checks_the_key_and_the_version(claude: FakeAnthropic) -> None:
    assert post(claude, ASK).status_code == 200  # x-api-key, as the gateway sends it
    wrong = post(claude, ASK, **{"x-api-key": "sk-ant-wrong"})
    assert (wrong.status_code, wrong.json()["error"]["type"]) == (401, "authentication_error")
    missing = httpx.post(f"{claude.base_url}/messages", json=ASK, headers={"anthropic-version": "2023-06-01"})
    assert missing.json()["error"]["message"] == "x-api-key header is required"
    unversioned = httpx.post(f"{claude.base_url}/messages", json=ASK, headers={"x-api-key": claude.api_key})
    assert unversioned.status_code == 400 and "anthropic-version" in unversioned.json()["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=claude.origin, api_key="sk-ant-other", max_retries=0).messages.create(
            **ASK
        )
    assert claude.api_key not in wrong.text + missing.text


# ---- Azure OpenAI: replies --------------------------------------------------------------------------
def test_azure_text_carries_the_content_filter_results(azure: FakeAzureOpenAI) -> None:
    completion = azure_sdk(azure).chat.completions.create(**CHAT)
    assert completion.model == "gpt-4o-2024-11-20" and completion.choices[0].message.content == HELLO
    assert completion.model_extra and completion.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    assert completion.choices[0].model_extra and "content_filter_results" in completion.choices[0].model_extra
    seen = azure.requests[-1]
    assert (seen.path, seen.query, seen.headers["api-key"]) == (
        "/openai/deployments/gpt-4o/chat/completions",
        {"api-version": VERSION},
        azure.api_key,
    )


@pytest.mark.parametrize("usage", [False, True])
def test_azure_stream_opens_with_the_prompt_filter_chunk(azure: FakeAzureOpenAI, usage: bool) -> None:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if usage else {}
    chunks = list(azure_sdk(azure).chat.completions.create(**CHAT, stream=True, **options))
    assert (
        chunks[0].choices == [] and chunks[0].model_extra and "prompt_filter_results" in chunks[0].model_extra
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == HELLO
    assert [chunk.usage.total_tokens for chunk in chunks if chunk.usage] == ([28] if usage else [])
    url = f"{azure.base_url}/openai/deployments/gpt-4o/chat/completions?api-version={VERSION}"
    raw = httpx.post(url, json={**CHAT, "stream": True}, headers={"api-key": azure.api_key})
    assert raw.content == azure_fixture("chat_text.sse")


@pytest.mark.parametrize("stream", [False, True])
def test_azure_tool_scenario_calls_get_weather(azure: FakeAzureOpenAI, stream: bool) -> None:
    azure.next("tool")
    tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    if stream:
        chunks = list(azure_sdk(azure).chat.completions.create(**CHAT, tools=tools, stream=True))
        calls = [
            call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []
        ]
        name, arguments = calls[0].function.name, "".join(call.function.arguments or "" for call in calls)
        finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1]
    else:
        choice = azure_sdk(azure).chat.completions.create(**CHAT, tools=tools).choices[0]
        call = choice.message.tool_calls[0]
        name, arguments, finish = call.function.name, call.function.arguments, choice.finish_reason
    assert (name, json.loads(arguments), finish) == ("get_weather", WEATHER, "tool_calls")


async def test_azure_async_client_embeddings_and_responses(azure: FakeAzureOpenAI) -> None:
    client = openai.AsyncAzureOpenAI(
        azure_endpoint=azure.base_url, api_key=azure.api_key, api_version=VERSION
    )
    vectors = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [item.index for item in vectors.data] == [0, 1] and len(vectors.data[0].embedding) == 8
    response = await client.responses.create(model="gpt-4o", input="Hi")
    assert response.output_text == HELLO and azure.requests[-1].path == "/openai/responses"
    async with client.responses.stream(model="gpt-4o", input="Hi") as stream:
        final = await stream.get_final_response()
    assert final.output_text == HELLO and final.usage and final.usage.total_tokens == 22
    await client.close()


# ---- Azure OpenAI: errors and checks ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("error:400", openai.BadRequestError, "context_length_exceeded"),
        ("error:401", openai.AuthenticationError, "401"),
        ("error:403", openai.PermissionDeniedError, "PermissionDenied"),
        ("error:404", openai.NotFoundError, "DeploymentNotFound"),
        ("error:429", openai.RateLimitError, "429"),
        ("error:500", openai.InternalServerError, "InternalServerError"),
        ("content-filter", openai.BadRequestError, "content_filter"),
    ],
)
def test_azure_error_scenarios_raise_the_sdks_exception(
    azure: FakeAzureOpenAI, scenario: str, error: type[openai.APIStatusError], code: str
) -> None:
    azure.next(scenario)
    with pytest.raises(error) as raised:
        azure_sdk(azure).chat.completions.create(**CHAT, stream=True)
    assert raised.value.code == code
    if scenario == "error:429":
        assert raised.value.response.headers["retry-after"] == "2"
        assert raised.value.response.headers["retry-after-ms"] == "2000"
    if scenario == "content-filter":
        assert isinstance(raised.value.body, dict)
        assert raised.value.body["innererror"]["content_filter_result"]["violence"]["filtered"] is True


def test_azure_stream_failures(azure: FakeAzureOpenAI) -> None:
    azure.next("stream-error")
    with pytest.raises(openai.APIError, match="The server had an error"):
        list(azure_sdk(azure).chat.completions.create(**CHAT, stream=True))
    azure.next("disconnect")
    with pytest.raises(openai.APIConnectionError):
        list(azure_sdk(azure).chat.completions.create(**CHAT, stream=True))
    for scenario in ("hang", "stall"):
        azure.next(scenario)
        with pytest.raises(openai.APITimeoutError):
            list(azure_sdk(azure, timeout=0.3).chat.completions.create(**CHAT, stream=True))
    assert azure.wait_cancelled(2)


def test_azure_checks_the_key_the_version_and_the_deployment(azure: FakeAzureOpenAI) -> None:
    with pytest.raises(openai.AuthenticationError, match="invalid subscription key"):
        openai.AzureOpenAI(azure_endpoint=azure.base_url, api_key="0" * 32, api_version=VERSION,
                           max_retries=0).chat.completions.create(**CHAT)  # fmt: skip
    with pytest.raises(openai.AuthenticationError, match="Access token"):  # the key is no Entra ID token
        openai.AzureOpenAI(azure_endpoint=azure.base_url, azure_ad_token=azure.api_key, api_version=VERSION,
                           max_retries=0).chat.completions.create(**CHAT)  # fmt: skip
    with pytest.raises(openai.NotFoundError) as missing:
        azure_sdk(azure).chat.completions.create(**{**CHAT, "model": "no-such-deployment"})
    assert missing.value.code == "DeploymentNotFound"
    url = f"{azure.base_url}/openai/deployments/gpt-4o/chat/completions"
    unversioned = httpx.post(url, json=CHAT, headers={"api-key": azure.api_key})
    assert (unversioned.status_code, unversioned.json()["error"]["message"]) == (404, "Resource not found")
    bad = httpx.post(f"{url}?api-version=v1", json=CHAT, headers={"api-key": azure.api_key})
    assert (bad.status_code, bad.json()["error"]["message"]) == (400, "API version not supported")


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"model": "gpt-4o"}, "messages", "Missing required parameter: 'messages'."),
        ({**CHAT, "top_k": 5}, None, "Unrecognized request argument supplied: top_k"),
        ({**CHAT, "messages": [{"role": "tool", "content": "x", "tool_call_id": "call_1"}]},
         "messages.[0].role", "must be a response to a preceeding message with 'tool_calls'"),
        ({**CHAT, "messages": [{"role": "human", "content": "x"}]},
         "messages[0].role", "Invalid value: 'human'"),
    ],
)  # fmt: skip
def test_azure_refuses_a_body_the_service_refuses(
    azure: FakeAzureOpenAI, body: dict[str, Any], param: str | None, message: str
) -> None:
    url = f"{azure.base_url}/openai/deployments/gpt-4o/chat/completions?api-version={VERSION}"
    refused = httpx.post(url, json=body, headers={"api-key": azure.api_key})
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["type"] == "invalid_request_error"
    assert error["param"] == param and message in error["message"]


def test_an_unknown_scenario_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="has no scenario 'error:529'"):
        FakeAzureOpenAI().next("error:529")
    with pytest.raises(ValueError, match="has no scenario 'content-filter'"):
        FakeAnthropic().next("content-filter")
