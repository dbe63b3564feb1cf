"""What the schema generator, the validator and its cost bound share: errors, the work budget,
``$ref`` resolution, reading keywords, JSON equality and the merging of ``allOf``.

Every walk through a caller's schema is bounded: each schema visited, each step of a ``pattern``'s
sampling, and the work the validator will do (:mod:`headwater.sim.schema_cost`) costs units of the
request's :class:`Budget`, and schemas (``$ref`` hops included) nest at most :data:`MAX_DEPTH`
levels. Running out is a :class:`SchemaError` (a 400), never a stall.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

MAX_DEPTH = 48
#: Units of work (about 3 µs each) one choice may spend on its schema, and one request on all its
#: choices; a worker thread does this work, so a large schema never stalls the event loop.
CHOICE_BUDGET = 200_000
REQUEST_BUDGET = 1_000_000

Schema = dict[str, Any] | bool

#: Keywords that describe but never constrain a value.
ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "$schema", "$id", "$anchor", "deprecated"}
    | {"readOnly", "writeOnly", "$defs", "definitions", "discriminator"}
)

#: The base URI of the caller's schema: its local references are made absolute against it
#: (:func:`headwater.sim.schema_doc.prepare`), so that any part of it resolves them in the document.
ROOT = "urn:headwater:schema"


class SchemaError(Exception):
    """A schema the simulator cannot satisfy or does not understand; ``path`` leads to the place in
    the instance where it gave up."""

    def __init__(self, reason: str, path: tuple[str, ...] = ()) -> None:
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        shown = "/".join(path[:8]) + ("/..." if len(path) > 8 else "")
        super().__init__(f"at /{shown}: {reason}" if path else reason)
        self.reason = reason
        self.path = path

    def under(self, segment: str) -> SchemaError:
        """The same error one level further down the instance."""
        return type(self)(self.reason, (segment, *self.path[:8]))


class BudgetExceeded(SchemaError):
    """The work budget is spent: not worth trying another branch."""


class Budget:
    __slots__ = ("left", "units")

    def __init__(self, units: int = CHOICE_BUDGET) -> None:
        self.units = units
        self.left = units

    def spend(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExceeded(
                "the schema is too large or too complex for the simulator (generating and checking "
                f"takes more than {CHOICE_BUDGET} units of work per choice, {REQUEST_BUDGET} per request)"
            )


@dataclass(slots=True)
class Walk:
    """One walk through a schema document: its root (for ``$ref``) and the request's budget."""

    root: Schema
    budget: Budget

    def enter(self, depth: int) -> int:
        """Account one more schema visited at ``depth``; the depth below it."""
        self.budget.spend()
        if depth >= MAX_DEPTH:
            raise SchemaError(f"the schema nests more than {MAX_DEPTH} levels (counting $ref hops)")
        return depth + 1

    def resolve(self, ref: Any) -> Schema:
        return resolve(self.root, ref)


def resolve(root: Schema, ref: Any) -> Schema:
    """The schema a ``$ref`` points to: ``#`` or a JSON pointer into the document ``root``, written
    relative (``#/$defs/x``) or absolute (:data:`ROOT` ``#/$defs/x``)."""
    if isinstance(ref, str) and ref.startswith(ROOT + "#"):
        ref = ref[len(ROOT) :]
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"only local $ref ('#/...') is supported, not {str(ref)[:100]!r}")
    target: Any = root
    pointer = unquote(ref[1:])
    if pointer:
        if not pointer.startswith("/"):
            raise SchemaError(f"$ref {ref[:100]!r} is not a JSON pointer")
        for raw in pointer[1:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise SchemaError(f"$ref {ref[:100]!r} points to nothing")
    return as_schema(target, f"the target of $ref {ref[:100]!r}")


def as_schema(value: Any, where: str) -> Schema:
    if isinstance(value, bool | dict):
        return value
    raise SchemaError(f"{where} must be a schema (an object or a boolean)")


def subschemas(schema: dict[str, Any], key: str) -> list[Schema]:
    """The list of schemas under ``allOf``/``anyOf``/``oneOf``/``prefixItems``."""
    value = schema[key]
    if not isinstance(value, list) or (not value and key != "prefixItems"):
        raise SchemaError(f"'{key}' must be a non-empty array of schemas")
    return [as_schema(item, f"an item of '{key}'") for item in value]


def mapping(schema: dict[str, Any], key: str) -> dict[str, Any]:
    """A keyword whose value is an object (``properties``, ``patternProperties``...); ``{}`` if absent."""
    value = schema.get(key, {})
    if not isinstance(value, dict):
        raise SchemaError(f"'{key}' must be an object")
    return value


def item_schemas(schema: dict[str, Any]) -> tuple[list[Schema], Schema]:
    """``prefixItems`` (or draft 4's array form of ``items``) and the schema of the items after them."""
    items = schema.get("items", True)
    if isinstance(items, list):
        prefix = subschemas(schema, "items") if items else []
        return prefix, as_schema(schema.get("additionalItems", True), "'additionalItems'")
    prefix = subschemas(schema, "prefixItems") if "prefixItems" in schema else []
    return prefix, as_schema(items, "'items'")


def number(schema: dict[str, Any], key: str) -> float | None:
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"'{key}' must be a number")
    return value


