"""Response objects built from chat completions, and usage both ways."""

from __future__ import annotations

from typing import Any

from openai.types.responses import FunctionTool, Response

from headwater.gateway.wire.base import Json
from headwater.gateway.wire.responses import chat_usage_to_responses, response_from_chat, usage_of_response

USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 4},
    "completion_tokens_details": {"reasoning_tokens": 2},
}


def _chat(message: Json, finish: str = "stop", usage: Json | None = USAGE) -> Json:
    chat: Json = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "upstream-name",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
    }
    if usage is not None:
        chat["usage"] = usage
    return chat


def _response(chat: Json, **request: Any) -> tuple[Json, Response]:
    wire = response_from_chat(
        chat, {"model": "m", "input": "x", **request}, "resp_abc", 1700000000, "public-name"
    )
    return wire, Response.model_validate(wire)


def test_text_answer() -> None:
    wire, parsed = _response(_chat({"content": "Hello there."}))
    assert parsed.output_text == "Hello there."
    assert "output_text" not in wire
    assert wire["id"] == "resp_abc" and wire["object"] == "response" and wire["created_at"] == 1700000000
    assert wire["status"] == "completed" and wire["incomplete_details"] is None and wire["error"] is None
    assert wire["model"] == "public-name"
    [item] = wire["output"]
    assert item["type"] == "message" and item["id"].startswith("msg_") and item["role"] == "assistant"
    assert item["status"] == "completed"
    assert item["content"] == [
        {"type": "output_text", "text": "Hello there.", "annotations": [], "logprobs": []}
    ]
    assert wire["usage"] == {
        "input_tokens": 11,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 18,
    }


def test_tool_calls_become_function_call_items_after_the_text() -> None:
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "clock", "arguments": "{}"}},
    ]
    wire, parsed = _response(_chat({"content": None, "tool_calls": calls}, "tool_calls"))
    assert [item["type"] for item in wire["output"]] == ["function_call", "function_call"]
    first = wire["output"][0]
    assert first["id"].startswith("fc_") and first["call_id"] == "call_1" and first["name"] == "weather"
    assert first["arguments"] == '{"city":"Paris"}' and first["status"] == "completed"
    assert parsed.output_text == ""
    wire, _ = _response(_chat({"content": "Let me check.", "tool_calls": calls[:1]}, "tool_calls"))
    assert [item["type"] for item in wire["output"]] == ["message", "function_call"]


def test_length_and_content_filter_make_the_response_incomplete() -> None:
    wire, parsed = _response(_chat({"content": "Half an ans"}, "length"), max_output_tokens=3)
    assert wire["status"] == "incomplete" and wire["incomplete_details"] == {"reason": "max_output_tokens"}
    assert wire["output"][0]["status"] == "incomplete" and wire["max_output_tokens"] == 3
    assert parsed.output_text == "Half an ans"
    wire, _ = _response(_chat({"content": ""}, "content_filter"))
    assert wire["status"] == "incomplete" and wire["incomplete_details"] == {"reason": "content_filter"}


def test_refusal_reasoning_and_an_empty_answer() -> None:
    wire, _ = _response(_chat({"content": None, "refusal": "I can't help with that."}))
    assert wire["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]
    wire, parsed = _response(_chat({"content": "42", "reasoning_content": "6 times 7"}))
    assert [item["type"] for item in wire["output"]] == ["reasoning", "message"]
    assert wire["output"][0]["content"] == [{"type": "reasoning_text", "text": "6 times 7"}]
    assert wire["output"][0]["id"].startswith("rs_") and parsed.output_text == "42"
    wire, parsed = _response(_chat({"content": None}, usage=None))
    assert parsed.output_text == "" and wire["usage"] is None


def test_the_request_is_echoed() -> None:
    tools = [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}]
    fmt = {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": True}
    wire, parsed = _response(
        _chat({"content": "{}"}),
        instructions="Be kind.",
        tools=tools,
        tool_choice="required",
        text={"format": fmt},
        temperature=0.3,
        top_p=0.8,
        max_output_tokens=100,
        previous_response_id="resp_0",
        store=False,
        metadata={"k": "v"},
        parallel_tool_calls=False,
        user="u",
        reasoning={"effort": "low"},
        truncation="auto",
    )
    assert wire["instructions"] == "Be kind." and wire["tool_choice"] == "required"
    assert wire["tools"] == [{**tools[0], "strict": None}]
    assert wire["text"] == {"format": fmt} and wire["temperature"] == 0.3 and wire["top_p"] == 0.8
    assert (
        wire["previous_response_id"] == "resp_0" and wire["store"] is False and wire["metadata"] == {"k": "v"}
    )
    assert wire["parallel_tool_calls"] is False and wire["user"] == "u" and wire["truncation"] == "auto"
    assert wire["reasoning"] == {"effort": "low", "summary": None}
    assert isinstance(parsed.tools[0], FunctionTool) and parsed.tools[0].name == "f"
    defaults, _ = _response(_chat({"content": "x"}))
    assert defaults["tools"] == [] and defaults["tool_choice"] == "auto" and defaults["store"] is True
    assert defaults["text"] == {"format": {"type": "text"}} and defaults["parallel_tool_calls"] is True
    assert defaults["metadata"] == {} and defaults["previous_response_id"] is None


def test_a_malformed_chat_answer_gives_an_empty_response_not_a_crash() -> None:
    for chat in (
        {},
        {"choices": "x"},
        {"choices": [None]},
        {"choices": [{"message": {"content": 5, "tool_calls": 3}}]},
    ):
        wire, parsed = _response(chat)
        assert parsed.output_text == "" and wire["status"] == "completed"


def test_usage_shapes() -> None:
    assert chat_usage_to_responses({"prompt_tokens": 3, "completion_tokens": 2}) == {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 5,
    }
    assert chat_usage_to_responses({"prompt_tokens": "3", "completion_tokens": -1})["total_tokens"] == 0
    native = {
        "usage": {
            "input_tokens": 9,
            "output_tokens": 4,
            "total_tokens": 13,
            "input_tokens_details": {"cached_tokens": 2},
            "output_tokens_details": {"reasoning_tokens": 1},
        }
    }
    assert usage_of_response(native) == {
        "prompt_tokens": 9,
        "completion_tokens": 4,
        "total_tokens": 13,
        "prompt_tokens_details": {"cached_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    assert usage_of_response({"usage": None}) is None and usage_of_response({}) is None
    # round trip
    assert usage_of_response({"usage": chat_usage_to_responses(USAGE)}) == USAGE
