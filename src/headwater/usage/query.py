"""Usage queries, framework-free: what a query asks for, and its stored sums merged into answers.

A :class:`Query` is answered (:mod:`headwater.storage.sql.usage_queries`) as :class:`Cell` s: the
measures of one (step, stored column values, currency), summed by the database from each piece of
the range (:mod:`headwater.usage.ranges`). :class:`Tally` merges them per (step, dimension values),
expanding a call's groups into one row each while counting it once in the totals; :func:`measured`
turns one tally entry into what the API answers (requests, tokens, costs per currency, latency and
time-to-first-token percentiles).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from typing import NamedTuple

from headwater.usage.dimensions import COLUMN, NEEDS_PRINCIPAL, values_of
from headwater.usage.query_schemas import Cost, Measured, Percentiles
from headwater.usage.ranges import STEP_GRAIN, Piece, finer, pieces
from headwater.usage.rollup import Grain, Measures, cost_of, percentile

#: Per currency: the measures of one answer row (or point).
PerCurrency = dict[str, Measures]


@dataclass(frozen=True, slots=True)
class Query:
    """``[start, end)``, grouped by ``by``, narrowed by ``filters`` (dimension → value) and by the
    caller's tenant (``owners``: principals; None for everything); ``step``: per time step."""

    start: datetime
    end: datetime
    by: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    owners: frozenset[str] | None = None
    step: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The stored columns the grouping reads, each once."""
        return tuple(dict.fromkeys(COLUMN[name] for name in self.by))

    @property
    def coarsest(self) -> Grain | None:
        """The coarsest source that holds what is asked: a key's, a user's or a tenant's usage only
        the hourly rollup (the daily and monthly ones have no key or principal)."""
        grain: Grain | None = "month"
        if self.owners is not None or NEEDS_PRINCIPAL & {*self.by, *self.filters}:
            grain = "hour"
        if self.step is not None:
            grain = finer(grain, STEP_GRAIN[self.step])
        return grain

    def pieces(self) -> list[Piece]:
        return pieces(self.start, self.end, self.coarsest)


class Cell(NamedTuple):
    """Summed measures of one (step or None, stored column values, currency)."""

    time: datetime | None
    values: tuple[str | None, ...]
    currency: str
    measures: Measures


Row = tuple[datetime | None, tuple[str, ...]]


class Tally:
    """Cells merged per (step, dimension values), and per step for the totals."""

    def __init__(self, query: Query) -> None:
        self._by = query.by
        columns = query.columns
        self._index = [columns.index(COLUMN[name]) for name in query.by]
        self.rows: dict[Row, PerCurrency] = {}
        self.totals: dict[datetime | None, PerCurrency] = {}

    def add(self, cells: Iterable[Cell]) -> None:
        for cell in cells:
            _merge(self.totals.setdefault(cell.time, {}), cell.currency, cell.measures)
            choices = [values_of(name, cell.values[i]) for name, i in zip(self._by, self._index, strict=True)]
            for combination in product(*choices):
                _merge(self.rows.setdefault((cell.time, combination), {}), cell.currency, cell.measures)

    def total(self) -> PerCurrency:
        """Every step's totals together."""
        merged: PerCurrency = {}
        for per_currency in self.totals.values():
            for currency, measures in per_currency.items():
                _merge(merged, currency, measures)
        return merged

    def grouped(self) -> dict[tuple[str, ...], PerCurrency]:
        """The rows of every step together, per dimension values."""
        merged: dict[tuple[str, ...], PerCurrency] = {}
        for (_, values), per_currency in self.rows.items():
            into = merged.setdefault(values, {})
            for currency, measures in per_currency.items():
                _merge(into, currency, measures)
        return merged


def _merge(into: PerCurrency, currency: str, measures: Measures) -> None:
    found = into.get(currency)
    if found is None:
        found = into[currency] = Measures()
    found.merge(measures)


def combined(per_currency: PerCurrency) -> Measures:
    """Every currency's measures together (costs aside: they are never summed across currencies)."""
    merged = Measures()
    for measures in per_currency.values():
        merged.merge(measures)
    return merged


def _ms(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def measured(per_currency: PerCurrency) -> dict[str, object]:
    """The fields of :class:`~headwater.usage.query_schemas.Measured` for one row."""
    merged = combined(per_currency)
    requests = merged.requests
    return {
        "requests": requests,
        "successes": merged.successes,
        "success_rate": merged.successes / requests if requests else None,
        "prompt_tokens": merged.prompt_tokens,
        "completion_tokens": merged.completion_tokens,
        "total_tokens": merged.prompt_tokens + merged.completion_tokens,
        "costs": [
            Cost(amount=cost_of(per_currency[currency].cost_units), currency=currency)
            for currency in sorted(per_currency)
        ],
        "latency_ms": Percentiles(
            p50=_ms(percentile(merged.latency, 0.5)), p95=_ms(percentile(merged.latency, 0.95))
        ),
        "ttft_ms": Percentiles(p50=_ms(percentile(merged.ttft, 0.5)), p95=_ms(percentile(merged.ttft, 0.95))),
    }


def measured_model(per_currency: PerCurrency) -> Measured:
    return Measured.model_validate(measured(per_currency))


def by_requests(item: tuple[tuple[str, ...], PerCurrency]) -> tuple[int, tuple[str, ...]]:
    """Sort key: most requests first, then the dimension values."""
    return (-combined(item[1]).requests, item[0])
