"""A caller's schema as the validator reads it, and the keywords that hold subschemas.

The generator hands the validator parts of the schema and schemas it derives from parts (an ``allOf``
merged, a schema without its ``anyOf``), each compiled on its own; a local reference in them
(``#/$defs/x``, ``#``) must still mean the caller's document. :func:`prepare` therefore copies the
schema with every local ``$ref`` made absolute against :data:`~headwater.sim.schema_core.ROOT`,
under which the validator's registry holds the copy. It refuses what the simulator does not follow
(references to other documents, which are never fetched; ``$dynamicRef`` and ``$recursiveRef``;
fragments that are not JSON pointers) and documents beyond its bounds: :data:`MAX_NODES` schemas,
:data:`MAX_REFS` references, :data:`~headwater.sim.schema_core.MAX_DEPTH` levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from headwater.sim.schema_core import MAX_DEPTH, ROOT, Budget, Schema, SchemaError

MAX_NODES = 10_000
MAX_REFS = 1_000

#: Keywords whose value is a schema (``items`` also an array of them, before draft 2020-12).
SINGLE = frozenset(
    {"not", "if", "then", "else", "items", "additionalItems", "contains", "additionalProperties"}
    | {"propertyNames", "unevaluatedItems", "unevaluatedProperties"}
)
#: Keywords whose value is an array of schemas.
ARRAYS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
#: Keywords whose value is an object of schemas (``dependencies`` also holds arrays of names).
MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
#: Keywords that apply their schemas to the value itself rather than to a part of it.
IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "dependencies")


def _schemas(key: str, value: Any) -> Iterator[Schema]:
    if key in SINGLE and isinstance(value, dict | bool):
        yield value
    elif key in ARRAYS and isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict | bool))
    elif key in MAPS and isinstance(value, dict):
        yield from (item for item in value.values() if isinstance(item, dict | bool))


def children(schema: dict[str, Any]) -> Iterator[Schema]:
    """The subschemas written in ``schema`` (references not followed)."""
    for key, value in schema.items():
        yield from _schemas(key, value)


def in_place(schema: dict[str, Any]) -> Iterator[Schema]:
    """The subschemas ``schema`` applies to the value itself (its ``$ref`` aside)."""
    for key in IN_PLACE:
        if key in schema:
            yield from _schemas(key, schema[key])


@dataclass(frozen=True, slots=True)
class Document:
    #: The caller's schema with absolute local references.
    root: Schema
    #: How many schemas (objects) it holds.
    size: int


def prepare(schema: Schema, budget: Budget) -> Document:
    """The caller's ``schema`` ready for the validator; raises :class:`SchemaError`."""
    copier = _Copier(budget)
    root = copier.copy(schema, 0)
    return Document(root, copier.nodes)


def absolute(ref: Any) -> Any:
    """A local reference made absolute; anything else refused (a non-string is left to the
    validator, which reports it)."""
    if not isinstance(ref, str) or ref.startswith(ROOT + "#"):
        return ref
    if not ref.startswith("#"):
        raise SchemaError(f"only local $ref ('#/...') is supported, not {ref[:100]!r}")
    if ref != "#" and not ref.startswith("#/"):
        raise SchemaError(f"$ref {ref[:100]!r} is not a JSON pointer")
    return ROOT + ref


class _Copier:
    __slots__ = ("budget", "nodes", "refs")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.nodes = 0
        self.refs = 0

    def copy(self, schema: Schema, depth: int) -> Schema:
        if not isinstance(schema, dict):
            return schema
        if depth >= MAX_DEPTH:
            raise SchemaError(f"the schema nests more than {MAX_DEPTH} levels (counting $ref hops)")
        self.nodes += 1
        self.budget.spend()
        if self.nodes > MAX_NODES:
            raise SchemaError(f"the schema holds more than {MAX_NODES} schemas")
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ("$dynamicRef", "$recursiveRef"):
                raise SchemaError(f"'{key}' is not supported")
            if key == "$ref":
                self.refs += 1
                if self.refs > MAX_REFS:
                    raise SchemaError(f"the schema holds more than {MAX_REFS} $ref")
                out[key] = absolute(value)
            elif key in SINGLE and isinstance(value, dict | bool):
                out[key] = self.copy(value, depth + 1)
            elif key in ARRAYS and isinstance(value, list):
                out[key] = [self.copy(item, depth + 1) for item in value]
            elif key in MAPS and isinstance(value, dict):
                out[key] = {name: self.copy(item, depth + 1) for name, item in value.items()}
            else:
                out[key] = value
        return out
