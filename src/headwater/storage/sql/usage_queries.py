"""Usage queries in SQL: each piece of a range summed by the database from its source.

A :class:`~headwater.usage.query.Query`'s pieces (:mod:`headwater.usage.ranges`) are each read with
one ``GROUP BY`` over the stored columns the grouping needs and the currency (and the rollup bucket
for a time series), summing every measure: rollup pieces from their table, raw pieces from the
events. Money is summed exactly: the rollups hold integer units; PostgreSQL sums the events' NUMERIC
cost; on SQLite (money stored as text) the raw rows are folded here with the writer's own code
(:meth:`Measures.add_event`), so that raw and rollup answers agree. All pieces are read in one
transaction (REPEATABLE READ on PostgreSQL), so that a batch the writer commits meanwhile is counted
whole or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Table, and_, case, cast, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.storage.sql.rollups import event_of
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.usage.dimensions import COLUMN, PREFIX
from headwater.usage.events import NOT_KEYS
from headwater.usage.query import Cell, Query
from headwater.usage.ranges import Piece, bin_of
from headwater.usage.rollup import BUCKETS, LATENCY_BOUNDS_MS, UNASSIGNED, Measures

_SUMS = (
    "requests",
    "successes",
    "prompt_tokens",
    "completion_tokens",
    "cost_units",
    "latency_ms_sum",
    "ttft_count",
    "ttft_ms_sum",
    *(f"lat_{i:02d}" for i in range(BUCKETS)),
    *(f"ttft_{i:02d}" for i in range(BUCKETS)),
)
_NOT_COUNTERS = frozenset({"cost_units", "latency_ms_sum", "ttft_ms_sum"})
_SOURCES: dict[str, Table] = {"raw": usage_events, **ROLLUPS}


@contextlib.asynccontextmanager
async def consistent(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read transaction whose statements all see the same committed state."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def collect(engine: AsyncEngine, query: Query) -> list[Cell]:
    """Every piece of ``query``'s range, summed per (step, stored column values, currency)."""
    async with consistent(engine) as conn:
        return await cells(conn, query)


async def cells(conn: AsyncConnection, query: Query) -> list[Cell]:
    found: list[Cell] = []
    for piece in query.pieces():
        if piece.source == "raw":
            found += await _raw(conn, query, piece)
        else:
            found += await _rollup(conn, query, piece)
    return found


def _empty(column: ColumnElement[Any], raw: bool) -> ColumnElement[bool]:
    return or_(column.is_(None), column == "") if raw else column == ""


def conditions(table: Table, query: Query, raw: bool) -> list[ColumnElement[bool]]:
    """The filters and the tenant as conditions on ``table``'s columns ('' or NULL: none)."""
    found: list[ColumnElement[bool]] = []
    for name, value in sorted(query.filters.items()):
        column = table.c[COLUMN[name]]
        if name in PREFIX:
            prefix = PREFIX[name]
            found.append(
                not_(column.startswith(prefix, autoescape=True))
                if value == UNASSIGNED
                else column == prefix + value
            )
        elif name == "key":
            found.append(column.in_(sorted(NOT_KEYS)) if value == UNASSIGNED else column == value)
        elif name == "group":
            found.append(
                _empty(column, raw) if value == UNASSIGNED else column.contains(f"|{value}|", autoescape=True)
            )
        else:
            found.append(_empty(column, raw) if value == UNASSIGNED else column == value)
    if query.owners is not None:
        found.append(table.c.principal.in_(sorted(query.owners)))
    return found


def _measures(sums: Sequence[Any]) -> Measures:
    """A group's sums, in :data:`_SUMS` order (read by position: by name costs more than the query
    itself on a year's summary)."""
    return Measures(
        requests=int(sums[0]),
        successes=int(sums[1]),
        prompt_tokens=int(sums[2]),
        completion_tokens=int(sums[3]),
        cost_units=int(sums[4]),
        latency_ms_sum=float(sums[5]),
        ttft_count=int(sums[6]),
        ttft_ms_sum=float(sums[7]),
        latency=[int(n) for n in sums[8 : 8 + BUCKETS]],
        ttft=[int(n) for n in sums[8 + BUCKETS : 8 + 2 * BUCKETS]],
    )


def _sum(column: ColumnElement[Any], name: str) -> ColumnElement[Any]:
    """A rollup measure summed; counters as BIGINT (PostgreSQL sums them as NUMERIC, slower to send
    and to read), money in units as NUMERIC (a year of it may pass 2**63 units)."""
    summed = func.sum(column)
    return (summed if name in _NOT_COUNTERS else cast(summed, BigInteger)).label(name)


