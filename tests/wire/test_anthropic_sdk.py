"""The proof of the format: Anthropic's own SDK, offline, reads what the translation writes.

An httpx2 MockTransport stands in for the gateway: it translates the SDK's request with
``request_to_chat`` (whose result is checked: the SDK's real request shapes are accepted), then
answers a scripted chat completion with ``response_from_chat``, or scripted chat chunks with a
``MessagesEncoder``'s bytes, or an error with ``error_body``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import orjson
import pytest

from headwater.gateway.wire.anthropic import MessagesEncoder, error_body, request_to_chat, response_from_chat
from headwater.gateway.wire.base import Json

USAGE = {
    "prompt_tokens": 40,
    "completion_tokens": 12,
    "total_tokens": 52,
    "prompt_tokens_details": {"cached_tokens": 8},
}
WEATHER: Any = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CONVERSATION: Any = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C"},
            {"type": "text", "text": "And Rome?"},
        ],
    },
]


def chunk(delta: Json | None = None, finish: str | None = None, usage: Json | None = None) -> Json:
    out: Json = {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "choices": []}
    if delta is not None or finish is not None:
        out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        out["usage"] = usage
    return out


TEXT_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "It is "}),
    chunk({"content": "24C in Rome."}),
    chunk({}, "stop"),
    chunk(usage=USAGE),
]
TOOL_CHUNKS = [
    chunk({"role": "assistant", "content": "Checking."}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_r",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Rome"}'}}]}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_m",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Milan"}'},
                }
            ]
        }
    ),
    chunk({}, "tool_calls"),
    chunk(usage=USAGE),
]


def client(answer: Callable[[Json], httpx2.Response], seen: list[Json]) -> anthropic.Anthropic:
    def handle(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        chat = request_to_chat(orjson.loads(request.content))
        seen.append(chat)
        return answer(chat)

    transport = httpx2.MockTransport(handle)
    return anthropic.Anthropic(
        api_key="sk-test",
        base_url="http://127.0.0.1:9",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


def streamed(chunks: list[Json]) -> Callable[[Json], httpx2.Response]:
    def answer(chat: Json) -> httpx2.Response:
        assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
        encoder = MessagesEncoder(chat["model"])
        body = b"".join(encoder.chunk(c) for c in chunks) + encoder.end(None)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return answer


def test_a_message_with_tools_round_trips_through_the_sdk() -> None:
    seen: list[Json] = []
    completion = {
        "id": "chatcmpl-77",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking Rome.",
                    "tool_calls": [
                        {
                            "id": "call_r",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": USAGE,
    }

    def answer(chat: Json) -> httpx2.Response:
        return httpx2.Response(200, json=response_from_chat(completion, chat["model"]))

    message = client(answer, seen).messages.create(
        model="claude-public",
        max_tokens=300,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=CONVERSATION,
        tools=[WEATHER],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        metadata={"user_id": "u-42"},
        stop_sequences=["END"],
        extra_body={"temperature": 0.2},  # this SDK's create() has no sampling arguments any more
    )
    assert [m["role"] for m in seen[0]["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert (
        seen[0]["parallel_tool_calls"] is False and seen[0]["user"] == "u-42" and seen[0]["max_tokens"] == 300
    )
    assert message.id == "msg_77" and message.model == "claude-public" and message.role == "assistant"
    assert message.stop_reason == "tool_use"
    text, call = message.content
    assert isinstance(text, anthropic.types.TextBlock) and text.text == "Checking Rome."
    assert isinstance(call, anthropic.types.ToolUseBlock)
    assert (call.id, call.name, call.input) == ("call_r", "get_weather", {"city": "Rome"})
    assert message.usage.input_tokens == 32 and message.usage.cache_read_input_tokens == 8
    assert message.usage.output_tokens == 12


def test_a_text_stream_accumulates_in_the_sdk() -> None:
    seen: list[Json] = []
    sdk = client(streamed(TEXT_CHUNKS), seen)
    with sdk.messages.stream(model="claude-public", max_tokens=100, messages=CONVERSATION) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "It is 24C in Rome."
    assert final.content[0].type == "text" and final.content[0].text == "It is 24C in Rome."
    assert final.stop_reason == "end_turn" and final.model == "claude-public" and final.id == "msg_s1"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (32, 12)
    assert final.usage.cache_read_input_tokens == 8


def test_a_tool_stream_accumulates_in_the_sdk() -> None:
    seen: list[Json] = []
    sdk = client(streamed(TOOL_CHUNKS), seen)
    with sdk.messages.stream(model="m", max_tokens=100, messages=CONVERSATION, tools=[WEATHER]) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["text", "tool_use", "tool_use"]
    calls = [block for block in final.content if isinstance(block, anthropic.types.ToolUseBlock)]
    assert [(c.id, c.input) for c in calls] == [("call_r", {"city": "Rome"}), ("call_m", {"city": "Milan"})]
    assert final.stop_reason == "tool_use"


def test_the_raw_event_stream_has_anthropics_event_types() -> None:
    seen: list[Json] = []
    sdk = client(streamed(TOOL_CHUNKS), seen)
    kinds = [
        event.type
        for event in sdk.messages.create(model="m", max_tokens=10, messages=CONVERSATION, stream=True)
    ]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 3


def test_a_cut_stream_raises_in_the_sdk() -> None:
    def answer(chat: Json) -> httpx2.Response:
        encoder = MessagesEncoder("m")
        body = encoder.chunk(TEXT_CHUNKS[1]) + encoder.cut(
            "The upstream stopped before the end.", "upstream_timeout"
        )
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    sdk = client(answer, [])
    with (
        pytest.raises(anthropic.APIStatusError, match="The upstream stopped before the end"),
        sdk.messages.stream(model="m", max_tokens=10, messages=CONVERSATION) as stream,
    ):
        stream.get_final_message()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (403, anthropic.PermissionDeniedError),
        (404, anthropic.NotFoundError),
        (429, anthropic.RateLimitError),
        (529, anthropic.OverloadedError),
    ],
)
def test_error_bodies_raise_the_sdks_errors(status: int, error: type[Exception]) -> None:
    def answer(chat: Json) -> httpx2.Response:
        return httpx2.Response(status, content=error_body(status, "messages[0].content: nope."))

    with pytest.raises(error, match=r"messages\[0\]\.content: nope\.") as caught:
        client(answer, []).messages.create(model="m", max_tokens=10, messages=CONVERSATION)
    assert isinstance(caught.value, anthropic.APIStatusError) and caught.value.status_code == status
