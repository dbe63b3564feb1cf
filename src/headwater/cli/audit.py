"""headwater audit list | verify"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from headwater.audit.chain import Verifier
from headwater.cli.client import AdminClient, CliError
from headwater.cli.client import _describe as describe
from headwater.cli.output import console, print_json, table

if TYPE_CHECKING:
    import httpx

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)

PAGE = 500
COLUMNS = [
    ("seq", "Seq"),
    ("ts", "Time"),
    ("actor", "Actor"),
    ("action", "Action"),
    ("target", "Target"),
    ("outcome", "Outcome"),
    ("source_ip", "Source IP"),
    ("detail", "Detail"),
]


def _pages(client: AdminClient, **params: Any) -> Iterator[dict[str, Any]]:
    """Every event the filters match, following the cursor."""
    cursor = None
    while True:
        page = client.get("/audit/events", **params, limit=PAGE, cursor=cursor)
        yield from page["items"]
        cursor = page["next"]
        if not cursor:
            return


def _download(client: AdminClient, params: dict[str, Any], out: IO[bytes]) -> None:
    """Stream the CSV export into ``out``."""
    import httpx  # imported here: ~2.5 MB resident in `headwater serve` otherwise (cli.client)

    query = {k: v for k, v in params.items() if v is not None}
    http: httpx.Client = client._http
    try:
        with http.stream("GET", "/api/v1/audit/events.csv", params=query) as response:
            if response.status_code >= 400:
                response.read()
                raise CliError(describe(response))
            for chunk in response.iter_bytes():
                out.write(chunk)
    except httpx.ConnectError:
        raise CliError(f"cannot reach Headwater at {client.url} (set HEADWATER_URL)") from None
    except httpx.HTTPError as exc:
        raise CliError(f"CSV export from {client.url} failed: {exc}") from None


@app.command("list")
def list_events(
    actor: Annotated[str | None, typer.Option("--actor", help="e.g. user:alice")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="An action (key.revoke) or a prefix ending in '.' (key.)")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="The target's id")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="ISO time with a timezone (inclusive)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="ISO time with a timezone (exclusive)")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="success, denied or failure")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    everything: Annotated[bool, typer.Option("--all", help="Every matching event, not one page.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    csv_file: Annotated[
        str | None,
        typer.Option("--csv", help="Write all matching events, oldest first, to FILE (- for stdout)"),
    ] = None,
) -> None:
    """List audit events, newest first."""
    filters = {"actor": actor, "action": action, "target": target, "outcome": outcome}
    filters |= {"from": from_, "to": to}
    with AdminClient() as client:
        if csv_file is not None:
            if csv_file == "-":
                _download(client, filters, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                with Path(csv_file).open("wb") as out:
                    _download(client, filters, out)
                console.print(f"wrote {csv_file}")
            return
        if everything:
            page: dict[str, Any] = {"items": list(_pages(client, **filters)), "next": None}
        else:
            page = client.get("/audit/events", **filters, limit=limit)
    if as_json:
        print_json(page)
        return
    rows = [{**event, "target": f"{event['target_type']}:{event['target_id']}"} for event in page["items"]]
    table(rows, COLUMNS)
    if page.get("next"):
        console.print(f"more events: raise --limit or use --all (showing {limit})")


@app.command("verify")
def verify() -> None:
    """Download the whole chain and verify every hash here, without trusting the server's verdict."""
    verifier = Verifier()
    with AdminClient() as client:
        # The head first: every event up to it is committed; newer ones are left for the next run.
        head = client.get("/audit/head")
        for event in _pages(client, order="asc"):
            if int(event["seq"]) > head["seq"] or not verifier.add(event):
                break
    result = verifier.result((int(head["seq"]), str(head["hash"])))
    if result.ok:
        console.print(f"audit chain intact: {result.checked} events")
        console.print(f"head: seq {head['seq']}, hash {result.last_hash}")
        return
    console.print(f"audit chain broken at event {result.first_broken_seq}: {result.reason}", soft_wrap=True)
    raise typer.Exit(1)
