"""Printing: Rich tables for people, JSON for machines."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import orjson

if TYPE_CHECKING:
    from rich.console import Console


class _Deferred:
    """A Rich ``Console`` made (and Rich imported) at its first use: `headwater serve` imports every
    command's module and may never print, and Rich is ~1.8 MB resident in it otherwise."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


# Piped output is not cut to 80 columns: scripts and pagers get whole rows.
console = cast("Console", _Deferred(highlight=False, width=None if sys.stdout.isatty() else 200))
errors = cast("Console", _Deferred(stderr=True, highlight=False))


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def print_json_line(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")
    sys.stdout.flush()


_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):\d{2}(\.\d+)?(Z|[+-]00:00)$")


def cell(value: Any) -> str:
    if isinstance(value, str) and (match := _TIMESTAMP.match(value)):
        return f"{match.group(1)} {match.group(2)}Z"
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], title: str | None = None
) -> None:
    from rich.table import Table  # imported here: see _Deferred

    grid = Table(title=title, show_lines=False, header_style="bold")
    for _, header in columns:
        grid.add_column(header)
    for row in rows:
        grid.add_row(*(cell(row.get(field)) for field, _ in columns))
    console.print(grid)


def details(row: dict[str, Any], fields: Sequence[tuple[str, str]]) -> None:
    from rich.table import Table  # imported here: see _Deferred

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for field, label in fields:
        grid.add_row(label, cell(row.get(field)))
    console.print(grid)
