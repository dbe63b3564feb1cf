"""A deterministic generator of JSON instances for a JSON Schema: tool-call arguments and structured
output of the simulator.

:func:`generate` walks the schema with a seeded ``random.Random`` and builds a value that satisfies
it by construction where it can: ``type`` (and type arrays such as ``["string", "null"]``),
``properties``/``required``/``additionalProperties``/``patternProperties``/``propertyNames``/
``min``-``maxProperties``, ``items``/``prefixItems``/``additionalItems``/``min``-``maxItems``/
``uniqueItems``/``contains``, ``minLength``/``maxLength``/``pattern``/``format``, ``minimum``/
``maximum``/the exclusive bounds/``multipleOf``, ``enum``/``const``, ``anyOf``/``oneOf`` (the first
workable branch), ``allOf`` and ``$ref`` to ``$defs``/``definitions`` (merged, then checked). Strings
are words of the simulator's vocabulary, or sampled from ``pattern`` (:mod:`headwater.sim.patterns`).
Below :data:`SOFT_DEPTH` levels it builds the smallest instance (no optional properties,
``minItems`` items, ``null`` branches first), so recursive models end. Parts are checked as they are
made and the result against the whole schema, by jsonschema-rs (:mod:`headwater.sim.schema_validator`);
whatever cannot be satisfied, or costs more than the budget, is a :class:`SchemaError`.
"""

from __future__ import annotations

import math
import random
from typing import Any

from headwater.sim import patterns
from headwater.sim.formats import FORMATS
from headwater.sim.schema_core import (
    Budget,
    BudgetExceeded,
    Schema,
    SchemaError,
    Walk,
    as_schema,
    count,
    item_schemas,
    mapping,
    merge,
    number,
    subschemas,
    types_of,
)
from headwater.sim.schema_doc import prepare
from headwater.sim.schema_numbers import bounds, exact, window
from headwater.sim.schema_validator import Checker
from headwater.sim.text import WORDS

SOFT_DEPTH = 10
MAX_ITEMS = 100
MAX_STRING = 2000
_STRETCHES = (3, 3, 6, 12, 24, 48, 96, 192)
_OBJECT_KEYS = ("properties", "required", "additionalProperties", "patternProperties", "minProperties")
_ARRAY_KEYS = ("items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems")
_STRING_KEYS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def generate(schema: Schema, rng: random.Random, budget: Budget, *, want_object: bool = False) -> Any:
    """A value valid for ``schema`` (an object when ``want_object`` and the schema leaves the type
    open); raises :class:`SchemaError`."""
    root = prepare(schema, budget).root
    checker = Checker(root, budget)
    value = _Generator(Walk(root, budget), checker, rng).instance(root, 0, want_object)
    reason = checker.check(root, value)
    if reason is not None:
        raise SchemaError(f"the simulator could not generate a value that satisfies it ({reason})")
    return value


