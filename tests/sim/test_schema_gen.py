"""Properties of the simulator's building blocks: the schema generator's instances validate (checked by
the ``jsonschema`` package) for generated schemas, strings made for a ``pattern`` match it (checked by
Python's ``re``), the schema libraries load only for requests with a schema, and reply tokens are
exactly the estimator's."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater import token_estimate
from headwater.sim import pieces
from headwater.sim.schema_core import Budget, SchemaError
from headwater.sim.schema_gen import generate

PATTERNS = [
    r"^[a-z]+$",
    r"^\d{3}-\d{2,4}$",
    r"^(foo|bar)+baz?$",
    r"\bcat\b",
    r"^[A-Z][a-z]{2,5}\s\w+$",
    r"^[^\s@]+@[^\s@]+\.[a-z]{2,}$",
    r"^\+?[1-9]\d{1,14}$",
    r"^#[0-9a-fA-F]{6}$",
    r"(a+)+$",
    r"x{0,3}y",  # ECMA-262, JSON Schema's dialect, has no {,n}
    r"^(?:[01]\d|2[0-3]):[0-5]\d$",
    r"a.c",
    r"^\W*$",
    r"[\u00e9-\u00ff]+",
    r"^.{2}$",
]

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.text(max_size=5))


@st.composite
def _strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    kind = draw(st.sampled_from(["plain", "pattern", "format"]))
    if kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(["date", "date-time", "email", "uuid", "uri", "ipv4"]))
    else:
        low = draw(st.integers(0, 12))
        schema["minLength"] = low
        schema["maxLength"] = low + draw(st.integers(0, 12))
    return schema


@st.composite
def _numbers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": draw(st.sampled_from(["integer", "number"]))}
    low = draw(st.integers(-1000, 1000))
    if draw(st.booleans()):
        schema["minimum" if draw(st.booleans()) else "exclusiveMinimum"] = low
    if draw(st.booleans()):
        # at least 11 integers between the bounds: one of them is a multiple of every step drawn below
        schema["maximum" if draw(st.booleans()) else "exclusiveMaximum"] = low + draw(st.integers(12, 500))
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([1, 2, 5, 0.5, 0.25]))
    return schema


LEAVES = st.one_of(
    _strings(),
    _numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(SCALARS, min_size=1, max_size=4).map(lambda values: {"enum": values}),
    SCALARS.map(lambda value: {"const": value}),
    st.just({}),
)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def build(properties: dict[str, Any], required: list[bool], closed: bool) -> dict[str, Any]:
        names = list(properties)
        chosen = [name for name, flag in zip(names, required, strict=False) if flag]
        return {
            "type": "object",
            "properties": properties,
            "required": chosen,
            "additionalProperties": not closed,
        }

    return st.builds(
        build,
        st.dictionaries(st.sampled_from(["a", "b", "name", "x_y", "Long Key"]), children, max_size=4),
        st.lists(st.booleans(), max_size=4),
        st.booleans(),
    )


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        _objects(children),
        st.builds(
            lambda items, low, extra: {
                "type": "array",
                "items": items,
                "minItems": low,
                "maxItems": low + extra,
            },
            children,
            st.integers(0, 3),
            st.integers(0, 3),
        ),
        st.lists(children, min_size=1, max_size=3).map(lambda options: {"anyOf": options}),
        st.lists(children, min_size=1, max_size=3).map(
            lambda items: {"type": "array", "prefixItems": items, "items": False}
        ),
        children.map(lambda inner: {"allOf": [inner]}),
        children.map(lambda inner: {"anyOf": [inner, {"type": "null"}]}),
    )


TREES = st.recursive(LEAVES, _extend, max_leaves=12)
#: Some behind a $ref (a local one resolves from the root, so only there).
SCHEMAS = st.one_of(
    TREES,
    st.builds(
        lambda inner, outer: {
            "$defs": {"inner": inner},
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/inner"}, "y": outer},
            "required": ["x", "y"],
        },
        TREES,
        TREES,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, seed=st.integers(0, 2**32))
def test_generated_instances_validate(schema: dict[str, Any], seed: int) -> None:
    value = generate(schema, random.Random(seed), Budget())
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(value)


@settings(max_examples=200, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), seed=st.integers(0, 2**32))
def test_pattern_strings_match_the_pattern(pattern: str, seed: int) -> None:
    value = generate({"type": "string", "pattern": pattern}, random.Random(seed), Budget())
    assert isinstance(value, str) and re.search(pattern, value)


@pytest.mark.parametrize(
    "pattern", [r"^[a-z]+\d{2,4}$", r"^(foo|bar)+baz?$", r"^[^\s@]+@[^\s@]+\.[a-z]{2,}$"]
)
def test_pattern_strings_vary_with_the_seed(pattern: str) -> None:
    values = {
        generate({"type": "string", "pattern": pattern}, random.Random(seed), Budget()) for seed in range(20)
    }
    assert len(values) >= 10 and all(re.search(pattern, value) for value in values)


def test_a_backtracking_pattern_is_checked_in_linear_time() -> None:
    # a backtracking engine (Python's re) takes 2**64 steps to reject the first option
    schema = {"type": "string", "pattern": "^(a+)+$", "enum": ["a" * 64 + "!", "aaaa"]}
    assert {generate(schema, random.Random(seed), Budget()) for seed in range(8)} == {"aaaa"}
    with pytest.raises(SchemaError, match="no value of 'enum'"):
        generate({**schema, "enum": ["a" * 64 + "!"]}, random.Random(0), Budget())


def test_the_tokenizer_is_the_estimators() -> None:
    assert pieces._PIECES.pattern == token_estimate._PIECES.pattern
    assert pieces._PIECES.flags == token_estimate._PIECES.flags


@given(text=st.text(max_size=200))
def test_tokens_concatenate_to_the_text_and_count_one_each(text: str) -> None:
    tokens = pieces.split(text)
    assert "".join(tokens) == text
    if text.strip():
        assert all(token_estimate.count_text(token) == 1 for token in tokens)
        assert len(tokens) == token_estimate.count_text(text)
        assert all(token_estimate.count_text("".join(tokens[:n])) == n for n in range(len(tokens) + 1))


_PLAIN_THEN_SCHEMA = """
import asyncio, json, sys
import httpx
from headwater.sim.app import create_sim_app
from headwater.sim.config import SimConfig

LOADED = ("jsonschema_rs", "rstr")


async def main() -> None:
    transport = httpx.ASGITransport(app=create_sim_app(SimConfig(ttft_ms=0, tokens_per_second=0)))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        plain = await client.post("/v1/chat/completions", json=body)
        before = [name for name in LOADED if name in sys.modules]
        body["response_format"] = {"type": "json_object"}
        structured = await client.post("/v1/chat/completions", json=body)
        after = [name for name in LOADED if name in sys.modules]
    print(json.dumps([plain.status_code, before, structured.status_code, after]))


asyncio.run(main())
"""


def test_plain_text_never_loads_the_schema_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_THEN_SCHEMA], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == [200, [], 200, ["jsonschema_rs", "rstr"]]
