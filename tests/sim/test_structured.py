"""Structured output: ``response_format`` ``json_schema`` and ``json_object``, parsed by the OpenAI SDK,
streamed, cut by the token cap, and refused (400) when the schema cannot be satisfied."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Annotated, Any, Literal

import httpx
import jsonschema
import openai
import pytest
from pydantic import AnyUrl, BaseModel, Field

from headwater.token_estimate import count_text

QUESTION: list[Any] = [{"role": "user", "content": "Describe the river."}]


class Reading(BaseModel):
    at: datetime.datetime
    level_cm: Annotated[int, Field(ge=0, le=900)]
    flow: Annotated[float, Field(gt=0)]


class Station(BaseModel):
    id: uuid.UUID
    name: Annotated[str, Field(min_length=3, max_length=40)]
    kind: Literal["gauge", "weir", "lock"]
    page: AnyUrl
    readings: Annotated[list[Reading], Field(min_length=1, max_length=3)]
    upstream: Station | None
    tags: dict[str, str]


#: 100 x 100 of these make more JSON than the simulator writes (256 KiB).
WIDE = {"type": "string", "minLength": 30}


def _format(name: str, schema: dict[str, Any]) -> Any:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


def test_parse_with_a_pydantic_model(roomy: openai.OpenAI) -> None:
    answers = set()
    for seed in range(6):
        reply = roomy.chat.completions.parse(model="m", messages=QUESTION, response_format=Station, seed=seed)
        choice = reply.choices[0]
        assert choice.finish_reason == "stop" and choice.message.tool_calls is None
        assert isinstance(choice.message.parsed, Station)
        assert reply.usage is not None and choice.message.content is not None
        assert reply.usage.completion_tokens == count_text(choice.message.content)
        answers.add(choice.message.content)
    assert len(answers) == 6


SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 8},
            "score": {"type": "number", "minimum": -1, "maximum": 1},
            "labels": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True},
            "meta": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        },
        "required": ["title", "score", "labels", "meta"],
        "additionalProperties": False,
    },
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 10, "maximum": 20},
        "minItems": 2,
        "maxItems": 2,
    },
    {"anyOf": [{"type": "string", "pattern": "^[a-f0-9]{8}$"}, {"type": "null"}]},
    {
        "definitions": {"leaf": {"type": "boolean"}},
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/leaf"}},
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_json_schema_content_validates(roomy: openai.OpenAI, schema: dict[str, Any]) -> None:
    for seed in range(5):
        reply = roomy.chat.completions.create(
            model="m", messages=QUESTION, response_format=_format("answer", schema), seed=seed
        )
        content = reply.choices[0].message.content
        assert content is not None and reply.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(content), schema)


def test_json_object(roomy: openai.OpenAI) -> None:
    reply = roomy.chat.completions.create(
        model="m", messages=QUESTION, response_format={"type": "json_object"}
    )
    content = reply.choices[0].message.content or ""
    value = json.loads(content)
    assert (
        isinstance(value, dict) and 1 <= len(value) <= 2 and all(isinstance(v, str) for v in value.values())
    )
    assert reply.usage is not None and reply.usage.completion_tokens == count_text(content)
    text = roomy.chat.completions.create(model="m", messages=QUESTION, response_format={"type": "text"})
    assert (text.choices[0].message.content or "").split(" ")[0].isalpha()


def test_streamed_structured_output(roomy: openai.OpenAI) -> None:
    whole = roomy.chat.completions.create(
        model="m", messages=QUESTION, response_format=_format("answer", SCHEMAS[0]), seed=3
    )
    with roomy.chat.completions.create(
        model="m",
        messages=QUESTION,
        response_format=_format("answer", SCHEMAS[0]),
        seed=3,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    *chunks, last = chunks
    assert last.usage == whole.usage
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert "".join(pieces) == whole.choices[0].message.content
    assert whole.usage is not None and len(pieces) - 1 == whole.usage.completion_tokens  # and a finish chunk
    with roomy.chat.completions.stream(model="m", messages=QUESTION, response_format=Station) as helper:
        final = helper.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Station)


def test_structured_output_is_cut_by_the_token_cap(roomy: openai.OpenAI) -> None:
    whole = roomy.chat.completions.create(
        model="m", messages=QUESTION, response_format=_format("s", SCHEMAS[0])
    )
    cut = roomy.chat.completions.create(
        model="m", messages=QUESTION, response_format=_format("s", SCHEMAS[0]), max_completion_tokens=5
    )
    content = cut.choices[0].message.content or ""
    assert cut.choices[0].finish_reason == "length" and cut.usage is not None
    assert cut.usage.completion_tokens == 5 == count_text(content)
    assert (whole.choices[0].message.content or "").startswith(content) and content.startswith('{"title"')
    with pytest.raises(openai.LengthFinishReasonError):
        roomy.chat.completions.parse(
            model="m", messages=QUESTION, response_format=Station, max_completion_tokens=5
        )


def test_after_a_tool_result_the_answer_follows_the_response_format(roomy: openai.OpenAI) -> None:
    parameters = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    tool: Any = {
        "type": "function",
        "function": {"name": "river_level", "strict": True, "parameters": parameters},
    }
    conversation: list[Any] = [
        *QUESTION,
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "river_level", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "412 cm"},
    ]
    reply = roomy.chat.completions.parse(
        model="m", messages=conversation, tools=[tool], response_format=Station
    )
    assert reply.choices[0].message.tool_calls is None
    assert isinstance(reply.choices[0].message.parsed, Station)


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "yaml"}, "response_format.type"),
        ("json", "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"schema": {}}}, "response_format.json_schema.name"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": []}},
            "response_format.json_schema.schema",
        ),
        (_format("x", {"type": "integer", "minimum": 3, "maximum": 2}), "response_format"),
        (_format("x", {"$ref": "#/$defs/nowhere"}), "response_format"),
        (_format("x", {"type": "string", "pattern": "(?<=x)y"}), "response_format"),
        (_format("x", {"items": {"$ref": "#"}, "minItems": 1}), "response_format"),
        (
            _format("x", {"type": "array", "minItems": 100, "items": {"minItems": 100, "items": WIDE}}),
            "response_format",
        ),
    ],
)
def test_bad_response_formats(roomy_http: httpx.Client, response_format: Any, param: str) -> None:
    body = {"model": "m", "messages": QUESTION, "response_format": response_format}
    response = roomy_http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
    if param == "response_format":
        assert error["message"].startswith("Invalid schema for response_format")


def test_format_is_checked(roomy: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "to": {"type": "string", "format": "email", "enum": ["not an address", "river@example.com"]},
            "on": {"type": "string", "format": "date", "enum": ["2024-02-30", "2024-02-29"]},
        },
        "required": ["to", "on"],
        "additionalProperties": False,
    }
    for seed in range(6):
        reply = roomy.chat.completions.create(
            model="m", messages=QUESTION, response_format=_format("mail", schema), seed=seed
        )
        assert json.loads(reply.choices[0].message.content or "") == {
            "to": "river@example.com",
            "on": "2024-02-29",
        }
