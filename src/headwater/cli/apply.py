"""headwater apply -f PATH [--prune] [--dry-run]

PATH is a file, ``-`` (standard input) or a directory (every ``*.yaml`` / ``*.yml`` under it: see
:mod:`headwater.cli.sources`). The documents are checked here first (every error at once, naming
file, document and field, before anything is sent); the server parses them again and answers with
the deprecations found (snake_case fields), printed once, to standard error, one line each.

``--prune`` also deletes what apply manages and no document names (never what was made by hand,
never keys); with ``--dry-run`` it shows what would be deleted. An empty or unreadable PATH is an
error before anything is sent, so a prune can never run against nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console, errors, print_json
from headwater.cli.sources import Loaded, load, validate, warning_line

FileOption = Annotated[
    str,
    typer.Option(
        "--filename", "-f", help="YAML file, directory of *.yaml/*.yml files (recursive), or - for stdin."
    ),
]


def send(loaded: Loaded, *, dry_run: bool, prune: bool) -> dict[str, Any]:
    """``POST /apply`` with the documents; a refusal names the file and document."""
    body = {"documents": loaded.documents, "dry_run": dry_run, "prune": prune}
    with AdminClient() as client:
        try:
            result: dict[str, Any] = client.post("/apply", body)
        except CliError as exc:
            raise CliError(loaded.located(str(exc))) from None
    for warning in result.get("warnings", []):
        errors.print(f"warning: {warning_line(loaded, warning)}", markup=False, soft_wrap=True)
    return result


def apply_command(
    file: FileOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also delete the resources apply manages that no document names "
            "(never those made by hand, never keys).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make the server's configuration match the documents in PATH (idempotent)."""
    loaded = load(file)
    validate(loaded)
    result = send(loaded, dry_run=dry_run, prune=prune)
    if as_json:
        print_json(result)
        return
    verb = "would be " if dry_run else ""
    counts: dict[str, int] = {}
    for item in result["results"]:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
        console.print(f"{item['kind'].lower()}/{item['name']} {verb}{item['action']}", markup=False)
        if item["action"] != "unchanged":
            for line in item["diff"]:
                console.print(f"    {line}", markup=False)
    if not result["changed"]:
        console.print("no changes: the server already matches the documents")
    else:
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        console.print(("dry run, nothing changed: " if dry_run else "") + summary)