async def _rollup(conn: AsyncConnection, query: Query, piece: Piece) -> list[Cell]:
    table = _SOURCES[piece.source]
    keys: list[ColumnElement[Any]] = [table.c[name] for name in query.columns] + [table.c.currency]
    if query.step is not None:
        keys.insert(0, table.c.bucket)
    statement = (
        select(*keys, *(_sum(table.c[name], name) for name in _SUMS))
        .where(
            table.c.bucket >= piece.start, table.c.bucket < piece.end, *conditions(table, query, raw=False)
        )
        .group_by(*keys)
    )
    width = len(query.columns)
    found = []
    for row in await conn.execute(statement):
        time = bin_of(row[0], query.step) if query.step is not None else None
        offset = 1 if query.step is not None else 0
        values = tuple(row[offset : offset + width])
        found.append(Cell(time, values, row.currency, _measures(row[offset + width + 1 :])))
    return found


def _bucket_counts(column: ColumnElement[Any], prefix: str) -> list[ColumnElement[Any]]:
    """Per latency bucket, how many rows fall in it (as :func:`headwater.usage.rollup.bucket_of`:
    bucket i holds (bound[i-1], bound[i]]; a NULL is in none)."""
    bounds = LATENCY_BOUNDS_MS
    counted: list[ColumnElement[Any]] = []
    for i in range(BUCKETS):
        if i == 0:
            inside = column <= bounds[0]
        elif i == BUCKETS - 1:
            inside = column > bounds[i - 1]
        else:
            inside = and_(column > bounds[i - 1], column <= bounds[i])
        counted.append(func.sum(case((inside, 1), else_=0)).label(f"{prefix}_{i:02d}"))
    return counted


def _raw_sums() -> list[ColumnElement[Any]]:
    c = usage_events.c
    return [
        func.count().label("requests"),
        func.sum(case((c.status == "success", 1), else_=0)).label("successes"),
        func.sum(c.prompt_tokens).label("prompt_tokens"),
        func.sum(c.completion_tokens).label("completion_tokens"),
        func.sum(c.cost).label("cost"),
        func.sum(c.latency_ms).label("latency_ms_sum"),
        func.count(c.ttft_ms).label("ttft_count"),
        func.coalesce(func.sum(c.ttft_ms), 0.0).label("ttft_ms_sum"),
        *_bucket_counts(c.latency_ms, "lat"),
        *_bucket_counts(c.ttft_ms, "ttft"),
    ]


async def _raw(conn: AsyncConnection, query: Query, piece: Piece) -> list[Cell]:
    c = usage_events.c
    where = [c.ts >= piece.start, c.ts < piece.end, *conditions(usage_events, query, raw=True)]
    if conn.dialect.name != "postgresql":
        return await _raw_folded(conn, query, piece, where)
    keys: list[ColumnElement[Any]] = [c[name] for name in query.columns] + [c.currency]
    five_minutes = query.step == "5m"
    if five_minutes:
        keys.insert(0, func.floor(func.extract("epoch", c.ts) / 300).label("slot"))
    statement: Select[Any] = select(*keys, *_raw_sums()).where(*where).group_by(*keys)
    width = len(query.columns)
    offset = 1 if five_minutes else 0
    found = []
    for row in await conn.execute(statement):
        if five_minutes:
            time: datetime | None = datetime.fromtimestamp(int(row.slot) * 300, UTC)
        else:
            time = bin_of(piece.start, query.step) if query.step is not None else None
        measures = _measures_of_raw(row[offset + width + 1 :])
        found.append(Cell(time, tuple(row[offset : offset + width]), row.currency, measures))
    return found


def _measures_of_raw(sums: Sequence[Any]) -> Measures:
    """A raw group's sums (:func:`_raw_sums`); its exact NUMERIC cost (twelve decimals) in the
    rollups' integer units."""
    cost = sums[4] if isinstance(sums[4], Decimal) else Decimal(str(sums[4]))
    return _measures([*sums[:4], int(cost.scaleb(12)), *sums[5:]])


async def _raw_folded(
    conn: AsyncConnection, query: Query, piece: Piece, where: Iterable[ColumnElement[bool]]
) -> list[Cell]:
    """SQLite: the raw rows folded here, with the writer's own code (money is text there)."""
    sums: dict[tuple[datetime | None, tuple[str | None, ...], str], Measures] = {}
    result = await conn.stream(select(usage_events).where(*where))
    async for row in result:
        event = event_of(row)
        time = bin_of(row.ts, query.step) if query.step is not None else None
        values = tuple(getattr(row, name) for name in query.columns)
        key = (time, values, row.currency)
        found = sums.get(key)
        if found is None:
            found = sums[key] = Measures()
        found.add_event(event)
    return [Cell(time, values, currency, measures) for (time, values, currency), measures in sums.items()]
