"""headwater doctor [--json] [--timeout S] [--config FILE]

Checks the install this host runs (its settings, database, Redis, OIDC issuer, usage journal,
stored credentials and every deployment) and prints what is wrong and how to fix it
(:mod:`headwater.doctor`). Exit status 0 when no check is an error, 1 otherwise. A settings error is
a row of the report, not a traceback.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from headwater.cli.output import console, print_json
from headwater.cli.server import ConfigOption

_STYLES = {"ok": "green", "warning": "yellow", "error": "bold red"}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=60, help="Seconds each check may take.")
    ] = 5.0,
    config: ConfigOption = None,
) -> None:
    """Check settings, database, Redis, OIDC, credentials and deployments; say how to fix what is wrong."""
    from headwater.doctor.report import Check, failed
    from headwater.doctor.run import diagnose, load

    loaded = load(config)
    checks = [loaded] if isinstance(loaded, Check) else asyncio.run(diagnose(loaded, timeout))
    if as_json:
        print_json({"ok": not failed(checks), "checks": [check.as_json() for check in checks]})
    else:
        # imported here: Rich is ~1.8 MB resident in `headwater serve` otherwise (cli.output)
        from rich.table import Table
        from rich.text import Text

        grid = Table(header_style="bold")
        for header in ("Check", "Status", "Detail", "Fix"):
            grid.add_column(header)
        for check in checks:
            grid.add_row(
                Text(check.check),
                Text(check.status, style=_STYLES[check.status]),
                Text(check.detail),
                Text(check.fix or "-"),
            )
        console.print(grid)
    if failed(checks):
        raise typer.Exit(1)
