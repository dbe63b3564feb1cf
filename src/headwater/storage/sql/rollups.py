"""Rollup rows (:mod:`headwater.usage.rollup`) written with the events, and rebuilt from them.

:func:`add` runs in the transaction that inserts a batch of events and folds in exactly the events
that were inserted (a replayed event already stored adds nothing), with one upsert per table: the
rollups equal the events at every commit. Rows are upserted in key order, so that two writers
(workers, replicas) adding to the same rows never deadlock.

:func:`rebuild` recomputes every rollup from ``since`` (truncated to the month, so that no monthly
row is half rebuilt) from the stored events, in one transaction, a batch of events at a time.
Events older than the raw retention are gone; rebuilding a range they covered would lose the
rollups kept for it, so :func:`rebuild` refuses a ``since`` before the oldest stored event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Insert, Table, delete, false, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.usage.events import UsageEvent
from headwater.usage.rollup import (
    BUCKETS,
    GRAINS,
    Grain,
    Measures,
    RollupKey,
    fold_all,
    groups_of,
    truncate,
)

_SUMMED = (
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
log = logging.getLogger("headwater.usage")
_BATCH = 5000


def dimensions(table: Table) -> list[str]:
    names = ["bucket", "key_id", "principal", "model", "deployment", "provider", "cost_center"]
    names += ["policy", "groups", "currency"]
    return [name for name in names if name in table.c]


_LATENCY = tuple(f"lat_{i:02d}" for i in range(BUCKETS))
_TTFT = tuple(f"ttft_{i:02d}" for i in range(BUCKETS))


def _row(names: Sequence[str], key: RollupKey, measures: Measures) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(key, name) for name in names}
    row.update(
        requests=measures.requests,
        successes=measures.successes,
        prompt_tokens=measures.prompt_tokens,
        completion_tokens=measures.completion_tokens,
        cost_units=measures.cost_units,
        latency_ms_sum=measures.latency_ms_sum,
        ttft_count=measures.ttft_count,
        ttft_ms_sum=measures.ttft_ms_sum,
    )
    row.update(zip(_LATENCY, measures.latency, strict=True))
    row.update(zip(_TTFT, measures.ttft, strict=True))
    return row


class Prepared(NamedTuple):
    """A statement compiled once per engine kind, run with the driver's own executemany: SQLAlchemy
    would otherwise build every row's parameters again on the event loop (``construct_params``, a
    few µs a row). ``names`` are the driver's positional parameters in order, ``processors`` what
    SQLAlchemy would have done to each value (None: nothing)."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def rows(self, values: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """``values`` as the driver's rows, each value as SQLAlchemy would have bound it."""
        pairs = tuple(zip(self.names, self.processors, strict=True))
        return [tuple(p(row[n]) if p else row[n] for n, p in pairs) for row in values]

    async def executemany(self, conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
        if values:
            await conn.exec_driver_sql(self.sql, self.rows(values))


_PREPARED: dict[tuple[str, str], Prepared] = {}


def prepared(
    dialect: Dialect, name: str, build: Callable[[], ClauseElement], keys: Sequence[str]
) -> Prepared:
    """The statement ``name`` that ``build`` makes, compiled for ``dialect`` with the parameters
    ``keys`` (once per engine kind)."""
    found = _PREPARED.get((dialect.name, name))
    if found is None:
        compiled = build().compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        processors = tuple(
            compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        )
        found = _PREPARED[dialect.name, name] = Prepared(str(compiled), names, processors)
    return found


def _upsert_statement(dialect: str, table: Table) -> Insert:
    """The upsert of ``table``: each row's measures added to those of the row with its dimensions."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in dimensions(table)],
        set_={name: table.c[name] + statement.excluded[name] for name in _SUMMED},
    )


def _upsert_of(
    dialect: Dialect, table: Table, rows: dict[RollupKey, Measures]
) -> tuple[Prepared, list[dict[str, Any]]]:
    """The upsert of ``table`` and its rows, in key order."""
    names = dimensions(table)
    values = [_row(names, key, rows[key]) for key in sorted(rows)]
    upsert = prepared(
        dialect, f"upsert {table.name}", lambda: _upsert_statement(dialect.name, table), list(values[0])
    )
    return upsert, values


def statements(
    dialect: Dialect, folded: dict[Grain, dict[RollupKey, Measures]]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The upserts that add rows already folded to every rollup table, with the driver's rows: for
    a batch written in one hand-off (:mod:`headwater.storage.sql.sqlite_thread`)."""
    found = []
    for grain, rows in folded.items():
        if rows:
            upsert, values = _upsert_of(dialect, ROLLUPS[grain], rows)
            found.append((upsert.sql, upsert.rows(values)))
    return found


async def _upsert(conn: AsyncConnection, table: Table, rows: dict[RollupKey, Measures]) -> None:
    if rows:
        upsert, values = _upsert_of(conn.dialect, table, rows)
        await upsert.executemany(conn, values)


async def add(conn: AsyncConnection, events: Sequence[UsageEvent]) -> None:
    """Folds ``events`` (those just inserted) into every rollup table."""
    await write(conn, fold_all(events))


async def write(conn: AsyncConnection, folded: dict[Grain, dict[RollupKey, Measures]]) -> None:
    """Adds rows already folded (:class:`~headwater.usage.rollup.Folding`) to every rollup table."""
    for grain, rows in folded.items():
        await _upsert(conn, ROLLUPS[grain], rows)


def event_of(row: Any) -> UsageEvent:
    """A stored event as the writer had it (enough for :func:`fold`)."""
    return UsageEvent(
        ts=row.ts.timestamp(),
        request_id=row.request_id,
        key_id=row.key_id,
        principal=row.principal,
        model=row.model,
        deployment=row.deployment,
        provider=row.provider,
        endpoint=row.endpoint,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost=row.cost if isinstance(row.cost, Decimal) else Decimal(str(row.cost)),
        currency=row.currency,
        status=row.status,
        http_status=row.http_status,
        latency_ms=row.latency_ms,
        ttft_ms=row.ttft_ms,
        streamed=row.streamed,
        estimated=row.estimated,
        event_id=row.event_id or "",
        groups=groups_of(row.groups),
        cost_center=row.cost_center,
        policy=row.policy,
    )


async def oldest_event(conn: AsyncConnection) -> datetime | None:
    found: datetime | None = (await conn.execute(select(func.min(usage_events.c.ts)))).scalar()
    return found


async def rebuild(engine: AsyncEngine, since: datetime) -> int:
    """Recomputes the rollups from ``since`` (its month) on; returns the events folded in.

    Raises ValueError when events that rollups from then on were made of are no longer stored."""
    async with engine.begin() as conn:
        await _lock(conn)
        return await _rebuild(conn, truncate(since, "month"))


async def _lock(conn: AsyncConnection) -> None:
    """Holds off the writers (and other rebuilds) until the transaction ends: a batch committed while
    the events are being read would otherwise be counted twice, or not at all. SQLite has one writer
    at a time already."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(table.name for table in ROLLUPS.values())
        await conn.execute(text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))
    else:
        await conn.execute(delete(ROLLUPS["month"]).where(false()))  # takes SQLite's write lock


async def _rebuild(conn: AsyncConnection, start: datetime) -> int:
    oldest = await oldest_event(conn)
    # No event stored at all: every rollup from start on would be lost.
    kept_from = truncate(oldest, "hour") if oldest is not None else datetime.max.replace(tzinfo=UTC)
    if (start < kept_from and await _rollups_between(conn, start, kept_from)) or (
        oldest is not None and await _month_outlived_its_events(conn, start, oldest)
    ):
        raise ValueError(
            f"the events before {kept_from.isoformat()} are no longer stored (retention) but their "
            "rollups are: rebuild from the month after that at the earliest"
        )
    for table in ROLLUPS.values():
        await conn.execute(delete(table).where(table.c.bucket >= start))
    folded = 0
    query = (
        select(usage_events)
        .where(usage_events.c.ts >= start)
        .order_by(usage_events.c.id)
        .execution_options(yield_per=_BATCH)
    )
    pending: list[UsageEvent] = []
    rows = await conn.stream(query)
    async for row in rows:
        pending.append(event_of(row))
        if len(pending) >= _BATCH:
            folded += await _fold_many(conn, pending)
            pending = []
    folded += await _fold_many(conn, pending)
    return folded


async def _fold_many(conn: AsyncConnection, events: list[UsageEvent]) -> int:
    if events:
        await add(conn, events)
    return len(events)


async def _rollups_between(conn: AsyncConnection, start: datetime, end: datetime) -> bool:
    """Whether a rollup row from ``start`` on covers time before ``end`` (hours before its hour, days
    before its day, months before its month): rows that events no longer stored were folded into."""
    for grain in GRAINS:
        table = ROLLUPS[grain]
        query = select(table.c.bucket).where(table.c.bucket >= start, table.c.bucket < truncate(end, grain))
        if (await conn.execute(query.limit(1))).first() is not None:
            return True
    return False


async def _month_outlived_its_events(conn: AsyncConnection, start: datetime, oldest: datetime) -> bool:
    """Whether the monthly rollup of the oldest event's month counts more calls than the events
    still stored for that month (its first days pruned along with their hourly and daily rows)."""
    month = truncate(oldest, "month")
    if month < start:
        return False
    table = ROLLUPS["month"]
    counted = (await conn.execute(select(func.sum(table.c.requests)).where(table.c.bucket == month))).scalar()
    if not counted:
        return False
    after = (month + timedelta(days=32)).replace(day=1)
    stored = (
        await conn.execute(select(func.count()).where(usage_events.c.ts >= month, usage_events.c.ts < after))
    ).scalar_one()
    return int(counted) > int(stored)


async def backfill(engine: AsyncEngine) -> int:
    """At start: rolls up the stored events when no rollup exists yet (events written before the
    rollups were, by an earlier version). Returns the events folded in (0: nothing to do). Several
    workers starting at once do it once: the first holds the lock, the others then find rollups."""
    async with engine.connect() as conn:
        if await _any_rollup(conn) or await oldest_event(conn) is None:
            return 0
    async with engine.begin() as conn:
        await _lock(conn)
        oldest = await oldest_event(conn)
        if oldest is None or await _any_rollup(conn):
            return 0
        return await _rebuild(conn, truncate(oldest, "month"))


async def _any_rollup(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(ROLLUPS["hour"].c.bucket).limit(1))).first() is not None


async def backfill_logged(engine: AsyncEngine) -> None:
    """:func:`backfill` as a start-up task: what it did or why it failed, logged, never raised."""
    try:
        folded = await backfill(engine)
    except Exception as exc:
        log.error("rolling up stored usage events failed (run `headwater usage rebuild`): %s", exc)
    else:
        if folded:
            log.info("rolled up %d usage events stored before rollups existed", folded)
