"""The Responses API's requests checked by ``parse``: bad input names the field, good input passes."""

from __future__ import annotations

import pytest

from headwater.gateway.wire.base import Json, WireError
from headwater.gateway.wire.responses import parse


def _error(payload: object) -> WireError:
    with pytest.raises(WireError) as caught:
        parse(payload)  # type: ignore[arg-type]
    return caught.value


# --- parse: bad input names the field ---------------------------------------------------------------

BAD = [
    ({"input": "x"}, "model"),
    ({"model": 3}, "model"),
    ({"model": "m", "input": 3}, "input"),
    ({"model": "m", "input": [3]}, "input[0]"),
    ({"model": "m", "input": [{"content": "x"}]}, "input[0].type"),
    ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"model": "m", "input": [{"type": "message", "content": "x"}]}, "input[0].role"),
    ({"model": "m", "input": [{"role": "user"}]}, "input[0].content"),
    ({"model": "m", "input": [{"role": "user", "content": 5}]}, "input[0].content"),
    ({"model": "m", "input": [{"role": "user", "content": [{"text": "x"}]}]}, "input[0].content[0].type"),
    (
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
        "input[0].content[0].text",
    ),
    (
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
        "input[0].content[0].image_url",
    ),
    ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments"),
    ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
    (
        {"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": 1}]},
        "input[0].output",
    ),
    ({"model": "m", "instructions": ["x"]}, "instructions"),
    ({"model": "m", "max_output_tokens": 0}, "max_output_tokens"),
    ({"model": "m", "max_output_tokens": "10"}, "max_output_tokens"),
    ({"model": "m", "max_output_tokens": True}, "max_output_tokens"),
    ({"model": "m", "temperature": 3}, "temperature"),
    ({"model": "m", "top_p": "1"}, "top_p"),
    ({"model": "m", "stream": "yes"}, "stream"),
    ({"model": "m", "store": 1}, "store"),
    ({"model": "m", "previous_response_id": 7}, "previous_response_id"),
    ({"model": "m", "metadata": {str(i): "v" for i in range(17)}}, "metadata"),
    ({"model": "m", "metadata": {"k": 1}}, "metadata.k"),
    ({"model": "m", "metadata": []}, "metadata"),
    ({"model": "m", "parallel_tool_calls": "no"}, "parallel_tool_calls"),
    ({"model": "m", "user": 5}, "user"),
    ({"model": "m", "safety_identifier": 5}, "safety_identifier"),
    ({"model": "m", "reasoning": {"effort": "max"}}, "reasoning.effort"),
    ({"model": "m", "truncation": "sometimes"}, "truncation"),
    ({"model": "m", "include": "x"}, "include"),
    ({"model": "m", "include": [1]}, "include[0]"),
    ({"model": "m", "tools": {}}, "tools"),
    ({"model": "m", "tools": [{"name": "f"}]}, "tools[0].type"),
    ({"model": "m", "tools": [{"type": "function"}]}, "tools[0].name"),
    ({"model": "m", "tools": [{"type": "function", "name": "f", "parameters": "{}"}]}, "tools[0].parameters"),
    ({"model": "m", "tool_choice": "always"}, "tool_choice"),
    ({"model": "m", "tool_choice": {"type": "function"}}, "tool_choice.name"),
    ({"model": "m", "text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"model": "m", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
    ({"model": "m", "text": {"format": {"type": "json_schema", "name": "n"}}}, "text.format.schema"),
    (
        {"model": "m", "text": {"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": "y"}}},
        "text.format.strict",
    ),
]


@pytest.mark.parametrize(("payload", "param"), BAD)
def test_parse_names_the_bad_field(payload: Json, param: str) -> None:
    error = _error(payload)
    assert error.param == param
    assert param.split(".")[0].split("[")[0] in error.message


def test_parse_rejects_a_body_that_is_not_an_object() -> None:
    assert "JSON object" in _error(["model"]).message


def test_parse_accepts_a_full_request_and_nulls() -> None:
    parse(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA"},
                    ],
                },
                {"type": "web_search_call", "id": "ws_1"},  # unknown here: passes (the upstream may know it)
            ],
            "instructions": None,
            "tools": [{"type": "web_search"}],
            "tool_choice": {"type": "file_search"},
            "text": {"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": True}},
            "max_output_tokens": 5,
            "temperature": 0.5,
            "top_p": 1,
            "stream": False,
            "store": True,
            "previous_response_id": "resp_1",
            "metadata": {"k": "v"},
            "parallel_tool_calls": False,
            "user": "u",
            "safety_identifier": "s",
            "reasoning": {"effort": "low", "summary": "auto"},
            "truncation": "auto",
            "include": ["reasoning.encrypted_content"],
            "service_tier": "auto",
        }
    )
