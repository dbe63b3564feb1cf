"""Tool requests the simulator refuses with a 400 in OpenAI's shape, naming the parameter: malformed
``tools``/``tool_choice``, and schemas it cannot satisfy (recursion without an end, impossible bounds,
unsupported or hostile patterns, remote references, too deep, too large or too costly to validate),
without stalling and without fetching anything."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.sim.test_tools import ASK_WEATHER, CLOCK, WEATHER, tool


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "get_stock"}}}, "tool_choice"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice"),
        ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0]"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": [1]}}]},
            "tools[0].function.parameters",
        ),
        ({"tools": "get_weather"}, "tools"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ],
)
def test_bad_tool_requests(roomy_http: httpx.Client, extra: dict[str, Any], param: str) -> None:
    body = {"model": "m", "messages": ASK_WEATHER, "tools": [WEATHER], **extra}
    response = roomy_http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_tool_choice_without_tools_is_refused(roomy: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tool_choice="required")
    assert refused.value.param == "tool_choice"
    plain = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tool_choice="none")
    assert plain.choices[0].message.content


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def _exponential(levels: int) -> dict[str, Any]:
    """Each level refers to the next twice, once in a branch that fails after it: a validator
    without a work bound evaluates the last level 2**levels times."""
    defs: dict[str, Any] = {f"l{levels}": {"type": "integer"}}
    for level in range(levels):
        below = {"$ref": f"#/$defs/l{level + 1}"}
        defs[f"l{level}"] = {"anyOf": [{"allOf": [below, False]}, below]}
    return {"$defs": defs, "type": "object", "properties": {"a": {"$ref": "#/$defs/l0"}}, "required": ["a"]}


HOSTILE: list[Any] = [
    {"$ref": "#"},
    {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]},
    {"anyOf": [{"$ref": "#"}, {"$ref": "#"}], "properties": {"a": {"$ref": "#"}}, "required": ["a"]},
    _nested(200),
    {"type": "object", "properties": {"a": {"type": "string", "minLength": 10**9}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"type": "array", "minItems": 10**9}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "(a+)+$", "minLength": 5, "maxLength": 3}},
        "required": ["a"],
    },
    {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "(?=lookahead)"}},
        "required": ["a"],
    },
    {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "(x{1000}){1000}"}},
        "required": ["a"],
    },
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "[unclosed"}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"$ref": "https://example.com/schema.json"}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"a": {"allOf": [{"type": "string"}, {"type": "integer"}]}},
        "required": ["a"],
    },
    {"type": "object", "properties": {"a": False}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 4}},
        "required": ["a"],
    },
    {"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 0}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"enum": []}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"type": "wat"}}, "required": ["a"]},
    {"type": "object", "required": ["a"], "additionalProperties": False},
    {"type": "object", "not": {"type": "object"}},
    {"type": "object", "properties": 7},
    {
        "type": "object",
        "properties": {"a": {"minItems": 100, "items": {"minItems": 100, "items": {"minLength": 30}}}},
    },
    {"type": "string"},
    _exponential(40),
    # applies itself to the same value again
    {"type": "object", "properties": {"a": {"anyOf": [{"$ref": "#/properties/a"}, {"type": "null"}]}}},
    # a backtracking engine takes 2**64 steps to reject the only option
    {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "^(a+)+$", "enum": ["a" * 64 + "!"]}},
        "required": ["a"],
    },
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x{,3}$"}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a)\\1$"}}, "required": ["a"]},
    {"type": "object", "properties": {"a": {"$dynamicRef": "#node"}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"a": {"type": "string", "format": "email", "enum": ["nope"]}},
        "required": ["a"],
    },
]


@pytest.mark.parametrize("schema", HOSTILE)
def test_a_schema_that_cannot_be_satisfied_is_a_400(
    roomy: openai.OpenAI, roomy_http: httpx.Client, schema: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        roomy.chat.completions.create(
            model="m",
            messages=ASK_WEATHER,
            tools=[CLOCK, tool("act", schema)],
            tool_choice={"type": "function", "function": {"name": "act"}},
            n=2,
        )
    assert refused.value.param == "tools[1].function.parameters"
    assert refused.value.code == "invalid_function_parameters"
    assert "Invalid schema for function 'act'" in refused.value.message
    assert roomy_http.get("/health").status_code == 200


def test_deeply_nested_enum_values_are_a_400(roomy_http: httpx.Client) -> None:
    # written out: too deep for the json module to write (and nothing in the simulator may recurse it)
    deep, other = ('{"a":' * 1000 + leaf + "}" * 1000 for leaf in "12")
    items = '{"minItems": 2, "uniqueItems": true, "items": {"enum": [' + deep + ", " + other + "]}}"
    tool = (
        '{"type": "function", "function": {"name": "f", "parameters": {"properties": {"a": ' + items + "}}}}"
    )
    messages = '[{"role": "user", "content": "hi"}]'
    body = '{"model": "m", "messages": ' + messages + ', "tool_choice": "required", "tools": [' + tool + "]}"
    response = roomy_http.post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "tools[0].function.parameters" and "nests too deeply" in error["message"]


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that serves a schema for any path and records what was asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/schema+json")
            self.end_headers()
            self.wfile.write(b'{"type": "object"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_remote_schemas_are_never_fetched(roomy: openai.OpenAI, schema_server: tuple[str, list[str]]) -> None:
    url, asked = schema_server
    for schema in (
        {"type": "object", "properties": {"a": {"$ref": f"{url}/a.json"}}, "required": ["a"]},
        {"$schema": f"{url}/meta.json", "type": "object"},
        {"$id": f"{url}/root.json", "type": "object", "properties": {"a": {"$ref": "b.json"}}},
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            roomy.chat.completions.create(
                model="m", messages=ASK_WEATHER, tools=[tool("act", schema)], tool_choice="required"
            )
        assert refused.value.param == "tools[0].function.parameters"
    assert asked == []
    # an $id names the document; "#" still means it, and nothing is fetched for it
    named = {
        "$id": f"{url}/root.json",
        "$defs": {"level": {"type": "integer", "minimum": 0, "maximum": 9}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/level"}},
        "required": ["a"],
    }
    reply = roomy.chat.completions.create(
        model="m", messages=ASK_WEATHER, tools=[tool("act", named)], tool_choice="required"
    )
    call = reply.choices[0].message.tool_calls
    assert call is not None and asked == []
