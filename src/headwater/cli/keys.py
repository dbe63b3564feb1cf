"""headwater keys create | list | show | disable | enable | rotate | revoke"""

from __future__ import annotations

from typing import Annotated

import typer

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console, details, print_json, table

app = typer.Typer(
    help="Create, list, show, disable, enable, rotate and revoke API keys.", no_args_is_help=True
)

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


@app.command("disable")
def disable(key_id: str, as_json: JsonFlag = False) -> None:
    """Disable a key until it is enabled again (every gateway refuses it within a second)."""
    _change_status(key_id, "disable", as_json)


@app.command("enable")
def enable(key_id: str, as_json: JsonFlag = False) -> None:
    """Enable a disabled key."""
    _change_status(key_id, "enable", as_json)


def _change_status(key_id: str, verb: str, as_json: bool) -> None:
    with AdminClient() as client:
        key = client.post(f"/keys/{key_id}/{verb}")
    if as_json:
        print_json(key)
    else:
        console.print(f"{key['id']} ({key['name']}) is {key['status']}")


@app.command("rotate")
def rotate(
    key_id: str,
    grace: Annotated[
        str | None,
        typer.Option("--grace", help="How long the old secret keeps working, e.g. 10m, 24h (default: none)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Give a key a new secret, printed once. The old secret stops at once, or after --grace."""
    with AdminClient() as client:
        key = client.post(f"/keys/{key_id}/rotate", {"grace": grace})
    if as_json:
        print_json(key)
        return
    details(key, [("key", "Key"), *KEY_FIELDS])
    until = f"keeps working for {grace}" if grace else "no longer works"
    console.print(f"[yellow]Store the new key now: it is shown once. The old secret {until}.[/yellow]")


@app.command("revoke")
def revoke(
    key_id: Annotated[str | None, typer.Argument(help="The key to revoke.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Revoke every key this user owns.")] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", help="Revoke every key of this group and its service accounts."),
    ] = None,
    service_account: Annotated[
        str | None, typer.Option("--service-account", help="Revoke every key of this service account.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be revoked; change nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key, or every key of a user, group or service account: refused everywhere within a second."""
    selectors = {"user": user, "group": group, "service_account": service_account}
    chosen = {name: value for name, value in selectors.items() if value is not None}
    if (key_id is None) == (not chosen) or len(chosen) > 1:
        raise CliError("give a key id, or exactly one of --user, --group or --service-account")
    if key_id is not None:
        if dry_run:
            raise CliError("--dry-run goes with --user, --group or --service-account")
        with AdminClient() as client:
            key = client.post(f"/keys/{key_id}/revoke")
        if as_json:
            print_json(key)
        else:
            console.print(f"revoked {key['id']} ({key['name']})")
        return
    with AdminClient() as client:
        result = client.post("/keys/revoke", {**chosen, "dry_run": dry_run})
    if as_json:
        print_json(result)
        return
    table(result["keys"], [f for f in KEY_FIELDS if f[0] in ("id", "name", "owner", "status", "expires_at")])
    verb = "would revoke" if result["dry_run"] else "revoked"
    console.print(f"{verb} {result['count']} key(s)")
