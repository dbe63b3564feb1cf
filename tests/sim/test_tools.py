"""Tool calling against the simulator, through the OpenAI SDK: arguments valid for each tool's schema
(hand-written and pydantic-generated), every ``tool_choice`` form and its ``finish_reason``, the
tool -> result -> answer conversation, streamed calls and calls cut by the token cap (refusals:
``test_tool_errors``)."""

from __future__ import annotations

import datetime
import enum
import json
import re
import uuid
from typing import Annotated, Any, Literal

import httpx
import jsonschema
import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel, EmailStr, Field

from headwater.token_estimate import count_tool_calls

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
CLOCK: Any = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The time in a timezone",
        "parameters": {"type": "object"},
    },
}
ASK_WEATHER: list[Any] = [{"role": "user", "content": "What is the weather like in Lyon today?"}]
CALL_ID = re.compile(r"call_[A-Za-z0-9]{24}")

ORDER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2, "maxLength": 12},
                "email": {"type": "string", "format": "email"},
            },
            "required": ["name", "email"],
            "additionalProperties": False,
        },
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
                    "size": {"enum": ["S", "M", "L"]},
                },
                "required": ["sku", "quantity", "size"],
                "additionalProperties": False,
            },
        },
        "priority": {"type": ["string", "null"], "enum": ["low", "high", None]},
        "note": {"type": ["string", "null"], "maxLength": 20},
    },
    "required": ["customer", "lines", "priority", "note"],
}
TREE: dict[str, Any] = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
            },
            "required": ["label", "children", "parent"],
        }
    },
    "type": "object",
    "properties": {"root": {"$ref": "#/$defs/node"}},
    "required": ["root"],
}
NUMBERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "step": {"type": "number", "multipleOf": 0.25, "minimum": -2, "maximum": 2},
        "count": {"type": "integer", "multipleOf": 7, "minimum": 100},
        "tenth": {"type": "number", "multipleOf": 0.1, "minimum": 1, "maximum": 3},
        "flag": {"type": "boolean"},
        "nothing": {"type": "null"},
        "id": {"type": "string", "format": "uuid"},
        "day": {"type": "string", "format": "date"},
    },
    "required": ["ratio", "step", "count", "tenth", "flag", "nothing", "id", "day"],
}
COMBINED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "shape": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"kind": {"const": "circle"}, "r": {"type": "number", "minimum": 0}},
                },
                {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer"}}},
            ],
            "required": ["kind"],
        },
        "tag": {"anyOf": [{"type": "integer", "minimum": 5}, {"type": "string"}]},
        "both": {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string", "minLength": 3}}, "required": ["b"]},
            ]
        },
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        "unique": {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 1},
    },
    "required": ["shape", "tag", "both", "pair", "unique", "counts"],
}
DRAFT4: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "definitions": {"positive": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 3}},
    "type": "object",
    "properties": {
        "n": {"$ref": "#/definitions/positive"},
        "pair": {"type": "array", "items": [{"type": "null"}]},
    },
    "required": ["n", "pair"],
}


def tool(name: str, parameters: dict[str, Any]) -> Any:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(instance)


def _function(call: Any) -> ChatCompletionMessageFunctionToolCall:
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call


def _call(reply: Any, finish: str = "tool_calls") -> Any:
    """The one call of a reply; ``finish`` is "stop" when ``tool_choice`` named the function."""
    choice = reply.choices[0]
    assert choice.finish_reason == finish and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and CALL_ID.fullmatch(call.id)
    return call


@pytest.mark.parametrize(
    "schema", [ORDER, TREE, NUMBERS, COMBINED, DRAFT4], ids=["order", "tree", "numbers", "combined", "draft4"]
)
def test_arguments_validate_against_the_tools_schema(roomy: openai.OpenAI, schema: dict[str, Any]) -> None:
    tools = [tool("act", schema), CLOCK]
    seen = set()
    for seed in range(8):
        reply = roomy.chat.completions.create(
            model="m",
            messages=ASK_WEATHER,
            tools=tools,
            tool_choice={"type": "function", "function": {"name": "act"}},
            seed=seed,
        )
        call = _call(reply, "stop")
        assert call.function.name == "act"
        arguments = json.loads(call.function.arguments)
        _validate(arguments, schema)
        seen.add(call.function.arguments)
        assert reply.usage is not None
        assert reply.usage.completion_tokens == count_tool_calls([call.model_dump()])
    assert len(seen) >= 4  # the seed changes the arguments


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Address(BaseModel):
    street: str
    postcode: Annotated[str, Field(pattern=r"^\d{5}$")]


