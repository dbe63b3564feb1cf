"""headwater db copy

Works on the databases directly (the source is the configured ``HEADWATER_DATABASE_URL``), not through
a running server; the storage code is imported inside the command so that other commands start fast.
Exit status: 0 copied and verified, 1 refused or failed (nothing copied), 2 copied but a check differs.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.client import CliError
from headwater.cli.output import console, table
from headwater.cli.server import ConfigOption, _settings

if TYPE_CHECKING:
    from headwater.storage.sql.copy import Report

app = typer.Typer(help="Work on the database itself: move an install to PostgreSQL.", no_args_is_help=True)

MISMATCH = 2


def _print(report: Report, source: str, target: str) -> None:
    console.print(f"copied {source} -> {target} (migration {report.revision})")
    rows = [{"what": c.what, "source": c.source, "target": c.target, "ok": c.ok} for c in report.tables]
    table(rows, [("what", "Table"), ("source", "Source rows"), ("target", "Target rows"), ("ok", "Equal")])
    usage = [{"what": c.what, "source": c.source, "target": c.target, "ok": c.ok} for c in report.usage]
    table(usage, [("what", "Usage total"), ("source", "Source"), ("target", "Target"), ("ok", "Equal")])
    if report.audit is not None and report.audit.ok:
        console.print(f"audit chain intact on the target: {report.audit.checked} events")
    if report.credentials:
        console.print(
            f"{report.credentials} stored credentials were copied sealed: the server on the target needs "
            "the same HEADWATER_SECRET_KEY (or HEADWATER_SECRET_KEY_FILE) as this one"
        )


def copy(
    to: Annotated[
        str, typer.Option("--to", help="The target: postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DB.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace what the target holds (its Headwater rows are deleted).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Copy everything in this install's database (keys, usage, audit chain...) to PostgreSQL, then verify.

    Stop the server first. The target is migrated; a target that holds data is refused without --force."""
    from headwater.storage.sql.copy import CopyError, copy_database, shown

    settings = _settings(config)
    source = settings.resolved_database_url
    try:
        report = asyncio.run(copy_database(source, to, force=force))
    except CopyError as exc:
        raise CliError(str(exc)) from None
    _print(report, shown(source), shown(to))
    if report.problems:
        console.print("[bold red]the copy does not match the source:[/bold red]")
        for problem in report.problems:
            console.print(f"  {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(MISMATCH)
    console.print("copied and verified: point HEADWATER_DATABASE_URL at the target and start the server")


app.command("copy")(copy)
