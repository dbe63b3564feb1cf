"""headwater apply -f FILE [--dry-run]

The documents are checked here first (every error at once, before anything is sent); the server
parses them again and answers with the deprecations found (snake_case fields), which are printed
once, to standard error, one line each.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console, errors, print_json
from headwater.resources.documents import parse


def read_documents(source: str) -> list[Any]:
    """Every non-empty YAML document of a file ('-' for standard input)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{source}: {exc.strerror or exc}") from None
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise CliError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from None


def validate(source: str, documents: list[Any]) -> None:
    problems = parse(documents).errors
    if problems:
        lines = []
        for problem in problems:
            what = f"document {problem.index + 1}" + (f" ({problem.label})" if problem.label else "")
            where = f": {problem.path()}" if problem.loc else ""
            lines.append(f"{source}: {what}{where}: {problem.message}")
        raise CliError("\n".join(lines))


def apply_command(
    file: Annotated[
        str, typer.Option("--filename", "-f", help="YAML file with resource documents, or - for stdin.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make the server's configuration match the documents in FILE (idempotent)."""
    documents = read_documents(file)
    if not documents:
        raise CliError(f"{file}: no documents")
    validate(file, documents)
    with AdminClient() as client:
        try:
            result = client.post("/apply", {"documents": documents, "dry_run": dry_run})
        except CliError as exc:
            raise CliError(f"{file}: {exc}") from None
    for warning in result.get("warnings", []):
        errors.print(f"warning: {file}: {warning['message']}", markup=False, soft_wrap=True)
    if as_json:
        print_json(result)
        return
    verb = "would be " if dry_run else ""
    counts: dict[str, int] = {}
    for item in result["results"]:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
        console.print(f"{item['kind'].lower()}/{item['name']} {verb}{item['action']}")
        if item["action"] != "unchanged":
            for line in item["diff"]:
                console.print(f"    {line}", markup=False)
    if not result["changed"]:
        console.print("no changes: the server already matches the documents")
    else:
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        console.print(("dry run, nothing changed: " if dry_run else "") + summary)