class Booking(BaseModel):
    guest: Annotated[str, Field(min_length=2, max_length=30)]
    email: EmailStr
    nights: Annotated[int, Field(ge=1, le=14)]
    rate: Annotated[float, Field(gt=0, lt=500)]
    arrival: datetime.date
    booked_at: datetime.datetime
    reference: uuid.UUID
    room: Size
    board: Literal["none", "breakfast", "full"]
    address: Address
    previous: list[Address]
    notes: str | None
    extras: list[str]


def test_pydantic_function_tools_parse(roomy: openai.OpenAI) -> None:
    tools = [
        openai.pydantic_function_tool(Booking),
        openai.pydantic_function_tool(Address, name="lookup_address"),
    ]
    for seed in range(5):
        reply = roomy.chat.completions.parse(
            model="m",
            messages=[{"role": "user", "content": "Book a room for me, please"}],
            tools=tools,
            seed=seed,
        )
        (call,) = reply.choices[0].message.tool_calls or []
        assert call.function.name == "Booking"  # "book" is in the question
        assert isinstance(call.function.parsed_arguments, Booking)
        forced = roomy.chat.completions.parse(
            model="m",
            messages=[{"role": "user", "content": "Book a room for me, please"}],
            tools=tools,
            tool_choice={"type": "function", "function": {"name": "lookup_address"}},
            seed=seed,
        )
        (call,) = forced.choices[0].message.tool_calls or []
        assert isinstance(call.function.parsed_arguments, Address)
        assert forced.choices[0].finish_reason == "stop"


def test_tool_call_then_result_then_answer(roomy: openai.OpenAI) -> None:
    tools = [WEATHER, CLOCK]
    first = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools)
    call = _call(first)
    assert call.function.name == "get_weather"  # the tool the question is about
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("celsius", "fahrenheit")
    again = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools)
    assert _call(again).id == call.id and _call(again).function.arguments == call.function.arguments

    conversation = [
        *ASK_WEATHER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear", "degrees": 21}'},
    ]
    answer = roomy.chat.completions.create(model="m", messages=conversation, tools=tools)
    choice = answer.choices[0]
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert choice.message.content
    required = roomy.chat.completions.create(
        model="m", messages=conversation, tools=tools, tool_choice="required"
    )
    assert _call(required).function.name == "get_weather"


def test_every_tool_choice_form(roomy: openai.OpenAI) -> None:
    tools = [WEATHER, CLOCK]
    plain = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools, tool_choice="none")
    assert plain.choices[0].finish_reason == "stop" and plain.choices[0].message.tool_calls is None
    assert plain.choices[0].message.content
    auto = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools, tool_choice="auto")
    assert _call(auto).function.name == "get_weather"
    clock = roomy.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "What time is it in Tokyo?"}], tools=tools
    )
    assert _call(clock).function.name == "get_time"
    assert json.loads(_call(clock).function.arguments) == {}  # an open object: no keys needed
    named = roomy.chat.completions.create(
        model="m",
        messages=ASK_WEATHER,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert _call(named, "stop").function.name == "get_time"  # OpenAI's finish_reason for a named function
    required = roomy.chat.completions.create(
        model="m", messages=[{"role": "system", "content": "Be terse."}], tools=tools, tool_choice="required"
    )
    assert _call(required).function.name in ("get_weather", "get_time")
    several = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools, n=3, seed=1)
    calls = [_function(c.message.tool_calls[0]) for c in several.choices if c.message.tool_calls]
    assert [c.index for c in several.choices] == [0, 1, 2] and len(calls) == 3
    assert len({c.id for c in calls}) == 3 and len({c.function.arguments for c in calls}) == 3
    single = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=tools, seed=1)
    assert _call(single).id == calls[0].id
    assert several.usage is not None
    assert several.usage.completion_tokens == count_tool_calls([c.model_dump() for c in calls])


