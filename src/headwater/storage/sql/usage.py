"""Usage event rows: the batched writer's store and the admin API's queries."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Dialect, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.paging import decode_cursor, encode_cursor
from headwater.storage.sql import rollups
from headwater.storage.sql.refusals import refusals, rows_of
from headwater.storage.sql.sqlite_thread import SqliteThread
from headwater.storage.sql.tables import api_keys, usage_events
from headwater.storage.sql.types import UTCDateTime
from headwater.usage.events import NOT_KEYS, UsageEvent
from headwater.usage.rollup import Folding, fold_all, groups_of, groups_text, stored_cost
from headwater.usage.schemas import UsageEventRead


class SqlUsageStore:
    """Writes batches of usage events and their rollups in one transaction; a batch the database
    refuses for its data raises :class:`RejectedEvents` (see :mod:`headwater.storage.sql.refusals`).

    Writing is idempotent: an event whose ``event_id`` is already stored (a journal replay after a
    crash, a batch retried after its commit was lost) is skipped, and only the events inserted are
    added to the rollups.

    The statements are compiled once and run with the driver's own parameters (tuples), so that a
    flush costs the event loop little (:class:`~headwater.storage.sql.rollups.Prepared`):

    - PostgreSQL: one ``INSERT ... SELECT FROM unnest($1::timestamptz[], ...) ON CONFLICT DO NOTHING
      RETURNING event_id``, one array per column: one round trip, and exactly the ids inserted;
    - SQLite: one ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``, whose row count says how
      many were inserted. All of them is the usual case; when some were already stored (a replay),
      the inserted ones are the rows with the largest ids: SQLite gives a new row the largest rowid
      plus one, and the transaction holds the database's only write lock until it commits.

    Rows and rollups are made before the transaction, a slice at a time (:data:`SLICE` events, or a
    :data:`SLICES`-th of a bigger batch), yielding to the event loop between slices; the rollups
    folded then are written when every event was inserted (the usual case), else the events inserted
    are folded again."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite = SqliteThread.of(engine)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()

    async def write(self, events: Sequence[UsageEvent]) -> None:
        if not events:
            return
        dialect = self._engine.dialect
        insert = _INSERTS.get(dialect.name) or _insert_of(dialect)
        values = insert.empty()
        folding = Folding()
        with refusals():
            # Rows and rollups are made before the transaction, a slice at a time, yielding in
            # between: the event loop never waits long for the writer, nor the database's lock.
            size = max(SLICE, len(events) // SLICES)
            for start in range(0, len(events), size):
                part = events[start : start + size]
                if start:
                    await asyncio.sleep(0)
                insert.extend(values, rows_of(part, _row))
                await asyncio.sleep(0)
                folding.add(part)
            last_used: dict[str, float] = {}
            for e in events:
                if e.key_id not in NOT_KEYS and e.ts > last_used.get(e.key_id, 0.0):
                    last_used[e.key_id] = e.ts
            # last_used_at moves in batches, never a write per request; it is not configuration,
            # so the revision (and every gateway's snapshot) stays as it is. One executemany (one
            # round trip on PostgreSQL), in key order.
            touch = rollups.prepared(dialect, "touch keys", lambda: _TOUCH, ("key", "when"))
            touched = [
                {"key": k, "when": datetime.fromtimestamp(ts, UTC)} for k, ts in sorted(last_used.items())
            ]
            if self._sqlite is not None:
                await self._sqlite.transaction(
                    _SqliteBatch(
                        dialect,
                        insert.sql,
                        values,
                        events,
                        rollups.statements(dialect, folding.rows()),
                        (touch.sql, touch.rows(touched)),
                    )
                )
                return
            async with self._engine.begin() as conn:
                if dialect.name == "postgresql":
                    stored = set((await conn.exec_driver_sql(insert.sql, insert.final(values))).scalars())
                    inserted = _among(events, stored)
                else:
                    count = (await conn.exec_driver_sql(insert.sql, insert.final(values))).rowcount
                    inserted = list(events) if count == len(events) else await _inserted(conn, events, count)
                if len(inserted) == len(events):
                    await rollups.write(conn, folding.rows())
                else:  # some were stored already (a replay): only the others count
                    await rollups.add(conn, inserted)
                await touch.executemany(conn, touched)


class _SqliteBatch:
    """A batch's transaction on SQLite, run on the thread of :class:`SqliteThread`: the events,
    the rollups folded before (or, when some events were stored already, those of the others) and
    the keys' last use."""

    def __init__(
        self,
        dialect: Dialect,
        insert: str,
        rows: list[tuple[Any, ...]],
        events: Sequence[UsageEvent],
        upserts: list[tuple[str, list[tuple[Any, ...]]]],
        touch: tuple[str, list[tuple[Any, ...]]],
    ) -> None:
        self._dialect, self._insert, self._rows, self._events = dialect, insert, rows, events
        self._upserts, self._touch = upserts, touch

    def __call__(self, connection: sqlite3.Connection) -> None:
        events = self._events
        count = connection.executemany(self._insert, self._rows).rowcount
        upserts = self._upserts
        if count != len(events):  # a replay: the inserted ones are the rows with the largest ids
            found = connection.execute(_NEWEST, (count,)).fetchall() if count else []
            stored = {event_id for (event_id,) in found}
            inserted = _among(events, stored)
            upserts = rollups.statements(self._dialect, fold_all(inserted))
        for sql, rows in upserts:
            connection.executemany(sql, rows)
        sql, rows = self._touch
        if rows:
            connection.executemany(sql, rows)


#: :func:`_inserted`'s query, as the SQLite thread runs it.
_NEWEST = "SELECT event_id FROM usage_events ORDER BY id DESC LIMIT ?"


#: Events made into rows before the writer yields to the event loop: at least SLICE, and a batch in
#: at most SLICES slices. A usual batch (100 events) goes 25 at a time; a writer that fell behind
#: writes up to ten batches in one transaction, 250 events a slice, so that it catches up with a
#: gateway at full load, whose every loop turn runs dozens of calls (each turn gives the writer one
#: slice: fixed at 25, it fell behind from ~8,700 events a second on the bench machine).
SLICE = 25
SLICES = 4
_COLUMNS = tuple(column for column in usage_events.c if column.name != "id")
_NAMES = tuple(column.name for column in _COLUMNS)
_EVENT_ID = _NAMES.index("event_id")


class _Insert:
    """The insert of a batch of events on one engine kind, and how its rows become parameters: one
    array per column (PostgreSQL) or one tuple per row (SQLite), each value as SQLAlchemy would have
    bound it, made a slice of rows at a time."""

    def __init__(self, sql: str, processors: Sequence[Callable[[Any], Any] | None], arrays: bool) -> None:
        self.sql = sql
        self._processors = tuple(processors)
        self._arrays = arrays

    def empty(self) -> list[Any]:
        return [[] for _ in self._processors] if self._arrays else []

    def extend(self, values: list[Any], rows: list[tuple[Any, ...]]) -> None:
        """Adds ``rows`` to ``values``."""
        if not rows:
            return
        columns = zip(*rows, strict=True)
        processed = [
            column if process is None else map(process, column)
            for column, process in zip(columns, self._processors, strict=True)
        ]
        if self._arrays:
            for into, column in zip(values, processed, strict=True):
                into.extend(column)
        else:
            values.extend(zip(*processed, strict=True))

    def final(self, values: list[Any]) -> Any:
        return tuple(values) if self._arrays else values


_INSERTS: dict[str, _Insert] = {}


def _insert_of(dialect: Dialect) -> _Insert:
    processors: list[Callable[[Any], Any] | None] = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in _COLUMNS
    ]
    if dialect.name == "sqlite":
        processors[_NAMES.index("ts")] = sqlite_utc_text
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in _NAMES)
    if dialect.name == "postgresql":
        arrays = ", ".join(f"${i}::{_array_type(c, dialect)}" for i, c in enumerate(_COLUMNS, 1))
        sql = (
            f"INSERT INTO usage_events ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608 (names: the table's)
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
    else:
        marks = ", ".join("?" for _ in _COLUMNS)
        sql = f"INSERT INTO usage_events ({names}) VALUES ({marks}) ON CONFLICT (event_id) DO NOTHING"  # noqa: S608
    found = _INSERTS[dialect.name] = _Insert(sql, processors, dialect.name == "postgresql")
    return found


def sqlite_utc_text(moment: datetime) -> str:
    """A UTC time as SQLAlchemy stores it on SQLite (``2026-12-07 01:40:12.123456``), in one C call
    rather than its bind processor's conversion and formatting."""
    return moment.isoformat(" ", "microseconds")[:26]


def _array_type(column: Any, dialect: Dialect) -> str:
    """The column's type as an array, without a length: ``varchar(16)`` would cut a longer string
    where the column refuses it."""
    return re.sub(r"\(.*\)", "", column.type.compile(dialect=dialect)).strip() + "[]"


async def _inserted(conn: AsyncConnection, events: Sequence[UsageEvent], count: int) -> list[UsageEvent]:
    """Which of ``events`` the insert just made (``count`` of them) on SQLite: the rows with the
    ``count`` largest ids (see :class:`SqlUsageStore`)."""
    if not count:
        return []
    query = select(usage_events.c.event_id).order_by(usage_events.c.id.desc()).limit(count)
    return _among(events, set((await conn.execute(query)).scalars()))


def _among(events: Sequence[UsageEvent], stored: Collection[str | None]) -> list[UsageEvent]:
    """The events the insert just made, given the ids it reports (an event without an id always is)."""
    return [e for e in events if not e.event_id or e.event_id in stored]


_WHEN = bindparam("when", type_=UTCDateTime)
_TOUCH = (
    update(api_keys)
    .where(
        api_keys.c.id == bindparam("key"),
        or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < _WHEN),
    )
    .values(last_used_at=_WHEN)
)


