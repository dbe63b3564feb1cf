"""A Converse response as a chat completion, and Bedrock's error answers read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from headwater.gateway.wire.bedrock import error_fields, error_status, response_to_chat
from tests.providers.fakes.bedrock import converse_response


def test_a_text_answer() -> None:
    chat = response_to_chat(converse_response(), "claude-sonnet")
    assert chat["object"] == "chat.completion" and chat["model"] == "claude-sonnet"
    assert chat["id"].startswith("chatcmpl-") and isinstance(chat["created"], int)
    assert chat["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I help you today?", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert chat["usage"] == {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


def test_a_tool_use_answer() -> None:
    chat = response_to_chat(converse_response("get_weather"), "claude")
    message = chat["choices"][0]["message"]
    assert message["content"] == "I'll check the weather."
    assert message["tool_calls"] == [
        {
            "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
        }
    ]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"location": "Paris"}
    assert chat["choices"][0]["finish_reason"] == "tool_calls"


def test_only_a_tool_call_has_null_content() -> None:
    native = converse_response("lookup")
    native["output"]["message"]["content"] = native["output"]["message"]["content"][1:]
    assert response_to_chat(native, "m")["choices"][0]["message"]["content"] is None


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_model_output", "stop"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    native = {**converse_response(), "stopReason": stop}
    assert response_to_chat(native, "m")["choices"][0]["finish_reason"] == finish


def test_text_blocks_join_and_reasoning_is_dropped() -> None:
    native = converse_response()
    native["output"]["message"]["content"] = [
        {"reasoningContent": {"reasoningText": {"text": "Let me think", "signature": "abc"}}},
        {"text": "Part one. "},
        {"text": "Part two."},
    ]
    native["usage"] = {"inputTokens": 10, "outputTokens": 4, "totalTokens": 64, "cacheWriteInputTokens": 50}
    chat = response_to_chat(native, "m")
    assert chat["choices"][0]["message"]["content"] == "Part one. Part two."
    assert chat["usage"] == {"prompt_tokens": 60, "completion_tokens": 4, "total_tokens": 64}


@pytest.mark.parametrize(
    "damage",
    [
        lambda n: n.pop("output"),
        lambda n: n["output"]["message"].update(content="text"),
        lambda n: n["output"]["message"]["content"].append("block"),
        lambda n: n["output"]["message"]["content"].append({"toolUse": {"name": "f"}}),
        lambda n: n.pop("usage"),
        lambda n: n["usage"].update(inputTokens=-1),
        lambda n: n["usage"].update(outputTokens="9"),
        lambda n: n["usage"].update(inputTokens=True),
    ],
)
def test_a_malformed_response_is_a_value_error(damage: Any) -> None:
    native = converse_response()
    damage(native)
    with pytest.raises(ValueError):
        response_to_chat(native, "m")


def test_error_fields() -> None:
    body = b'{"message":"Too many requests, please wait before trying again."}'
    header = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    assert error_fields(body, header) == (
        "Too many requests, please wait before trying again.",
        "ThrottlingException",
    )
    assert error_fields(b'{"Message":"Bad"}', "ValidationException") == ("Bad", "ValidationException")
    typed = b'{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"Expired"}'
    assert error_fields(typed, None) == ("Expired", "ExpiredTokenException")
    assert error_fields(b'{"message":"?"}', None) == ("?", "UnknownError")
    assert error_fields(b"<html>Bad gateway</html>", "X") is None
    assert error_fields(b'["message"]', "X") is None
    assert error_fields(b'{"message": 3}', "X") is None


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [
        ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", 429, 429),
        ("ServiceQuotaExceededException", 400, 429),
        ("ModelNotReadyException", 429, 503),
        ("ValidationException", 400, 400),
        ("AccessDeniedException", 403, 403),
        ("ModelTimeoutException", 408, 504),
        ("ModelErrorException", 424, 502),
        ("SomethingNew", 418, 418),
        (None, 500, 500),
    ],
)
def test_error_status(kind: str | None, status: int, expected: int) -> None:
    assert error_status(kind, status) == expected
