"""The answers of the summary, time series and top queries, built from a :class:`Tally`."""

from __future__ import annotations

from decimal import Decimal

from headwater.usage.query import (
    PerCurrency,
    Query,
    Tally,
    by_requests,
    combined,
    measured,
    measured_model,
)
from headwater.usage.query_schemas import Point, Series, Summary, SummaryRow, Timeseries, Top, TopItem
from headwater.usage.ranges import bins
from headwater.usage.rollup import cost_of


def summary(query: Query, tally: Tally) -> Summary:
    rows = sorted(tally.grouped().items(), key=by_requests)
    return Summary(
        from_=query.start,
        to=query.end,
        by=list(query.by),
        totals=measured_model(tally.total()),
        rows=[
            SummaryRow.model_validate(
                {**measured(values), "dimensions": dict(zip(query.by, key, strict=True))}
            )
            for key, values in rows
        ],
    )


def timeseries(query: Query, tally: Tally) -> Timeseries:
    assert query.step is not None
    times = bins(query.start, query.end, query.step)
    grouped = sorted(tally.grouped().items(), key=by_requests)
    keys = [key for key, _ in grouped] if query.by else [()]
    series = []
    for key in keys:
        points = [
            Point.model_validate({**measured(tally.rows.get((time, key), {})), "time": time})
            for time in times
        ]
        series.append(Series(dimensions=dict(zip(query.by, key, strict=True)), points=points))
    return Timeseries(from_=query.start, to=query.end, step=query.step, series=series)


def _most_cost(totals: PerCurrency) -> str | None:
    """The currency with the most cost in the range (ties: the first by name)."""
    ranked = sorted(totals.items(), key=lambda item: (-item[1].cost_units, item[0]))
    return ranked[0][0] if ranked else None


def top(query: Query, tally: Tally, metric: str, limit: int, currency: str | None) -> Top:
    (dimension,) = query.by
    grouped = tally.grouped()
    values: list[tuple[int | Decimal, str, PerCurrency]] = []
    if metric == "cost":
        currency = currency or _most_cost(tally.total())
        for (name,), per_currency in grouped.items():
            if currency in per_currency:
                values.append((cost_of(per_currency[currency].cost_units), name, per_currency))
    else:
        currency = None
        for (name,), per_currency in grouped.items():
            merged = combined(per_currency)
            value = (
                merged.requests if metric == "requests" else merged.prompt_tokens + merged.completion_tokens
            )
            values.append((value, name, per_currency))
    values.sort(key=lambda item: (-item[0], item[1]))
    items = [
        TopItem.model_validate({**measured(per_currency), "name": name, "value": value})
        for value, name, per_currency in values[:limit]
    ]
    return Top(
        from_=query.start, to=query.end, dimension=dimension, metric=metric, currency=currency, items=items
    )
