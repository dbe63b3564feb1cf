"""Chargeback reports: usage per (dimension values, currency) for a period, as JSON or CSV.

Costs are exact (the sum of the stored costs, never rounded) and never summed across currencies.
The totals count each call once, whatever its groups: with ``by=group`` the rows may add up to more.
CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage
return first) get a leading ``'``, so that they are shown as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any, Final

from headwater.usage.query import Query, Tally
from headwater.usage.query_schemas import Report, ReportRow, ReportTotal
from headwater.usage.rollup import cost_of

#: What a report may be grouped by (one or two levels).
REPORT_DIMENSIONS: Final = (
    "costCenter",
    "group",
    "user",
    "serviceAccount",
    "key",
    "model",
    "policy",
    "provider",
    "deployment",
)
DEFAULT_BY: Final = "costCenter"
MEASURE_COLUMNS: Final = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "currency",
)
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def report(query: Query, tally: Tally, period: str | None) -> Report:
    rows = []
    for values, per_currency in sorted(tally.grouped().items()):
        dims = dict(zip(query.by, values, strict=True))
        for currency in sorted(per_currency):
            measures = per_currency[currency]
            rows.append(
                ReportRow.model_validate(
                    {
                        **dims,
                        "requests": measures.requests,
                        "prompt_tokens": measures.prompt_tokens,
                        "completion_tokens": measures.completion_tokens,
                        "total_tokens": measures.prompt_tokens + measures.completion_tokens,
                        "cost": cost_of(measures.cost_units),
                        "currency": currency,
                    }
                )
            )
    totals = tally.total()
    return Report(
        period=period,
        from_=query.start,
        to=query.end,
        by=list(query.by),
        rows=rows,
        totals=[
            ReportTotal(
                currency=currency,
                requests=totals[currency].requests,
                prompt_tokens=totals[currency].prompt_tokens,
                completion_tokens=totals[currency].completion_tokens,
                cost=cost_of(totals[currency].cost_units),
            )
            for currency in sorted(totals)
        ],
    )


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a would-be formula gets a leading ``'``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(by: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """The rows (``ReportRow`` as JSON values) as CSV: a header, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = [*by, *MEASURE_COLUMNS]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(str(row[name])) for name in columns])
    return buffer.getvalue()


def filename(period: str | None, query: Query) -> str:
    """``usage-2026-11-costCenter.csv``: only characters every file system and header takes."""
    when = period or f"{query.start:%Y%m%dT%H%M%SZ}-{query.end:%Y%m%dT%H%M%SZ}"
    name = f"usage-{when}-{'-'.join(query.by)}.csv"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
