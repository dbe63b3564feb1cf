"""Parsing and validating resource documents (the resources the admin API edits, in camelCase).

apiVersion: headwater/v1
kind: Model | User | Group | ServiceAccount | Policy
metadata: {name: NAME}
spec: {...}

Spec fields are spelled camelCase (``costCenter``, ``baseUrl``: see :mod:`.spelling`); the
snake_case spelling of the admin API's JSON is accepted with a deprecation warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import AnyUrl, BaseModel, ConfigDict, TypeAdapter, ValidationError

from headwater.catalog.schemas import ModelSpec
from headwater.directory.schemas import GroupSpec, ServiceAccountSpec, UserSpec
from headwater.names import ModelName, Name
from headwater.policies.schemas import PolicySpec
from headwater.resources.spelling import Loc, Spelling, camel, translate

API_VERSION = "headwater/v1"
SPECS: dict[str, type[BaseModel]] = {
    "Group": GroupSpec,
    "User": UserSpec,
    "ServiceAccount": ServiceAccountSpec,
    "Model": ModelSpec,
    "Policy": PolicySpec,
}
#: Apply order: what others refer to comes first.
ORDER = {kind: position for position, kind in enumerate(SPECS)}
#: What ``metadata.name`` may be: models may also be named as people know them (``org/model``, ``model:tag``).
_NAMES: dict[str, TypeAdapter[str]] = {"Model": TypeAdapter(ModelName)}
_NAME: TypeAdapter[str] = TypeAdapter(Name)


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str  # checked by kind: see _NAMES


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apiVersion: str
    kind: str
    metadata: _Metadata
    spec: dict[str, Any] | None = None


@dataclass(frozen=True)
class Resource:
    index: int  # position among the non-empty documents given
    kind: str
    name: str
    spec: BaseModel
    spelling: Spelling  # how the document spelled its fields (to name them as written in errors)

    def label(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class DocumentError:
    index: int
    label: str  # "Model/granite" or "" when the envelope itself is broken
    loc: tuple[str | int, ...]
    message: str

    def path(self) -> str:
        return ".".join(str(part) for part in self.loc)


@dataclass(frozen=True)
class DocumentWarning:
    index: int
    label: str
    loc: tuple[str | int, ...]  # as written: ("spec", "deployments", 0, "base_url")
    message: str  # "document 4 (Model/granite): spec.deployments.0.base_url is deprecated; use baseUrl"


@dataclass(frozen=True)
class Parsed:
    resources: list[Resource]  # in apply order
    errors: list[DocumentError]
    warnings: list[DocumentWarning]  # in document order


def _errors(
    index: int, label: str, prefix: Loc, exc: ValidationError, spelling: Spelling
) -> list[DocumentError]:
    found = []
    for error in exc.errors(include_url=False):
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        found.append(DocumentError(index, label, (*prefix, *spelling.loc(tuple(error["loc"]))), message))
    return found


def _path(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _name_errors(index: int, kind: str, name: str) -> list[DocumentError]:
    try:
        _NAMES.get(kind, _NAME).validate_python(name)
    except ValidationError as exc:
        return _errors(index, "", ("metadata", "name"), exc, Spelling())
    return []


def parse(documents: list[Any]) -> Parsed:
    """Validate every document; the resources, or every error found, and the deprecations."""
    resources: list[Resource] = []
    errors: list[DocumentError] = []
    warnings: list[DocumentWarning] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(documents):
        if not isinstance(raw, dict):
            errors.append(DocumentError(index, "", (), "a document must be a mapping"))
            continue
        try:
            envelope = _Envelope.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_errors(index, "", (), exc, Spelling()))
            continue
        kind, name = envelope.kind, envelope.metadata.name
        if bad_name := _name_errors(index, kind, name):
            errors.extend(bad_name)
            continue
        label = f"{kind}/{name}"
        if envelope.apiVersion != API_VERSION:
            errors.append(DocumentError(index, label, ("apiVersion",), f"must be {API_VERSION}"))
            continue
        spec_type = SPECS.get(kind)
        if spec_type is None:
            known = ", ".join(SPECS)
            errors.append(DocumentError(index, label, ("kind",), f"unknown kind (known: {known})"))
            continue
        fields, spelling = translate(envelope.spec or {}, spec_type)
        if spelling.conflicts:
            errors.extend(DocumentError(index, label, ("spec", *loc), why) for loc, why in spelling.conflicts)
            continue
        try:
            spec = spec_type.model_validate(fields)
        except ValidationError as exc:
            errors.extend(_errors(index, label, ("spec",), exc, spelling))
            continue
        if (kind, name) in seen:
            message = f"duplicate of document {seen[(kind, name)] + 1}"
            errors.append(DocumentError(index, label, ("metadata", "name"), message))
            continue
        seen[(kind, name)] = index
        resources.append(Resource(index, kind, name, spec, spelling))
        for loc, use in spelling.deprecated:
            where = ("spec", *loc)
            message = f"document {index + 1} ({label}): {_path(where)} is deprecated; use {use}"
            warnings.append(DocumentWarning(index, label, where, message))
    resources.sort(key=lambda resource: (ORDER[resource.kind], resource.index))
    return Parsed(resources, errors, warnings)


def canonical(value: Any) -> Any:
    """A comparable, printable form of a spec, spelled as documents spell it (camelCase fields; the
    keys of dict-typed fields are data and kept): decimals normalised, URLs without trailing slash."""
    if isinstance(value, BaseModel):
        return {camel(key): canonical(item) for key, item in value}
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, AnyUrl):
        return str(value).rstrip("/")
    return value