def test_streamed_tool_call(roomy: openai.OpenAI, roomy_http: httpx.Client) -> None:
    whole = roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=[WEATHER, CLOCK])
    expected = _call(whole)
    with roomy.chat.completions.create(
        model="m",
        messages=ASK_WEATHER,
        tools=[WEATHER, CLOCK],
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    *chunks, last = chunks
    assert last.usage == whole.usage
    first, *rest, finish = chunks
    delta = first.choices[0].delta
    assert delta.role == "assistant" and delta.content is None
    (opening,) = delta.tool_calls or []
    assert (opening.index, opening.id, opening.type) == (0, expected.id, "function")
    assert opening.function is not None and opening.function.name == "get_weather"
    assert opening.function.arguments == ""
    pieces = []
    for chunk in rest:
        (part,) = chunk.choices[0].delta.tool_calls or []
        assert (
            part.index == 0 and part.id is None and part.function is not None and part.function.name is None
        )
        pieces.append(part.function.arguments or "")
    assert len(pieces) > 5 and "".join(pieces) == expected.function.arguments
    assert finish.choices[0].finish_reason == "tool_calls" and finish.choices[0].delta.tool_calls is None

    with roomy.chat.completions.stream(
        model="m", messages=ASK_WEATHER, tools=[openai.pydantic_function_tool(Address, name="get_weather")]
    ) as helper:
        final = helper.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Address)


def test_a_cut_tool_call_ends_with_length(roomy: openai.OpenAI) -> None:
    cut = roomy.chat.completions.create(
        model="m", messages=ASK_WEATHER, tools=[WEATHER], max_completion_tokens=8
    )
    choice = cut.choices[0]
    assert choice.finish_reason == "length" and cut.usage is not None and cut.usage.completion_tokens == 8
    (tool_call,) = choice.message.tool_calls or []
    call = _function(tool_call)
    assert call.function.name == "get_weather"  # 4 tokens: get _ weat her
    whole = _call(roomy.chat.completions.create(model="m", messages=ASK_WEATHER, tools=[WEATHER]))
    assert call.function.arguments == whole.function.arguments[: len(call.function.arguments)]
    assert call.function.arguments == '{"city"'  # { " city ": 4 tokens
    with pytest.raises(openai.LengthFinishReasonError):
        roomy.chat.completions.parse(
            model="m",
            messages=ASK_WEATHER,
            tools=[openai.pydantic_function_tool(Address)],
            max_completion_tokens=8,
        )


@pytest.mark.parametrize(
    ("tool_choice", "finish"),
    [
        ("auto", "tool_calls"),
        ("required", "tool_calls"),
        ({"type": "function", "function": {"name": "get_weather"}}, "stop"),
    ],
)
def test_finish_reason_of_a_call_follows_openai(roomy: openai.OpenAI, tool_choice: Any, finish: str) -> None:
    reply = roomy.chat.completions.create(
        model="m", messages=ASK_WEATHER, tools=[WEATHER, CLOCK], tool_choice=tool_choice, n=2
    )
    assert [c.finish_reason for c in reply.choices] == [finish, finish]
    assert all(
        _function(c.message.tool_calls[0]).function.name == "get_weather"
        for c in reply.choices
        if c.message.tool_calls
    )
    with roomy.chat.completions.create(
        model="m", messages=ASK_WEATHER, tools=[WEATHER, CLOCK], tool_choice=tool_choice, stream=True
    ) as stream:
        reasons = [c.choices[0].finish_reason for c in stream if c.choices]
    assert reasons[-1] == finish and set(reasons[:-1]) == {None}
    cut = roomy.chat.completions.create(
        model="m",
        messages=ASK_WEATHER,
        tools=[WEATHER, CLOCK],
        tool_choice=tool_choice,
        max_completion_tokens=6,
    )
    assert cut.choices[0].finish_reason == "length"
