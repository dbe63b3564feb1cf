"""Anthropic Messages requests in (``request_to_chat``), Messages out (``response_from_chat``), errors.

Every mapping of the brief, and every refusal: a malformed field or a feature a chat upstream cannot
serve is a WireError naming the field, never a silently different request.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from headwater.gateway.wire.anthropic import (
    count_tokens_to_chat,
    error_body,
    request_to_chat,
    response_from_chat,
)
from headwater.gateway.wire.base import Json, WireError

WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
TOOL_TURNS: list[Json] = [
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"location": "Rome"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Answer briefly."},
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [{"type": "text", "text": "24C"}, {"type": "text", "text": "sunny"}],
                "is_error": False,
                "cache_control": {"type": "ephemeral"},
            },
        ],
    },
]


def body(**fields: Any) -> Json:
    return {"model": "claude", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}], **fields}


def refused(payload: Json, param: str) -> WireError:
    with pytest.raises(WireError) as caught:
        request_to_chat(payload)
    assert caught.value.param == param, caught.value.message
    assert param in caught.value.message or "cannot be served" in caught.value.message
    return caught.value


def test_a_plain_request_maps_every_sampling_field() -> None:
    chat = request_to_chat(
        body(
            system="Be brief.",
            stop_sequences=["\n\nHuman:"],
            temperature=0.5,
            top_p=0.9,
            top_k=40,
            metadata={"user_id": "user-7"},
            service_tier="auto",
            cache_control={"type": "ephemeral"},
        )
    )
    assert chat == {
        "model": "claude",
        "max_tokens": 64,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stop": ["\n\nHuman:"],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "user": "user-7",
    }


def test_system_blocks_become_one_system_message_first() -> None:
    chat = request_to_chat(
        body(
            system=[
                {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "B"},
            ]
        )
    )
    assert chat["messages"][0] == {"role": "system", "content": "A\nB"}
    assert [m["role"] for m in chat["messages"]] == ["system", "user"]


def test_streaming_asks_for_usage() -> None:
    chat = request_to_chat(body(stream=True))
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert "stream" not in request_to_chat(body(stream=False))


def test_tool_use_and_tool_results_become_tool_calls_and_tool_messages_before_the_text() -> None:
    chat = request_to_chat(body(messages=TOOL_TURNS, tools=[WEATHER]))
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
            },
            {
                "id": "toolu_2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Rome"}'},
            },
        ],
    }
    assert chat["messages"][2:] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "24C\nsunny"},
        {"role": "user", "content": "Answer briefly."},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": WEATHER["description"],
                "parameters": WEATHER["input_schema"],
            },
        }
    ]


def test_an_assistant_turn_of_tool_calls_only_has_null_content_and_thinking_is_dropped() -> None:
    turns = [
        {"role": "user", "content": "Go"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
    ]
    messages = request_to_chat(body(messages=turns, tools=[WEATHER]))["messages"]
    assert messages[1]["content"] is None and messages[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert messages[2] == {"role": "tool", "tool_call_id": "t1", "content": ""}


def test_images_become_image_url_parts_in_order() -> None:
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    chat = request_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
            {
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "parallel_tool_calls": False,
            },
        ),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"tool_choice": "required", "parallel_tool_calls": False},
        ),
    ],
)
def test_tool_choice(choice: Json, expected: Json) -> None:
    chat = request_to_chat(body(tools=[WEATHER], tool_choice=choice))
    assert {key: chat[key] for key in ("tool_choice", "parallel_tool_calls") if key in chat} == expected


def test_structured_output_becomes_a_strict_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    chat = request_to_chat(body(output_config={"format": {"type": "json_schema", "schema": schema}}))
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }


def test_thinking_disabled_is_fine_enabled_is_refused() -> None:
    assert "thinking" not in request_to_chat(body(thinking={"type": "disabled"}))
    refused(body(thinking={"type": "enabled", "budget_tokens": 2048}), "thinking.type")
    refused(body(thinking={"type": "adaptive"}), "thinking.type")


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}, "max_tokens"),
        (body(max_tokens=0), "max_tokens"),
        (body(max_tokens="64"), "max_tokens"),
        (body(max_tokens=True), "max_tokens"),
        (body(model=7), "model"),
        (body(model=""), "model"),
        (body(messages=[]), "messages"),
        (body(messages="Hi"), "messages"),
        (body(messages=["Hi"]), "messages[0]"),
        (body(messages=[{"role": "system", "content": "Hi"}]), "messages[0].role"),
        (body(messages=[{"role": "user", "content": 7}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": []}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages[0].content[0].text"),
        (body(messages=[{"role": "user", "content": [{"type": "bogus"}]}]), "messages[0].content[0].type"),
        (
            body(messages=[{"role": "user", "content": [{"type": "tool_result"}]}]),
            "messages[0].content[0].tool_use_id",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope"}]}]),
            "messages[0].content[0].tool_use_id",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}
                ]
            ),
            "messages[0].content[0].type",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": "Hi"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}],
                    },
                    {"role": "user", "content": "Go on"},
                ]
            ),
            "messages[1].content[0].input",
        ),
        (
            body(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}],
                    }
                ]
            ),
            "messages[0].content[0].source.media_type",
        ),
        (
            body(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "url", "url": "file:///x"}}],
                    }
                ]
            ),
            "messages[0].content[0].source.url",
        ),
        (body(system=7), "system"),
        (body(system=[{"type": "image"}]), "system[0].type"),
        (body(stop_sequences="STOP"), "stop_sequences"),
        (body(stop_sequences=[1]), "stop_sequences[0]"),
        (body(temperature=1.5), "temperature"),
        (body(temperature="hot"), "temperature"),
        (body(top_p=2), "top_p"),
        (body(top_k=0), "top_k"),
        (body(metadata="x"), "metadata"),
        (body(metadata={"user_id": 5}), "metadata.user_id"),
        (body(stream="yes"), "stream"),
        (body(tools={"name": "x"}), "tools"),
        (body(tools=[{"name": "f"}]), "tools[0].input_schema"),
        (body(tools=[{"input_schema": {"type": "object"}}]), "tools[0].name"),
        (body(tool_choice={"type": "any"}), "tool_choice"),
        (body(tools=[WEATHER], tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (body(tools=[WEATHER], tool_choice={"type": "tool", "name": "other"}), "tool_choice.name"),
        (body(frequency_penalty=1), "frequency_penalty"),
        (body(output_config={"format": {"type": "json_object"}}), "output_config.format.type"),
    ],
)
def test_malformed_input_names_the_field(payload: Json, param: str) -> None:
    refused(payload, param)


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (
            body(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
            "messages[0].content[0].type",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": [{"type": "search_result", "source": "s", "title": "t"}]}
                ]
            ),
            "messages[0].content[0].type",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": [{"type": "text", "text": "x", "citations": [{"type": "x"}]}]}
                ]
            ),
            "messages[0].content[0].citations",
        ),
        (
            body(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            ),
            "messages[0].content[0].source.type",
        ),
        (body(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools[0].type"),
        (body(container="container_1"), "container"),
        (body(mcp_servers=[{"type": "url", "url": "https://x", "name": "x"}]), "mcp_servers"),
        (body(output_config={"effort": "low"}), "output_config.effort"),
        (
            body(
                messages=[
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "The answer is ("},
                ]
            ),
            "messages[1].role",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": "Hi"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [
                                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                                ],
                            }
                        ],
                    },
                ]
            ),
            "messages[2].content[0].content[0].type",
        ),
    ],
)
def test_what_a_chat_upstream_cannot_serve_is_refused_not_dropped(payload: Json, param: str) -> None:
    assert "cannot be served" in refused(payload, param).message


def test_count_tokens_needs_no_max_tokens_and_allows_a_final_assistant_turn() -> None:
    payload = {
        "model": "claude",
        "system": "S",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        "tools": [WEATHER],
    }
    chat = count_tokens_to_chat(payload)
    assert "max_tokens" not in chat and "stream" not in chat
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]
    assert chat["tools"][0]["function"]["name"] == "get_weather"
    with pytest.raises(WireError) as caught:
        count_tokens_to_chat({**payload, "messages": []})
    assert caught.value.param == "messages"


def test_the_request_body_must_be_an_object() -> None:
    with pytest.raises(WireError):
        request_to_chat([])  # type: ignore[arg-type]


def chat_answer(message: Json, finish: str = "stop", **choice: Any) -> Json:
    return {
        "id": "chatcmpl-9a8b7c",
        "object": "chat.completion",
        "model": "upstream-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 7,
            "total_tokens": 37,
            "prompt_tokens_details": {"cached_tokens": 10},
        },
    }


def test_a_text_answer_becomes_a_message() -> None:
    message = response_from_chat(chat_answer({"role": "assistant", "content": "Hello."}), "claude")
    assert message == {
        "id": "msg_9a8b7c",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
            "output_tokens": 7,
        },
    }


def test_tool_calls_become_tool_use_blocks_with_parsed_input() -> None:
    calls = [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
        },
        {"id": "call_b", "type": "function", "function": {"name": "now", "arguments": ""}},
    ]
    message = response_from_chat(
        chat_answer({"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"), "c"
    )
    assert message["content"] == [
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"location": "Paris"}},
        {"type": "tool_use", "id": "call_b", "name": "now", "input": {}},
    ]
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_stop_reasons(finish: str | None, stop_reason: str) -> None:
    answer = chat_answer({"role": "assistant", "content": "x"}, finish)  # type: ignore[arg-type]
    assert response_from_chat(answer, "c")["stop_reason"] == stop_reason


def test_a_stop_string_that_vllm_reports_is_a_stop_sequence() -> None:
    message = response_from_chat(
        chat_answer({"role": "assistant", "content": "x"}, "stop", stop_reason="END"), "c"
    )
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")


@pytest.mark.parametrize("arguments", ['{"location": "Par', "[1, 2]", '"x"'])
def test_tool_arguments_that_are_not_a_json_object_are_the_upstreams_fault(arguments: str) -> None:
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}]
    with pytest.raises(WireError) as caught:
        response_from_chat(chat_answer({"role": "assistant", "tool_calls": calls}, "tool_calls"), "c")
    assert caught.value.code == "bad_upstream_response"
    assert caught.value.param == "choices[0].message.tool_calls[0].function.arguments"


def test_ids_are_safe_or_fresh() -> None:
    weird = response_from_chat({**chat_answer({"content": "x"}), "id": "chatcmpl-<a b>/c"}, "c")
    assert weird["id"] == "msg_abc"
    fresh = {response_from_chat({**chat_answer({"content": "x"}), "id": None}, "c")["id"] for _ in range(3)}
    assert len(fresh) == 3 and all(i.startswith("msg_") and len(i) > 10 for i in fresh)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "api_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
        (422, "invalid_request_error"),
    ],
)
def test_error_bodies(status: int, kind: str) -> None:
    assert orjson.loads(error_body(status, "Nope.")) == {
        "type": "error",
        "error": {"type": kind, "message": "Nope."},
    }
