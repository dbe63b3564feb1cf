"""headwater diff -f PATH: what differs between the documents and the live system, like ``kubectl diff``.

The server judges, with the documents, exactly as ``apply --prune --dry-run`` would (one rolled-back
transaction: references are checked, nothing changes); each resource it would create, update, adopt
(made by hand: apply would mark it managed) or prune is shown as a unified diff of its YAML, live
(``live/KIND/NAME``) against the documents' (``file/KIND/NAME``), both in apply's canonical form.
Exit status: 0 when apply would change nothing, 1 when something differs, 2 on an error (bad
documents, an unreadable PATH, a refusal). Passwords in deployment URLs are never printed.
"""

from __future__ import annotations

import difflib
import sys
from typing import Any

import typer

from headwater.cli.apply import FileOption, send
from headwater.cli.client import AdminClient, CliError
from headwater.cli.export import document, live, to_yaml
from headwater.cli.output import errors
from headwater.cli.sources import Loaded, load, validate
from headwater.resources.documents import SPECS, parse

DIFFERS = 1
ERROR = 2


def _wanted(loaded: Loaded) -> dict[tuple[str, str], dict[str, Any]]:
    resources = parse(loaded.documents).resources
    return {(r.kind, r.name): document(r.kind, r.name, r.spec) for r in resources}


def _text(doc: dict[str, Any] | None) -> list[str]:
    return to_yaml([doc]).splitlines(keepends=True) if doc is not None else []


def render(item: dict[str, Any], before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One resource's difference: a header, then the unified diff of its YAML."""
    label = f"{item['kind']}/{item['name']}"
    notes = {
        "created": "not live: apply creates it",
        "updated": "apply updates it",
        "adopted": "made by hand, same spec: apply marks it managed (then --prune may delete it)",
        "deleted": "managed by apply, in no document: apply --prune deletes it",
    }
    lines = [f"# {label}: {notes.get(item['action'], item['action'])}\n"]
    lines += difflib.unified_diff(_text(before), _text(after), f"live/{label}", f"file/{label}")
    return "".join(lines)


def _diff(file: str) -> int:
    loaded = load(file)
    validate(loaded)
    result = send(loaded, dry_run=True, prune=True)
    differing = [item for item in result["results"] if item["action"] != "unchanged"]
    if not differing:
        return 0
    with AdminClient() as client:
        current = live(client, list(SPECS))
    wanted = _wanted(loaded)
    for item in differing:
        key = (item["kind"], item["name"])
        sys.stdout.write(
            render(item, current.get(key), wanted.get(key) if item["action"] != "deleted" else None)
        )
    sys.stdout.flush()
    errors.print(f"{len(differing)} of the resources differ", markup=False)
    return DIFFERS


def diff_command(file: FileOption) -> None:
    """Show what differs between PATH and the live system; exit 0 if equal, 1 if not, 2 on error."""
    try:
        status = _diff(file)
    except CliError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(ERROR) from None
    raise typer.Exit(status)
