"""headwater usage tail | summary | timeseries | top | report | rebuild"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from headwater.cli import usage_queries
from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console, print_json_line
from headwater.cli.server import ConfigOption
from headwater.cli.server import _settings as server_settings

app = typer.Typer(help="Usage events, summaries, time series, top lists and reports.", no_args_is_help=True)


def _line(event: dict[str, Any]) -> str:
    ttft = f" ttft={event['ttft_ms']:.0f}ms" if event.get("ttft_ms") is not None else ""
    flags = (" stream" if event["streamed"] else "") + (" estimated" if event["estimated"] else "")
    return (
        f"{event['time']}  {event['status']:<9} {event['http_status']}  "
        f"{event['model']}  {event['principal']}  "
        f"key={event['key_id']}  in={event['prompt_tokens']} out={event['completion_tokens']}  "
        f"cost={event['cost']} {event['currency']}  {event['latency_ms']:.0f}ms{ttft}{flags}"
    )


@app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, max=1000, help="Events to show first.")] = 20,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Keep printing new events.")] = True,
    key_id: Annotated[str | None, typer.Option("--key")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.2)] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print the latest usage events, then follow new ones (Ctrl-C stops)."""
    filters = {"key_id": key_id, "model": model, "user": user}

    def show(event: dict[str, Any]) -> None:
        if as_json:
            print_json_line(event)
        else:
            console.print(_line(event), soft_wrap=True)

    with AdminClient() as client:
        latest = client.get("/usage/events", limit=lines, order="desc", **filters)["items"]
        for event in reversed(latest):
            show(event)
        if not follow:
            return
        last_id = latest[0]["id"] if latest else 0
        try:
            while True:
                page = client.get("/usage/events", limit=1000, order="asc", after_id=last_id, **filters)
                for event in page["items"]:
                    show(event)
                    last_id = event["id"]
                if len(page["items"]) < 1000:
                    time.sleep(interval)
        except KeyboardInterrupt:
            return


app.command("summary")(usage_queries.summary)
app.command("timeseries")(usage_queries.timeseries)
app.command("top")(usage_queries.top)
app.command("report")(usage_queries.report)


@app.command("rebuild")
def rebuild(
    since: Annotated[
        str, typer.Option("--from", help="A date (2026-01-01) or ISO time; UTC if no timezone.")
    ],
    config: ConfigOption = None,
) -> None:
    """Recompute the rollups from the stored events, from the month of --from on (on the database)."""
    from headwater.storage.sql import rollups
    from headwater.storage.sql.database import create_engine

    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise CliError(f"--from: not a date or ISO time: {since!r}") from None
    start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    settings = server_settings(config)

    async def run() -> int:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await rollups.rebuild(engine, start)
        finally:
            await engine.dispose()

    try:
        folded = asyncio.run(run())
    except ValueError as exc:
        raise CliError(f"cannot rebuild: {exc}") from None
    except Exception as exc:
        raise CliError(f"rebuild failed: {exc}") from None
    console.print(f"rollups rebuilt from {start:%Y-%m}: {folded} events folded", markup=False)
