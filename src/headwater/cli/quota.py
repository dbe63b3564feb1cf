"""headwater quota [--key ID | --user NAME]: how much is left of every limit and budget."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient, CliError, path_of
from headwater.cli.output import cell, console, print_json, table

COLUMNS = [
    ("description", "Limit"),
    ("used", "Used"),
    ("remaining", "Left"),
    ("limit", "Of"),
    ("window", "Window"),
    ("frees", "Frees up"),
    ("models", "Models"),
    ("callers", "Counts calls of"),
]
NO_SELF = (
    "the admin token is no user and has no quota of its own: give --key ID or --user NAME "
    "(or set HEADWATER_TOKEN to your own access token)"
)


def window(seconds: int) -> str:
    """``3600`` → ``1h``: the largest unit that divides the window."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def frees(resets_at: str | None, checked_at: str) -> str:
    """When ``resets_at`` comes: ``in 59s``, ``in 12m5s``, ``in 3h0m0s`` within a day, else the date."""
    if resets_at is None:
        return "-"
    seconds = (datetime.fromisoformat(resets_at) - datetime.fromisoformat(checked_at)).total_seconds()
    if seconds >= 86400:
        return cell(resets_at)
    hours, rest = divmod(max(math.ceil(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"in {hours}h{minutes}m{secs}s"
    return f"in {minutes}m{secs}s" if minutes else f"in {secs}s"


def row(item: dict[str, Any], checked_at: str) -> dict[str, Any]:
    """An item as a table row: money with its currency, the window or period, when it frees up,
    who counts on it."""
    money = f" {item['currency']}" if item["currency"] else ""
    callers = list(item["keys"]) + (["calls without a key"] if item["token"] else [])
    return {
        **item,
        "used": f"{item['used']}{money}",
        "remaining": f"{item['remaining']}{money}",
        "limit": f"{item['limit']}{money}",
        "window": item["period"] if item["period"] else window(item["window_s"]),
        "frees": frees(item["resets_at"], checked_at),
        "callers": callers,
    }


def fetch(client: AdminClient, key: str | None, user: str | None) -> Any:
    if key is not None:
        return client.get(path_of("keys", key, "quota"))
    if user is None:
        me = client.get("/me")
        if me["via"] == "token":
            raise CliError(NO_SELF)
        user = str(me["name"])
    return client.get(path_of("users", user, "quota"))


def quota(
    key: Annotated[str | None, typer.Option("--key", help="A key's id: that key's quota.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="A user's name: their calls, with and without keys.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show how much is left of every limit, budget and model capacity: of a key, of a user, or
    (neither option) of yourself, read from the counters the gateway enforces."""
    if key is not None and user is not None:
        raise CliError("give --key or --user, not both")
    with AdminClient() as client:
        found = fetch(client, key, user)
    if as_json:
        print_json(found)
        return
    whose = f"key {found['key_id']} ({found['principal']})" if found["key_id"] else found["principal"]
    if found["degraded"]:
        console.print(
            "[yellow]The shared limiter is unreachable: these are the per-process fallback counters "
            "of the process that answered.[/yellow]"
        )
    if not found["items"]:
        console.print(f"No limit applies to {whose}.", markup=False)
        return
    rows = [row(item, found["checked_at"]) for item in found["items"]]
    table(rows, COLUMNS, title=f"Quota of {whose}")
