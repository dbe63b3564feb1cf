"""The work the validator will do, counted and charged to the request's budget before it runs.

jsonschema-rs holds the GIL while it compiles or validates, and nothing stops it midway. Compiling
costs about the schemas it reaches. Validating is not memoised: a schema applied to one place of the
value through several paths (``anyOf`` branches that refer to the same definition, ``allOf`` parts
that describe the same property, nested level after level) is evaluated once per path, so a hostile
schema of a few hundred bytes takes years. :class:`Cost` therefore counts, before each compilation,
the schemas it reaches, and before each validation, for every node of the value, the schemas applied
there with their multiplicity (every path), weighted by their size; the request's
:class:`~headwater.sim.schema_core.Budget` pays, and a schema that costs too much is a 400 before
the validator starts. The count is an upper bound (every branch of ``anyOf``, every
``patternProperties`` schema for every property), exact enough for real schemas. A schema that
applies itself to the same value again (``{"$ref": "#"}``, an ``anyOf`` that leads back to it) is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from headwater.sim.schema_core import MAX_DEPTH, Budget, Schema, SchemaError, resolve
from headwater.sim.schema_doc import children, in_place

#: Schema applications (a schema's keywords evaluated at one node of the value, a few dozen
#: nanoseconds) paid by one unit of the budget (a few microseconds).
APPLICATIONS_PER_UNIT = 32
#: Budget units per schema a compilation reaches.
UNITS_PER_COMPILED = 1

Applied = dict[int, int]  # id of a schema -> the paths that apply it here


class Cost:
    """Counts for one schema document; every schema it has seen stays referenced, so ids stay
    unique."""

    __slots__ = ("_budget", "_closures", "_open", "_root", "_schemas", "_weights")

    def __init__(self, root: Schema, budget: Budget) -> None:
        self._root = root
        self._budget = budget
        self._schemas: dict[int, Schema] = {}
        self._closures: dict[int, Applied] = {}
        self._weights: dict[int, int] = {}
        self._open: set[int] = set()

    def compile(self, schema: Schema) -> None:
        """Charge compiling ``schema``: the schemas it reaches, references followed."""
        seen: set[int] = set()
        stack = [schema]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(children(node))
            if "$ref" in node:
                stack.append(resolve(self._root, node["$ref"]))
        self._budget.spend(1 + UNITS_PER_COMPILED * len(seen))

    def validate(self, schema: Schema, value: Any) -> None:
        """Charge validating ``value`` against ``schema``."""
        applications = 0
        paid = 0
        self._schemas[id(schema)] = schema
        stack: list[tuple[Any, Applied]] = [(value, {id(schema): 1})]
        while stack:
            item, applied = stack.pop()
            here: Applied = {}
            for key, paths in applied.items():
                for inner, times in self._closure(self._schemas[key], 0).items():
                    here[inner] = here.get(inner, 0) + paths * times
            extra = len(item) // 16 if isinstance(item, str) else 0
            parts = len(item) if isinstance(item, dict | list) else 0
            for key, paths in here.items():
                applications += paths * (self._weights[key] + extra)
                schema = self._schemas[key]
                if parts and isinstance(schema, dict):
                    if schema.get("uniqueItems") is True and isinstance(item, list):
                        applications += paths * parts**2
                    if "unevaluatedProperties" in schema or "unevaluatedItems" in schema:
                        # which parts were evaluated: the schemas applied here, again for each part
                        applications += paths * parts * self._total(key)
            self._budget.spend(len(applied) + len(here) + applications // APPLICATIONS_PER_UNIT - paid)
            paid = applications // APPLICATIONS_PER_UNIT
            parts_applied: list[tuple[Any, Applied]] = []
            if isinstance(item, dict) and item:
                names = self._below(here, _names)
                for name, part in item.items():
                    parts_applied.append((part, self._below(here, partial(_property, name=name))))
                    parts_applied.append((name, names))
            elif isinstance(item, list):
                for index, part in enumerate(item):
                    parts_applied.append((part, self._below(here, partial(_item, index=index))))
            stack.extend(entry for entry in parts_applied if entry[1])  # parts no schema applies to: free

    def _below(self, here: Applied, pick: Callable[[dict[str, Any]], Iterator[Schema]]) -> Applied:
        """The schemas applied to a part of the value, from those applied to the whole."""
        out: Applied = {}
        for key, paths in here.items():
            schema = self._schemas[key]
            if isinstance(schema, dict):
                for sub in pick(schema):
                    self._schemas[id(sub)] = sub
                    out[id(sub)] = out.get(id(sub), 0) + paths
        return out

    def _total(self, key: int) -> int:
        """The applications of a schema (and those it applies in place) to one node of the value."""
        return sum(times * self._weights[inner] for inner, times in self._closures[key].items())

    def _closure(self, schema: Schema, depth: int) -> Applied:
        """``schema`` and the schemas it applies to the same value, with their multiplicity."""
        key = id(schema)
        found = self._closures.get(key)
        if found is not None:
            return found
        if key in self._open:
            raise SchemaError("the schema applies itself to the same value again (a $ref cycle)")
        if depth >= MAX_DEPTH:
            raise SchemaError(f"the schema nests more than {MAX_DEPTH} levels (counting $ref hops)")
        self._schemas[key] = schema
        out: Applied = {key: 1}
        if isinstance(schema, dict):
            inner = list(in_place(schema))
            if "$ref" in schema:
                inner.append(resolve(self._root, schema["$ref"]))
            self._open.add(key)
            try:
                for sub in inner:
                    for sub_key, times in self._closure(sub, depth + 1).items():
                        out[sub_key] = out.get(sub_key, 0) + times
            finally:
                self._open.discard(key)
        self._closures[key] = out
        self._weights[key] = 1 + _size(schema)
        self._budget.spend(len(out))
        return out


def _size(schema: Schema) -> int:
    """The entries of the arrays and objects a schema's keywords hold (``enum``, ``properties``...)."""
    if not isinstance(schema, dict):
        return 0
    return sum(len(value) for value in schema.values() if isinstance(value, list | dict))


def _property(schema: dict[str, Any], name: str) -> Iterator[Schema]:
    properties = schema.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get(name), dict | bool):
        yield properties[name]
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict):
        yield from (sub for sub in patterns.values() if isinstance(sub, dict | bool))
    for key in ("additionalProperties", "unevaluatedProperties"):
        if isinstance(schema.get(key), dict | bool):
            yield schema[key]


def _names(schema: dict[str, Any]) -> Iterator[Schema]:
    if isinstance(schema.get("propertyNames"), dict | bool):
        yield schema["propertyNames"]


def _item(schema: dict[str, Any], index: int) -> Iterator[Schema]:
    for key in ("prefixItems", "items"):
        value = schema.get(key)
        if isinstance(value, list) and index < len(value) and isinstance(value[index], dict | bool):
            yield value[index]
        elif key == "items" and isinstance(value, dict | bool):
            yield value
    for key in ("additionalItems", "contains", "unevaluatedItems"):
        if isinstance(schema.get(key), dict | bool):
            yield schema[key]
