"""headwater credentials set | list | show | delete

``set`` takes the value from an environment variable (``--from-env``), a file (``--from-file``) or
standard input, never from the command line (where ``ps`` and shell history would keep it); one
trailing line break is dropped. No command prints a value: the API never answers one.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient, CliError, path_of
from headwater.cli.output import console, details, print_json, table

app = typer.Typer(
    help="Stored upstream credentials (encrypted; values are never shown).", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
COLUMNS = [
    ("name", "Name"),
    ("description", "Description"),
    ("used_by", "Used by"),
    ("updated_at", "Updated"),
]


def _value(from_env: str | None, from_file: Path | None) -> str:
    if from_env is not None and from_file is not None:
        raise CliError("give --from-env or --from-file, not both")
    if from_env is not None:
        value = os.environ.get(from_env)
        if not value:
            raise CliError(f"{from_env} is not set (or empty)")
    elif from_file is not None:
        try:
            value = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {from_file}: {type(exc).__name__}") from None
    else:
        value = getpass.getpass("value (not echoed): ") if sys.stdin.isatty() else sys.stdin.read()
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise CliError("the value is empty")
    return value


@app.command("set")
def set_credential(
    name: str,
    from_env: Annotated[
        str | None, typer.Option("--from-env", metavar="VAR", help="Read the value from this variable.")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", metavar="PATH", help="Read the value from this file.")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create or replace a credential (the value from --from-env, --from-file or standard input)."""
    body = {"value": _value(from_env, from_file), "description": description}
    with AdminClient() as client:
        response = client.send("PUT", path_of("credentials", name), json=body)
    stored = response.json()
    if as_json:
        print_json(stored)
    else:
        verb = "created" if response.status_code == 201 else "replaced"
        console.print(f"{verb} credential {stored['name']}")


@app.command("list")
def list_credentials(as_json: JsonFlag = False) -> None:
    """List stored credentials (names, descriptions, who uses them; never values)."""
    with AdminClient() as client:
        page = client.get("/credentials")
    if as_json:
        print_json(page)
    else:
        table(page["items"], COLUMNS)


@app.command("show")
def show(name: str, as_json: JsonFlag = False) -> None:
    """Show one credential (never its value)."""
    with AdminClient() as client:
        found: dict[str, Any] = client.get(path_of("credentials", name))
    if as_json:
        print_json(found)
    else:
        details(found, [*COLUMNS, ("set", "Set"), ("created_at", "Created")])


@app.command("delete")
def delete(name: str) -> None:
    """Delete a credential no deployment uses."""
    with AdminClient() as client:
        client.request("DELETE", path_of("credentials", name))
    console.print(f"deleted credential {name}")