def _row(e: UsageEvent) -> tuple[Any, ...]:
    """An event's values in the order of :data:`_NAMES`."""
    ttft = e.ttft_ms
    return (
        datetime.fromtimestamp(e.ts, UTC),
        e.request_id,
        e.key_id,
        e.principal,
        e.model,
        e.deployment,
        e.provider,
        e.endpoint,
        e.prompt_tokens,
        e.completion_tokens,
        stored_cost(e.cost),
        e.currency,
        e.status,
        e.http_status,
        round(e.latency_ms, 3),
        round(ttft, 3) if ttft is not None else None,
        e.streamed,
        e.estimated,
        e.event_id or None,
        groups_text(e.groups) or None,
        e.cost_center,
        e.policy,
    )


def _read(row: Any) -> UsageEventRead:
    return UsageEventRead(
        id=row["id"],
        time=row["ts"],
        request_id=row["request_id"],
        key_id=row["key_id"],
        principal=row["principal"],
        model=row["model"],
        deployment=row["deployment"],
        provider=row["provider"],
        endpoint=row["endpoint"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["prompt_tokens"] + row["completion_tokens"],
        cost=row["cost"],
        currency=row["currency"],
        status=row["status"],
        http_status=row["http_status"],
        latency_ms=row["latency_ms"],
        ttft_ms=row["ttft_ms"],
        streamed=row["streamed"],
        estimated=row["estimated"],
        groups=list(groups_of(row["groups"])),
        cost_center=row["cost_center"],
        policy=row["policy"],
    )


async def page(
    conn: AsyncConnection,
    *,
    key_id: str | None = None,
    model: str | None = None,
    principal: str | None = None,
    principals: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    order: Literal["asc", "desc"] = "desc",
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[UsageEventRead], str | None]:
    """A page of events; ``principals`` (a tenant's owners) narrows them, None for every one."""
    query = select(usage_events)
    conditions = []
    if key_id is not None:
        conditions.append(usage_events.c.key_id == key_id)
    if model is not None:
        conditions.append(usage_events.c.model == model)
    if principal is not None:
        conditions.append(usage_events.c.principal == principal)
    if principals is not None:
        conditions.append(usage_events.c.principal.in_(sorted(principals)))
    if since is not None:
        conditions.append(usage_events.c.ts >= since)
    if until is not None:
        conditions.append(usage_events.c.ts < until)
    if after_id is not None:
        conditions.append(usage_events.c.id > after_id)
    if cursor:
        (last_id,) = decode_cursor(cursor)
        column = usage_events.c.id
        conditions.append(column > int(last_id) if order == "asc" else column < int(last_id))
    if conditions:
        query = query.where(and_(*conditions))
    column = usage_events.c.id
    query = query.order_by(column.asc() if order == "asc" else column.desc()).limit(limit + 1)
    rows = (await conn.execute(query)).mappings().all()
    items = [_read(row) for row in rows[:limit]]
    next_cursor: str | None
    if order == "desc":
        next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit else None
    else:  # ascending pages always say where to go on from, so that followers can poll
        next_cursor = encode_cursor([items[-1].id]) if items else cursor
    return items, next_cursor
