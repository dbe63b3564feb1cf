"""headwater keys create | list | show | revoke"""

from __future__ import annotations

from typing import Annotated

import typer

from headwater.cli.client import AdminClient
from headwater.cli.output import console, details, print_json, table

app = typer.Typer(help="Create, list, show and revoke API keys.", no_args_is_help=True)

KEY_FIELDS = [
    ("id", "ID"),
    ("prefix", "Prefix"),
    ("name", "Name"),
    ("owner", "Owner"),
    ("models", "Models"),
    ("status", "Status"),
    ("expires_at", "Expires"),
    ("last_used_at", "Last used"),
    ("created_by", "Created by"),
    ("created_at", "Created"),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A name to recognise the key by.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Limit the key to this model (repeatable).")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="user:NAME, group:NAME or serviceaccount:NAME")
    ] = None,
    expires_in: Annotated[str | None, typer.Option("--expires-in", help="e.g. 30d, 12h, 2w")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a key. Its secret is printed once and cannot be shown again."""
    body = {
        "name": name,
        "description": description,
        "owner": owner,
        "models": model or None,
        "expires_in": expires_in,
    }
    with AdminClient() as client:
        created = client.post("/keys", body)
    if as_json:
        print_json(created)
        return
    details(created, [("key", "Key"), *KEY_FIELDS])
    console.print("[yellow]Store the key now: it is shown once and cannot be retrieved later.[/yellow]")


@app.command("list")
def list_keys(
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="active, disabled, expired or revoked")
    ] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List keys, newest first."""
    with AdminClient() as client:
        page = client.get("/keys", owner=owner, status=status, model=model, limit=limit)
    if as_json:
        print_json(page)
        return
    table(page["items"], [f for f in KEY_FIELDS if f[0] not in ("prefix", "created_by")])
    if page.get("next"):
        console.print(f"more keys: raise --limit (showing {limit})")


@app.command("show")
def show(key_id: str, as_json: JsonFlag = False) -> None:
    """Show one key."""
    with AdminClient() as client:
        key = client.get(f"/keys/{key_id}")
    if as_json:
        print_json(key)
    else:
        details(key, [*KEY_FIELDS, ("description", "Description"), ("revoked_at", "Revoked")])


@app.command("revoke")
def revoke(key_id: str, as_json: JsonFlag = False) -> None:
    """Revoke a key: every gateway refuses it within a second."""
    with AdminClient() as client:
        key = client.post(f"/keys/{key_id}/revoke")
    if as_json:
        print_json(key)
    else:
        console.print(f"revoked {key['id']} ({key['name']})")
