"""Checking values against the caller's JSON Schema with jsonschema-rs (drafts 4 to 2020-12, chosen
by ``$schema``), ``format`` checked.

A :class:`Checker` holds one prepared document (:mod:`headwater.sim.schema_doc`) in a registry, and
compiles the document, its parts and the schemas the generator derives from them against it; a
compilation is checked against the draft's meta-schema, so a malformed schema is a
:class:`~headwater.sim.schema_core.SchemaError` before any value is made. Nothing is fetched
(``offline``), and every compilation and validation is paid for first
(:mod:`headwater.sim.schema_cost`). ``pattern`` uses Rust's ``regex`` engine, which never backtracks:
no pattern can stall it, and what it cannot run in linear time (lookarounds, backreferences) is not a
valid pattern here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs

from headwater.sim.schema_core import ANNOTATIONS, ROOT, Budget, Schema, SchemaError
from headwater.sim.schema_cost import Cost

#: The most memory a compiled ``pattern`` (and its lazy DFA) may take.
PATTERN_BYTES = 1 << 20
_REGEX = jsonschema_rs.RegexOptions(size_limit=PATTERN_BYTES, dfa_size_limit=PATTERN_BYTES)
_UNREADABLE = (ValueError, OverflowError, jsonschema_rs.ReferencingError)


class Checker:
    """Validators for one schema document, compiled once each."""

    __slots__ = ("_cost", "_kind", "_matchers", "_registry", "_validators")

    def __init__(self, root: Schema, budget: Budget) -> None:
        self._cost = Cost(root, budget)
        self._validators: dict[object, tuple[Schema, jsonschema_rs.Validator]] = {}
        self._matchers: dict[tuple[tuple[str, str, Any], ...], Callable[[Any], bool]] = {}
        try:
            self._kind = jsonschema_rs.validator_cls_for(root)
            self._registry = jsonschema_rs.Registry([(ROOT, root)])
        except _UNREADABLE as error:
            raise SchemaError(_problem(error)) from None
        self._compile(root)

    def check(self, schema: Schema, value: Any) -> str | None:
        """Why ``value`` does not satisfy ``schema`` (a part of the document, or made of parts), or
        None when it does."""
        if schema is True or (isinstance(schema, dict) and ANNOTATIONS.issuperset(schema)):
            return None  # nothing to check (the parts the generator splits off are often so)
        validator = self._compile(schema)
        self._cost.validate(schema, value)
        try:
            if validator.is_valid(value):
                return None
            validator.validate(value)
        except jsonschema_rs.ValidationError as error:
            where = "/" + "/".join(str(part) for part in error.instance_path)
            return f"{where}: {_clean(error.message)}"
        except _UNREADABLE as error:
            raise SchemaError(_problem(error)) from None
        return "the value is not valid"

    def matcher(self, keywords: dict[str, Any]) -> Callable[[Any], bool]:
        """A test of whether a string or a number satisfies ``keywords`` (no applicators, no
        references: the bounds of a number, a string's length, ``pattern`` and ``format``)."""
        if not keywords:
            return _anything
        key = _key(keywords)
        try:
            found = self._matchers.get(key)
        except TypeError:  # an unhashable value: the compilation below reports it
            key, found = (), None
        if found is not None:
            return found
        self._cost.compile(keywords)
        try:
            validator = self._kind(keywords, validate_formats=True, pattern_options=_REGEX, offline=True)
        except jsonschema_rs.ValidationError as error:
            raise SchemaError(_invalid(error)) from None
        except _UNREADABLE as error:
            raise SchemaError(_problem(error)) from None

        def accepts(value: Any) -> bool:
            try:
                return validator.is_valid(value)
            except _UNREADABLE:
                return False

        if key:
            self._matchers[key] = accepts
        return accepts

    def _compile(self, schema: Schema) -> jsonschema_rs.Validator:
        key: int | tuple[tuple[str, str, Any], ...] = id(schema)
        if isinstance(schema, dict) and not any(isinstance(v, dict | list) for v in schema.values()):
            key = _key(schema)  # a leaf: the same for every property that has it
        found = self._validators.get(key)
        if found is not None:
            return found[1]
        self._cost.compile(schema)
        try:
            validator = self._kind(
                schema,
                registry=self._registry,
                validate_formats=True,
                pattern_options=_REGEX,
                offline=True,
            )
        except jsonschema_rs.ValidationError as error:
            raise SchemaError(_invalid(error)) from None
        except _UNREADABLE as error:
            raise SchemaError(_problem(error)) from None
        self._validators[key] = (schema, validator)  # kept: the id stays this schema's
        return validator


def _key(schema: dict[str, Any]) -> tuple[tuple[str, str, Any], ...]:
    """A flat schema as a key (with the types of its values: ``true`` is not ``1``)."""
    return tuple(sorted((key, type(value).__name__, value) for key, value in schema.items()))


def _anything(value: Any) -> bool:
    return True


def _clean(message: str) -> str:
    """A message of the validator, without the document's internal base URI."""
    return message.replace(ROOT, "").splitlines()[0] if message else "invalid"


def _invalid(error: jsonschema_rs.ValidationError) -> str:
    """What is wrong with a schema, from the validator's check against the meta-schema."""
    path = [str(part) for part in error.instance_path]
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format) and kind.format == "regex":
        return (
            f"pattern {str(error.instance)[:100]!r} is not supported: patterns are ECMA-262 regular "
            f"expressions without lookarounds or backreferences, compiled within {PATTERN_BYTES >> 20} MiB"
        )
    where = f" (at /{'/'.join(path)})" if path else ""
    return f"{_clean(error.message)}{where}"


def _problem(error: Exception) -> str:
    if isinstance(error, ValueError) and "recursion limit" in str(error).lower():
        return "the schema, or a value in it, nests too deeply"
    return _clean(str(error)) or type(error).__name__
