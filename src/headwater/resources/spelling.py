"""Field names in documents: camelCase, derived from the spec models.

The spec models are the JSON admin API's contract and name most fields in snake_case
(``cost_center``, ``base_url``). A document names the field ``foo_bar`` ``fooBar``; a field that is
already one word or camelCase (``serviceAccounts``, ``renewsOn``) keeps its name. The names follow
the models' fields recursively (nested models, lists of them, optional and union types), so a field
added to a model gets its document name without a table to keep.

The snake_case spelling is still accepted, with a deprecation naming the field to use; both
spellings of one field in one mapping are an error. Keys of a dict-typed field are data (names the
user chose), never translated. Unknown keys pass through untouched, for the model to refuse where
they were written.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

Loc = tuple[str | int, ...]

_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


def camel(name: str) -> str:
    """``input_per_million`` -> ``inputPerMillion``; ``serviceAccounts`` and ``kind`` unchanged."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@cache
def document_names(model: type[BaseModel]) -> dict[str, str]:
    """Each field of ``model`` and its name in documents."""
    return {name: camel(name) for name in model.model_fields}


@dataclass
class Spelling:
    """How one document spelled its spec: what to warn about, what to refuse, and where it wrote what."""

    deprecated: list[tuple[Loc, str]] = field(default_factory=list)  # (path as written, name to use)
    conflicts: list[tuple[Loc, str]] = field(default_factory=list)  # (path as written, message)
    written: dict[Loc, str | int] = field(default_factory=dict)  # a field's path -> the key written
    models: dict[Loc, type[BaseModel]] = field(default_factory=dict)  # a mapping's path -> its model

    def loc(self, loc: Loc) -> Loc:
        """A location in the models' field names, as the document spells it: the key the document
        wrote, or the camelCase name of a field it left out."""
        spelled: list[str | int] = []
        for position, part in enumerate(loc):
            here, model = loc[: position + 1], self.models.get(loc[:position])
            if here in self.written:
                spelled.append(self.written[here])
            elif model is not None and isinstance(part, str) and part in model.model_fields:
                spelled.append(camel(part))
            else:
                spelled.append(part)
        return tuple(spelled)


def translate(spec: Mapping[Any, Any], model: type[BaseModel]) -> tuple[dict[Any, Any], Spelling]:
    """``spec`` with the model's field names as keys, and how the document spelled them."""
    spelling = Spelling()
    return _mapping(spec, model, (), (), spelling), spelling


def _mapping(
    value: Mapping[Any, Any], model: type[BaseModel], path: Loc, written: Loc, spelling: Spelling
) -> dict[Any, Any]:
    spelling.models[path] = model
    names = document_names(model)
    fields = {spelled: name for name, spelled in names.items()}
    translated: dict[Any, Any] = {}
    key_of: dict[str, Any] = {}  # field name -> the key that gave it
    for key, item in value.items():
        name = fields.get(key) if isinstance(key, str) else None
        if name is None and isinstance(key, str) and names.get(key, key) != key:
            name = key  # the snake_case spelling of a field
            spelling.deprecated.append(((*written, key), names[key]))
        if name is None:
            translated[key] = item  # not a field: the model refuses it where it was written
            continue
        if name in key_of:
            message = f"given twice, as {key_of[name]} and {key}: keep only {names[name]}"
            spelling.conflicts.append(((*written, key), message))
            continue
        key_of[name] = key
        spelling.written[(*path, name)] = key
        annotation = model.model_fields[name].annotation
        translated[name] = _value(item, annotation, (*path, name), (*written, key), spelling)
    return translated


def _value(value: Any, annotation: Any, path: Loc, written: Loc, spelling: Spelling) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        member = _member(value, args)
        return value if member is None else _value(value, member, path, written, spelling)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _mapping(value, annotation, path, written, spelling) if isinstance(value, dict) else value
    if _is(origin, _MAPPINGS) and isinstance(value, dict):
        item = args[1] if len(args) == 2 else Any
        return {key: _value(v, item, (*path, key), (*written, key), spelling) for key, v in value.items()}
    if _is(origin, _SEQUENCES) and isinstance(value, list):
        return [
            _value(item, _item(args, index), (*path, index), (*written, index), spelling)
            for index, item in enumerate(value)
        ]
    return value


def _is(origin: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(origin, type) and issubclass(origin, kinds)


def _item(args: tuple[Any, ...], index: int) -> Any:
    """The type of item ``index`` of a sequence typed with ``args`` (list[X], tuple[X, ...], tuple[X, Y])."""
    if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis):
        return args[0]
    return args[index] if index < len(args) else Any


def _member(value: Any, members: tuple[Any, ...]) -> Any:
    """The member of a union that shapes ``value``, or None when it is not a container or ambiguous."""
    unwrapped = []
    for member in members:
        while get_origin(member) is Annotated:
            member = get_args(member)[0]
        unwrapped.append(member)
    if isinstance(value, dict):
        models = [m for m in unwrapped if isinstance(m, type) and issubclass(m, BaseModel)]
        mappings = [m for m in unwrapped if _is(get_origin(m), _MAPPINGS)]
        if len(models) + len(mappings) == 1:
            return (models or mappings)[0]
        keys = set(value)
        return next((m for m in models if keys <= {*m.model_fields, *document_names(m).values()}), None)
    if isinstance(value, list):
        sequences = [m for m in unwrapped if _is(get_origin(m), _SEQUENCES)]
        return sequences[0] if len(sequences) == 1 else None
    return None