def count(schema: dict[str, Any], key: str) -> int | None:
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise SchemaError(f"'{key}' must be a non-negative integer")
    return int(value)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``; objects and arrays compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")


def types_of(schema: dict[str, Any]) -> list[str] | None:
    """The ``type`` keyword as a list (None: absent)."""
    value = schema.get("type")
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or any(name not in TYPES for name in names):
        raise SchemaError(f"'type' must be one of {', '.join(TYPES)}, or a non-empty array of them")
    return names


_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def merge(walk: Walk, parts: list[Schema], depth: int) -> Schema:
    """One schema meant to satisfy all ``parts`` (``$ref``s resolved, nested ``allOf`` flattened):
    properties merged (a property in several parts must satisfy each), ``required`` united, types
    intersected, bounds tightened; any other keyword from the first part that has it. The result is
    a candidate: the caller still checks the instance against every part."""
    flat = list(_flatten(walk, parts, depth))
    if any(part is False for part in flat):
        return False
    dicts = [part for part in flat if isinstance(part, dict)]
    merged: dict[str, Any] = {}
    for part in dicts:
        walk.budget.spend(len(part))
        for key, value in part.items():
            if key in ("$ref", "allOf"):
                continue
            if key not in merged:
                merged[key] = value
            elif key == "properties" and isinstance(value, dict) and isinstance(merged[key], dict):
                both = dict(merged[key])
                for name, sub in value.items():
                    both[name] = {"allOf": [both[name], sub]} if name in both else sub
                merged[key] = both
            elif key == "required" and isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = list(dict.fromkeys([*merged[key], *value]))
            elif key == "type":
                merged[key] = _intersect_types(merged[key], value)
            elif key in _LOWER or key in _UPPER:
                merged[key] = _tighter(key, merged[key], value)
            elif key in ("enum", "anyOf", "oneOf", "not") and not json_equal(merged[key], value):
                merged.setdefault("allOf", []).append({key: value})
    return merged


def _flatten(walk: Walk, parts: list[Schema], depth: int) -> Iterator[Schema]:
    for part in parts:
        below = walk.enter(depth)
        if isinstance(part, dict) and ("$ref" in part or "allOf" in part):
            inner: list[Schema] = [{k: v for k, v in part.items() if k not in ("$ref", "allOf")}]
            if "$ref" in part:
                inner.append(walk.resolve(part["$ref"]))
            if "allOf" in part:
                inner.extend(subschemas(part, "allOf"))
            yield from _flatten(walk, inner, below)
        else:
            yield part


def _intersect_types(a: Any, b: Any) -> Any:
    left = [a] if isinstance(a, str) else a
    right = [b] if isinstance(b, str) else b
    if not isinstance(left, list) or not isinstance(right, list):
        return a
    both = [t for t in left if t in right or (t == "integer" and "number" in right)]
    both += [t for t in right if t == "integer" and "number" in left and t not in both]
    if not both:
        raise SchemaError(f"'allOf' asks for incompatible types {left} and {right}")
    return both


def _tighter(key: str, a: Any, b: Any) -> Any:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float):
        return a  # draft-4 boolean exclusives: keep the first, the final check decides
    if not isinstance(b, int | float):
        return a
    return max(a, b) if key in _LOWER else min(a, b)
