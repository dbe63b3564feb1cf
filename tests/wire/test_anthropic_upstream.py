"""A chat completion request to an Anthropic upstream (``request_from_chat``) and its answer back.

Fixtures in ``fixtures/anthropic`` are Anthropic's own examples (API reference): a tool-use Message
with cache counts, and an error body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.gateway.wire.anthropic import (
    error_fields,
    request_from_chat,
    request_to_chat,
    response_from_chat,
    response_to_chat,
    usage_of_message,
)
from headwater.gateway.wire.base import Json, WireError

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chat(**fields: Any) -> Json:
    return {"model": "public", "messages": [{"role": "user", "content": "Hi"}], **fields}


def native(payload: Json) -> Json:
    return request_from_chat(payload, "claude-opus-4-6", 1024)


def test_a_plain_request() -> None:
    assert native(chat()) == {
        "model": "claude-opus-4-6",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1024,
    }


def test_every_mapped_parameter() -> None:
    request = native(
        chat(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
                {"role": "user", "content": "Hi"},
            ],
            max_completion_tokens=99,
            max_tokens=5,
            stop="END",
            temperature=0.2,
            top_p=0.8,
            top_k=5,
            user="u-1",
            stream=True,
            stream_options={"include_usage": True},
            seed=7,
            n=1,
            logprobs=False,
            presence_penalty=0,
            parallel_tool_calls=True,
        )
    )
    assert request == {
        "model": "claude-opus-4-6",
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric."}],
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 99,
        "stop_sequences": ["END"],
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 5,
        "metadata": {"user_id": "u-1"},
        "stream": True,
    }
    assert native(chat(max_tokens=5, stop=["a", "b"]))["max_tokens"] == 5
    assert native(chat(stop=["a", "b"]))["stop_sequences"] == ["a", "b"]
    assert (
        native(chat(messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}]))[
            "system"
        ]
        == "S"
    )


def test_tool_turns_become_tool_use_and_one_user_turn_of_tool_results_first() -> None:
    request = native(
        chat(
            messages=[
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
                {"role": "user", "content": "Thanks"},
            ],
            tools=[TOOL],
            tool_choice="required",
            parallel_tool_calls=False,
        )
    )
    assert request["messages"] == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "24C"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
    assert request["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "input_schema": TOOL["function"]["parameters"],
        }
    ]
    assert request["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_tool_results_come_first_in_a_merged_user_turn() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    request = native(
        chat(
            messages=[
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "user", "content": "Also, be quick."},
                {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            ]
        )
    )
    assert request["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "18C"},
            {"type": "text", "text": "Also, be quick."},
        ],
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice(choice: object, expected: Json) -> None:
    assert native(chat(tools=[TOOL], tool_choice=choice))["tool_choice"] == expected


def test_images_become_base64_or_url_sources() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    request = native(chat(messages=[{"role": "user", "content": content}]))
    assert request["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
    ]


def test_a_json_schema_response_format_is_structured_output() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    request = native(
        chat(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema, "strict": True},
            }
        )
    )
    assert request["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in native(chat(response_format={"type": "text"}))


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (chat(n=2), "n"),
        (chat(logprobs=True), "logprobs"),
        (chat(top_logprobs=2), "top_logprobs"),
        (chat(response_format={"type": "json_object"}), "response_format.type"),
        (chat(presence_penalty=0.5), "presence_penalty"),
        (chat(frequency_penalty=0.5), "frequency_penalty"),
        (chat(logit_bias={"50256": -100}), "logit_bias"),
        (chat(audio={"voice": "alloy", "format": "wav"}), "audio"),
        (chat(modalities=["text", "audio"]), "modalities"),
        (chat(temperature=1.5), "temperature"),
        (chat(reasoning_effort="high"), "reasoning_effort"),
        (chat(functions=[{"name": "f"}]), "functions"),
        (chat(repetition_penalty=1.1), "repetition_penalty"),
        (
            chat(messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]),
            "messages[0].content[0].type",
        ),
        (
            chat(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}
                        ],
                    }
                ]
            ),
            "messages[0].content[0].image_url.url",
        ),
        (chat(tools=[{"type": "custom", "custom": {"name": "x"}}]), "tools[0].type"),
    ],
)
def test_what_anthropic_cannot_serve_is_refused(payload: Json, param: str) -> None:
    with pytest.raises(WireError) as caught:
        native(payload)
    assert caught.value.param == param
    assert "cannot be served" in caught.value.message


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (chat(messages=[]), "messages"),
        (chat(messages=[{"role": "robot", "content": "x"}]), "messages[0].role"),
        (chat(messages=[{"role": "system", "content": "only"}]), "messages"),
        (chat(max_tokens=0), "max_tokens"),
        (chat(max_completion_tokens="9"), "max_completion_tokens"),
        (chat(stop=5), "stop"),
        (chat(temperature=3), "temperature"),
        (
            chat(
                messages=[
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                        ],
                    },
                ]
            ),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            chat(
                messages=[
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
                        ],
                    },
                ]
            ),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (chat(messages=[{"role": "tool", "content": "x"}]), "messages[0].tool_call_id"),
        (
            chat(
                messages=[
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}
                ]
            ),
            "messages[0].content[0].image_url.url",
        ),
        (
            chat(tools=[TOOL], tool_choice={"type": "function", "function": {"name": "other"}}),
            "tool_choice.function.name",
        ),
        (chat(tool_choice="required"), "tool_choice"),
        (chat(tools=[TOOL], tool_choice="sometimes"), "tool_choice"),
    ],
)
def test_malformed_requests_name_the_field(payload: Json, param: str) -> None:
    with pytest.raises(WireError) as caught:
        native(payload)
    assert caught.value.param == param


def test_a_tool_use_message_becomes_a_chat_completion_with_cache_counts_in_the_prompt() -> None:
    message = orjson.loads((FIXTURES / "message_tool.json").read_bytes())
    completion = response_to_chat(message)
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "claude-opus-4-6"
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "I'll check the current weather in San Francisco for you.",
                "tool_calls": [
                    {
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"location":"San Francisco, CA","unit":"celsius"}',
                        },
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }
    ]
    expected = {
        "prompt_tokens": 3219,
        "completion_tokens": 503,
        "total_tokens": 3722,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }
    assert completion["usage"] == expected
    assert usage_of_message(message) == expected
    assert usage_of_message({"id": "x"}) is None


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "stop"),
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    message = {
        "id": "m",
        "model": "c",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    assert response_to_chat(message)["choices"][0]["finish_reason"] == finish


def test_thinking_blocks_are_not_shown() -> None:
    message = {
        "id": "m",
        "model": "c",
        "content": [
            {"type": "thinking", "thinking": "secret plan", "signature": "s"},
            {"type": "text", "text": "21"},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    assert response_to_chat(message)["choices"][0]["message"] == {"role": "assistant", "content": "21"}


def test_error_fields() -> None:
    assert error_fields((FIXTURES / "error_overloaded.json").read_bytes()) == (
        "Overloaded",
        "overloaded_error",
    )
    assert error_fields(b'{"error": {"message": "m"}}') == ("m", "api_error")
    assert error_fields(b"<html>502</html>") is None
    assert error_fields(b'{"error": "x"}') is None
    assert error_fields(b"[1]") is None


def test_the_two_translations_compose() -> None:
    """chat → Anthropic (upstream side) → chat (client side) gives the same conversation back."""
    original = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "18C"},
        ],
        tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stop=["END"],
        temperature=0.3,
        max_tokens=50,
        user="u",
        stream=True,
    )
    back = request_to_chat({**native(original), "model": "public"})
    assert back["messages"] == original["messages"]
    for key in ("tools", "tool_choice", "stop", "temperature", "max_tokens", "user", "stream"):
        assert back[key] == original[key], key


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(min_size=1),
    calls=st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
            st.dictionaries(
                st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5), max_size=3
            ),
        ),
        max_size=3,
    ),
    stopped=st.booleans(),
    counts=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_a_message_survives_both_translations(
    text: str, calls: list[tuple[str, Json]], stopped: bool, counts: tuple[int, int, int]
) -> None:
    """Message → chat completion (upstream side) → Message (client side): same content, reason, usage."""
    reason = "max_tokens" if stopped else "tool_use" if calls else "end_turn"
    content: list[Json] = [{"type": "text", "text": text}]
    content += [
        {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": args}
        for i, (name, args) in enumerate(calls)
    ]
    message = {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": content,
        "stop_reason": reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": counts[0],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": counts[1],
            "output_tokens": counts[2],
        },
    }
    assert response_from_chat(response_to_chat(message), "claude") == message