class _Generator:
    __slots__ = ("checker", "rng", "walk")

    def __init__(self, walk: Walk, checker: Checker, rng: random.Random) -> None:
        self.walk = walk
        self.checker = checker
        self.rng = rng

    def instance(self, schema: Schema, depth: int, want_object: bool = False) -> Any:
        below = self.walk.enter(depth)
        if schema is False:
            raise SchemaError("the schema 'false' admits no value")
        if not isinstance(schema, dict):
            schema = {}
        if "$ref" in schema or "allOf" in schema:
            return self._satisfy([schema], below)
        if "enum" in schema or "const" in schema:
            return self._choose(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._branch(schema, key, below)
        types = list(types_of(schema) or [self._infer(schema, want_object)])
        nulls_first = depth >= SOFT_DEPTH
        types.sort(key=lambda name: (name == "null") != nulls_first)
        failure: SchemaError | None = None
        for name in types:
            try:
                return self._typed(name, schema, below)
            except BudgetExceeded:
                raise
            except SchemaError as error:
                failure = failure or error
        assert failure is not None
        raise failure

    @staticmethod
    def _infer(schema: dict[str, Any], want_object: bool) -> str:
        if want_object or any(key in schema for key in _OBJECT_KEYS):
            return "object"
        if any(key in schema for key in _ARRAY_KEYS):
            return "array"
        if any(key in schema for key in _STRING_KEYS):
            return "string"
        if any(key in schema for key in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
            return "number"
        return "string"

    def _satisfy(self, parts: list[Schema], depth: int) -> Any:
        """A value for all ``parts``: generated from their merge, checked against each."""
        merged = merge(self.walk, parts, depth)
        if merged is False or not isinstance(merged, dict):
            raise SchemaError("'allOf' (or a $ref) leads to the schema 'false', which admits no value")
        rest = {key: value for key, value in merged.items() if key != "allOf"}
        reason = None
        for _ in range(3):
            value = self.instance(rest, depth)
            reason = next((r for part in parts if (r := self.checker.check(part, value))), None)
            if reason is None:
                return value
        raise SchemaError(f"its parts cannot all be satisfied together ({reason})")

    def _choose(self, schema: dict[str, Any]) -> Any:
        options = [schema["const"]] if "const" in schema else schema["enum"]
        if not isinstance(options, list) or not options:
            raise SchemaError("'enum' must be a non-empty array")
        start = self.rng.randrange(len(options))
        for step in range(len(options)):
            option = options[(start + step) % len(options)]
            if self.checker.check(schema, option) is None:  # in 'enum': the rest of the schema decides
                return option
        raise SchemaError("no value of 'enum' (or 'const') satisfies the rest of the schema")

    def _branch(self, schema: dict[str, Any], key: str, depth: int) -> Any:
        base = {k: v for k, v in schema.items() if k != key}
        branches = subschemas(schema, key)
        order = list(range(len(branches)))
        if depth >= SOFT_DEPTH:  # the branches that end recursion first
            order.sort(key=lambda i: _weight(branches[i]))
        failure: SchemaError | None = None
        for index in order:
            try:
                value = self._satisfy([base, branches[index]], depth)
            except BudgetExceeded:
                raise
            except SchemaError as error:
                failure = failure or error
                continue
            if key == "anyOf" or sum(self.checker.check(b, value) is None for b in branches) == 1:
                return value
            failure = failure or SchemaError("a value of one branch of 'oneOf' matches another one too")
        assert failure is not None
        raise type(failure)(
            f"no branch of '{key}' can be satisfied (the first: {failure.reason})", failure.path
        )

    def _typed(self, name: str, schema: dict[str, Any], depth: int) -> Any:
        if name == "null":
            return None
        if name == "boolean":
            return self.rng.random() < 0.5
        if name == "integer":
            return self._integer(schema)
        if name == "number":
            return self._number(schema)
        if name == "string":
            return self._string(schema)
        if name == "array":
            return self._array(schema, depth)
        return self._object(schema, depth)

    def _integer(self, schema: dict[str, Any]) -> int:
        low, low_x, high, high_x = bounds(schema)
        least = None if low is None else math.ceil(low) + (1 if low_x and low == math.ceil(low) else 0)
        most = None if high is None else math.floor(high) - (1 if high_x and high == math.floor(high) else 0)
        step = number(schema, "multipleOf")
        if step is not None and step <= 0:
            raise SchemaError("'multipleOf' must be above 0")
        unit = int(step) if step is not None and float(step).is_integer() else 1
        kmin = None if least is None else -(-least // unit)
        kmax = None if most is None else most // unit
        kmin, kmax = window(kmin, kmax, 10 if unit > 1 else 100)
        if kmin > kmax:
            raise SchemaError("no integer lies between 'minimum' and 'maximum' (and 'multipleOf')")
        start = self.rng.randint(kmin, kmax)
        if step is None or step == unit:
            return start * unit
        accepts = self.checker.matcher({"multipleOf": step})  # unit is 1: try the next integers
        for value in range(start, min(kmax, start + 200) + 1):
            if accepts(value) and exact(value, step):
                return value
        raise SchemaError(f"no integer in bounds is a multiple of {step}")

    def _number(self, schema: dict[str, Any]) -> float:
        step = number(schema, "multipleOf")
        if step is not None and (step <= 0 or float(step).is_integer()):
            return self._integer(schema)
        low, _, high, _ = bounds(schema)
        if low is None or high is None:
            low, high = window(low, high, 100.0)
        accepts = self.checker.matcher(_keywords(schema, _NUMBER_KEYS))
        if step is not None:
            kmin, kmax = math.ceil(low / step), math.floor(high / step)
            for _ in range(50 if kmin <= kmax else 0):
                k = self.rng.randint(kmin, kmax)
                for value in (round(k * step, 10), k * step):
                    if accepts(value) and exact(value, step):
                        return value
            raise SchemaError(f"no number in bounds is a multiple of {step}")
        for value in (round(self.rng.uniform(low, high), 2), (low + high) / 2):
            if accepts(value):
                return value
        raise SchemaError("no number lies between the bounds")

    def _string(self, schema: dict[str, Any]) -> str:
        low, high = count(schema, "minLength") or 0, count(schema, "maxLength")
        if low > MAX_STRING:
            raise SchemaError(f"'minLength' above {MAX_STRING} is beyond the simulator's bounds")
        if high is not None and high < low:
            raise SchemaError("'maxLength' is below 'minLength'")

        fits = self.checker.matcher(_keywords(schema, _STRING_KEYS))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            for stretch in _STRETCHES:
                text = patterns.sample(pattern, self.rng, stretch, self.walk.budget.spend)
                if len(text) < low:
                    text += "a" * (low - len(text))
                if fits(text):
                    return text
            raise SchemaError(
                f"no string matching {pattern[:100]!r} within the length bounds (and format) was found"
            )
        name = schema.get("format")
        make = FORMATS.get(name) if isinstance(name, str) else None
        if make is not None:
            text = make(self.rng)
            if not fits(text):
                raise SchemaError(f"a {name} string cannot fit 'minLength'/'maxLength'")
            return text
        text = " ".join(self.rng.choices(WORDS, k=self.rng.randint(1, 3)))
        while len(text) < low:
            text += " " + self.rng.choice(WORDS)
        self.walk.budget.spend(len(text) // 16)
        if high is not None and len(text) > high:
            text = text[:high]
            if text.endswith(" "):
                text = text[:-1] + "a"
        return text

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low, high = count(schema, "minItems") or 0, count(schema, "maxItems")
        if low > MAX_ITEMS:
            raise SchemaError(f"'minItems' above {MAX_ITEMS} is beyond the simulator's bounds")
        if high is not None and high < low:
            raise SchemaError("'maxItems' is below 'minItems'")
        prefix, rest = item_schemas(schema)
        size = (
            low if depth >= SOFT_DEPTH else max(low, self.rng.randint(1, 3 if depth < 6 else 1), len(prefix))
        )
        if rest is False:
            size = max(low, min(size, len(prefix)))
        size = min(size, MAX_ITEMS if high is None else high)
        unique = schema.get("uniqueItems") is True
        items: list[Any] = []
        for index in range(size):
            sub = prefix[index] if index < len(prefix) else rest
            try:
                item = self._item(sub, depth, items if unique else None)
            except BudgetExceeded:
                raise
            except SchemaError as error:
                if index < low:
                    raise error.under(str(index)) from None
                break
            items.append(item)
        if "contains" in schema:
            wanted = self._satisfy([rest, as_schema(schema["contains"], "'contains'")], depth)
            if high is not None and len(items) >= high and items:
                items[-1] = wanted
            else:
                items.append(wanted)
        return items

    def _item(self, schema: Schema, depth: int, taken: list[Any] | None) -> Any:
        for _ in range(5):
            item = self.instance(schema, depth)
            if taken is None or item not in taken:
                return item
        raise SchemaError("not enough distinct items for 'uniqueItems'")

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = mapping(schema, "properties")
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise SchemaError("'required' must be an array of strings")
        low, high = count(schema, "minProperties") or 0, count(schema, "maxProperties")
        if low > MAX_ITEMS:
            raise SchemaError(f"'minProperties' above {MAX_ITEMS} is beyond the simulator's bounds")
        limit = MAX_ITEMS if high is None else high
        if len(set(required)) > limit:
            raise SchemaError("'required' names more properties than 'maxProperties' allows")
        deep = depth >= SOFT_DEPTH
        names = [n for n in properties if n in required or not deep] + [
            n for n in required if n not in properties
        ]
        names = list(dict.fromkeys(names))
        optional = [n for n in names if n not in required]
        for name in optional[max(0, limit - len(set(required))) :]:
            names.remove(name)
        out: dict[str, Any] = {}
        for name in names:
            try:
                out[name] = self.instance(self._property_schema(schema, properties, name), depth)
            except BudgetExceeded:
                raise
            except SchemaError as error:
                if name in required:
                    raise error.under(name) from None
        extra = as_schema(schema.get("additionalProperties", True), "'additionalProperties'")
        wanted = low
        if not deep and isinstance(extra, dict) and extra and not properties:
            wanted = max(low, min(limit, self.rng.randint(1, 2)))
        while len(out) < wanted:
            name = self._new_name(schema, out)
            out[name] = self.instance(self._property_schema(schema, properties, name), depth)
        return out

    def _property_schema(self, schema: dict[str, Any], properties: dict[str, Any], name: str) -> Schema:
        if name in properties:
            return as_schema(properties[name], f"property {name!r}")
        for source, sub in mapping(schema, "patternProperties").items():
            if self.checker.matcher({"pattern": source})(name):
                return as_schema(sub, f"patternProperties {source!r}")
        extra = as_schema(schema.get("additionalProperties", True), "'additionalProperties'")
        if extra is False:
            raise SchemaError(f"the property {name!r} is not allowed by 'additionalProperties': false")
        return extra

    def _new_name(self, schema: dict[str, Any], taken: dict[str, Any]) -> str:
        names = schema.get("propertyNames")
        by_pattern = mapping(schema, "patternProperties")
        for attempt in range(20):
            if names is not None:
                name = self.instance(as_schema(names, "'propertyNames'"), 0)
            elif schema.get("additionalProperties", True) is False and by_pattern:
                name = patterns.sample(next(iter(by_pattern)), self.rng, 3, self.walk.budget.spend)
            else:
                name = self.rng.choice(WORDS) + (str(attempt) if attempt > 3 else "")
            if isinstance(name, str) and name not in taken:
                return name
        raise SchemaError("not enough distinct property names for 'minProperties'")


def _weight(schema: Schema) -> int:
    """How likely a branch is to recurse: ``null`` first, then branches without a $ref."""
    if not isinstance(schema, dict):
        return 1
    if schema.get("type") == "null":
        return 0
    return 2 if "$ref" in schema or "allOf" in schema else 1


def _keywords(schema: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: schema[key] for key in keys if key in schema}
