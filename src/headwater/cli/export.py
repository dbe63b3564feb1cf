"""headwater export [--kind K]: the live configuration as ``headwater/v1`` documents apply accepts.

Read through the admin API's lists (an admin or auditor token: others do not see deployments), each
resource in apply's canonical form (camelCase fields, normalised decimals and URLs, fields left
unset omitted), in a stable order: kinds in apply's order, names sorted. Nothing the server manages
(times, sign-in subjects, the managed marker) and never a secret: credentials are named, never
read; a password in a deployment's URL is replaced (with a warning); keys are not resources.
``export`` then ``apply`` changes nothing, and ``export | headwater diff -f -`` exits 0, once apply
manages what was made by hand (its first apply adopts it).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
import yaml

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import errors
from headwater.resources.documents import API_VERSION, ORDER, SPECS, canonical

#: Where each kind is listed in the admin API.
PATHS = {
    "Group": "/groups",
    "User": "/users",
    "ServiceAccount": "/service-accounts",
    "Model": "/models",
    "Policy": "/policies",
}
REDACTED = "REDACTED"


def kind_named(text: str) -> str:
    """``model``, ``models`` or ``Model``: the kind's name; anything else an error listing them."""
    wanted = text.lower().removesuffix("s")
    for kind in SPECS:
        if kind.lower() == wanted:
            return kind
    raise CliError(f"--kind {text}: unknown kind (known: {', '.join(SPECS)})")


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _redacted(label: str, spec: dict[str, Any], *, warn: bool) -> dict[str, Any]:
    """``spec`` with the password of any deployment URL replaced (a credential: store it instead)."""
    for index, deployment in enumerate(spec.get("deployments") or []):
        url = deployment.get("baseUrl")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.password is None:
            continue
        host = parts.netloc.rsplit("@", 1)[1]
        deployment["baseUrl"] = urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))
        if warn:
            errors.print(
                f"warning: {label}: spec.deployments.{index}.baseUrl holds a password: written as "
                f"{REDACTED} (store it as a credential instead)",
                markup=False,
                soft_wrap=True,
            )
    return spec


def document(kind: str, name: str, spec: Any, *, warn: bool = False) -> dict[str, Any]:
    """A resource document in apply's canonical form; ``spec`` a spec model."""
    body = _redacted(f"{kind}/{name}", _without_none(canonical(spec)), warn=warn)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": body}


def to_yaml(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(
        yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
        for doc in documents
    )


def live(
    client: AdminClient, kinds: list[str], *, warn: bool = False
) -> dict[tuple[str, str], dict[str, Any]]:
    """The live resources of ``kinds`` as documents, by (kind, name), in export order."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for kind in kinds:
        spec_type = SPECS[kind]
        for item in client.get(PATHS[kind])["items"]:
            if kind == "Model" and not item.get("deployments"):
                raise CliError(
                    "export needs an admin or auditor token: models' deployments are hidden from you"
                )
            spec = spec_type.model_validate(
                {key: value for key, value in item.items() if key in spec_type.model_fields}
            )
            found.append((kind, item["name"], document(kind, item["name"], spec, warn=warn)))
    found.sort(key=lambda entry: (ORDER[entry[0]], entry[1]))
    return {(kind, name): doc for kind, name, doc in found}


def export_command(
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only this kind: Model, User, Group, ServiceAccount or Policy."),
    ] = None,
) -> None:
    """Print the live configuration as headwater/v1 YAML documents that apply accepts."""
    kinds = [kind_named(kind)] if kind is not None else list(SPECS)
    with AdminClient() as client:
        documents = list(live(client, kinds, warn=True).values())
    sys.stdout.write(to_yaml(documents))
    sys.stdout.flush()
