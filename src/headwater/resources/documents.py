"""Parsing and validating resource documents (the same shape the admin API edits).

apiVersion: headwater/v1
kind: Model | User | Group | ServiceAccount
metadata: {name: NAME}
spec: {...}
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import AnyUrl, BaseModel, ConfigDict, ValidationError

from headwater.catalog.schemas import ModelSpec
from headwater.directory.schemas import GroupSpec, ServiceAccountSpec, UserSpec
from headwater.names import Name
from headwater.policies.schemas import PolicySpec

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


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


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


def _errors(
    index: int, label: str, prefix: tuple[str | int, ...], exc: ValidationError
) -> list[DocumentError]:
    found = []
    for error in exc.errors(include_url=False):
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        found.append(DocumentError(index, label, (*prefix, *error["loc"]), message))
    return found


def parse(documents: list[Any]) -> tuple[list[Resource], list[DocumentError]]:
    """Validate every document; return the resources, or every error found."""
    resources: list[Resource] = []
    errors: list[DocumentError] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(documents):
        if not isinstance(raw, dict):
            errors.append(DocumentError(index, "", (), "a document must be a mapping"))
            continue
        try:
            envelope = _Envelope.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_errors(index, "", (), exc))
            continue
        label = f"{envelope.kind}/{envelope.metadata.name}"
        if envelope.apiVersion != API_VERSION:
            errors.append(DocumentError(index, label, ("apiVersion",), f"must be {API_VERSION}"))
            continue
        spec_type = SPECS.get(envelope.kind)
        if spec_type is None:
            known = ", ".join(SPECS)
            errors.append(DocumentError(index, label, ("kind",), f"unknown kind (known: {known})"))
            continue
        try:
            spec = spec_type.model_validate(envelope.spec or {})
        except ValidationError as exc:
            errors.extend(_errors(index, label, ("spec",), exc))
            continue
        identity = (envelope.kind, envelope.metadata.name)
        if identity in seen:
            message = f"duplicate of document {seen[identity] + 1}"
            errors.append(DocumentError(index, label, ("metadata", "name"), message))
            continue
        seen[identity] = index
        resources.append(Resource(index, envelope.kind, envelope.metadata.name, spec))
    resources.sort(key=lambda resource: (ORDER[resource.kind], resource.index))
    return resources, errors


def canonical(value: Any) -> Any:
    """A comparable, printable form of a spec: decimals normalised, URLs without trailing slash."""
    if isinstance(value, BaseModel):
        return {key: canonical(item) for key, item in value}
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, AnyUrl):
        return str(value).rstrip("/")
    return value
