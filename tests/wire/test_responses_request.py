"""The Responses API's requests translated to chat completions (``request_to_chat``, ``input_items``)."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.gateway.wire.base import Json, WireError
from headwater.gateway.wire.responses import input_items, parse, request_to_chat, response_from_chat


def _chat(history: list[Json] | None = None, **fields: Any) -> Json:
    payload: Json = {"model": "m", **fields}
    parse(payload)
    return request_to_chat(payload, history or [])


def _error(call: Any, *args: Any) -> WireError:
    with pytest.raises(WireError) as caught:
        call(*args)
    return caught.value


# --- input_items -----------------------------------------------------------------------------------


def test_input_items_turns_a_string_into_one_user_message() -> None:
    assert input_items({"model": "m", "input": "hi"}) == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    ]
    assert input_items({"model": "m"}) == []
    items = input_items(
        {"model": "m", "input": [{"role": "user", "content": "a"}, {"type": "reasoning", "summary": []}]}
    )
    assert items == [
        {"type": "message", "role": "user", "content": "a"},
        {"type": "reasoning", "summary": []},
    ]


# --- request_to_chat --------------------------------------------------------------------------------


def test_string_input_and_instructions() -> None:
    chat = _chat(input="Hello", instructions="Be brief.")
    assert chat == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    }


def test_messages_of_every_role_and_part() -> None:
    chat = _chat(
        input=[
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"role": "system", "content": "sys"},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "https://example.invalid/a.png", "detail": "high"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            },
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "It is", "annotations": []},
                    {"type": "output_text", "text": "a cat"},
                ],
            },
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
        ]
    )
    assert chat["messages"] == [
        {"role": "system", "content": "rules"},
        {"role": "system", "content": "sys"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.invalid/a.png", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {"role": "assistant", "content": "It is\na cat"},
        {"role": "assistant", "content": None, "refusal": "No."},
    ]


def test_function_calls_merge_into_one_assistant_message_and_outputs_become_tool_messages() -> None:
    chat = _chat(
        input=[
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Checking."}],
            },
            {"type": "reasoning", "id": "rs_2", "summary": []},
            {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": '{"city":"Rome"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "rain"}],
            },
            {"type": "function_call", "call_id": "c3", "name": "clock", "arguments": "{}"},
        ]
    )
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
        {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}},
    ]
    assert chat["messages"] == [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "rain"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c3", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
            ],
        },
    ]


def test_history_comes_after_instructions_and_before_input() -> None:
    history = [
        *input_items({"input": "first"}),
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "one", "annotations": [], "logprobs": []}],
        },
    ]
    chat = _chat(history, input="second", instructions="new rules", previous_response_id="resp_1")
    assert chat["messages"] == [
        {"role": "system", "content": "new rules"},
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second"},
    ]
    assert "previous_response_id" not in chat


def test_a_stored_response_continues_as_history() -> None:
    request: Json = {
        "model": "m",
        "input": "Weather in Paris?",
        "tools": [{"type": "function", "name": "weather"}],
    }
    chat = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "reasoning_content": "The user wants weather.",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
                    ],
                },
            }
        ]
    }
    output = response_from_chat(chat, request, "resp_1", 1, "m")["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "function_call"]
    follow_up = {"type": "function_call_output", "call_id": "c1", "output": "sunny"}
    messages = _chat([*input_items(request), *output], input=[follow_up], previous_response_id="resp_1")[
        "messages"
    ]
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]


def test_an_untranslatable_history_item_names_previous_response_id() -> None:
    error = _error(request_to_chat, {"model": "m", "input": "x"}, [{"type": "web_search_call", "id": "ws"}])
    assert error.param == "previous_response_id"
    assert "web_search_call" in error.message


def test_tools_tool_choice_and_parallel_calls() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    chat = _chat(
        input="x",
        tools=[
            {
                "type": "function",
                "name": "weather",
                "description": "Weather now",
                "parameters": schema,
                "strict": True,
            },
            {"type": "function", "name": "clock", "parameters": None},
        ],
        tool_choice={"type": "function", "name": "weather"},
        parallel_tool_calls=False,
    )
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather now",
                "parameters": schema,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "clock"}},
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert chat["parallel_tool_calls"] is False
    for choice in ("auto", "none", "required"):
        assert _chat(input="x", tool_choice=choice)["tool_choice"] == choice
    # without tools, parallel_tool_calls is not sent (OpenAI's chat refuses it then)
    assert "parallel_tool_calls" not in _chat(input="x", parallel_tool_calls=True)


@pytest.mark.parametrize(
    "kind",
    [
        "web_search",
        "web_search_preview",
        "file_search",
        "computer_use_preview",
        "code_interpreter",
        "mcp",
        "image_generation",
        "custom",
        "local_shell",
    ],
)
def test_built_in_tools_are_refused_naming_the_tool(kind: str) -> None:
    payload = {"model": "m", "input": "x", "tools": [{"type": "function", "name": "f"}, {"type": kind}]}
    parse(payload)
    error = _error(request_to_chat, payload, [])
    assert error.param == "tools[1].type"
    assert kind in error.message


def test_text_formats_become_response_format() -> None:
    assert "response_format" not in _chat(input="x", text={"format": {"type": "text"}, "verbosity": "low"})
    assert _chat(input="x", text={"format": {"type": "json_object"}})["response_format"] == {
        "type": "json_object"
    }
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = _chat(
        input="x", text={"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}}
    )
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema, "strict": True},
    }


def test_sampling_limits_reasoning_user_and_stream() -> None:
    chat = _chat(
        input="x",
        max_output_tokens=64,
        temperature=0.2,
        top_p=0.9,
        reasoning={"effort": "high", "summary": "auto"},
        user="u-1",
        stream=True,
        store=False,
        metadata={"k": "v"},
        include=["message.output_text.logprobs"],
        truncation="auto",
        service_tier="flex",
        prompt_cache_key="k",
        background=False,
        top_logprobs=0,
    )
    assert chat == {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning_effort": "high",
        "user": "u-1",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert _chat(input="x", safety_identifier="hashed")["user"] == "hashed"
    assert "stream" not in _chat(input="x", stream=False)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"max_tool_calls": 3}, "max_tool_calls"),
        ({"top_logprobs": 5}, "top_logprobs"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"tool_choice": {"type": "file_search"}}, "tool_choice.type"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
            "input[0].content[0].file_id",
        ),
        (
            {
                "input": [
                    {"role": "system", "content": [{"type": "input_image", "image_url": "https://x.invalid"}]}
                ]
            },
            "input[0].content[0].type",
        ),
        (
            {
                "input": [
                    {
                        "type": "function_call_output",
                        "call_id": "c",
                        "output": [{"type": "input_image", "image_url": "https://x.invalid"}],
                    }
                ]
            },
            "input[0].output[0].type",
        ),
        ({"input": []}, "input"),
        ({"input": None, "instructions": "only a system prompt"}, "input"),
    ],
)
def test_what_a_chat_upstream_cannot_serve_is_refused_by_name(fields: Json, param: str) -> None:
    payload = {"model": "m", "input": "x", **fields}
    parse(payload)
    error = _error(request_to_chat, payload, [])
    assert error.param == param, error.message


def test_request_to_chat_checks_the_request_itself() -> None:
    assert (
        _error(request_to_chat, {"model": "m", "input": [{"role": "user"}]}, []).param == "input[0].content"
    )
