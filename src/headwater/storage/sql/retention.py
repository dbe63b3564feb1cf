"""Retention: usage and limit events, rollup rows and stored responses deleted once past their time.

* Usage events and limit events older than ``HEADWATER_USAGE_RETENTION_DAYS`` go, by **whole
  hours**: the cutoff is truncated to the hour, so that the oldest stored event always starts an
  hour whose events are all still there (:func:`headwater.storage.sql.rollups.rebuild` relies on it:
  an hour half pruned would be rebuilt from half its events).
* Rows of the hourly, daily and monthly rollups go once their whole bucket is older than
  ``HEADWATER_ROLLUP_RETENTION_DAYS`` (a daily row when its day has ended before the cutoff, a
  monthly one when its month has), so that a report never reads a bucket that is partly gone.
* Stored Responses API responses go once expired (``expires_at``, set when each was stored from
  ``HEADWATER_RESPONSE_STORE_DAYS``); readers already ignore them from that instant.

Deletes run in batches of ``batch_size`` rows, oldest first, each its own short transaction (by
primary key for the events; by physical row id for the rollups, which have none: ``ctid`` on
PostgreSQL, ``rowid`` on SQLite), with a pause in between, so that no lock is held for long and the
event loop is never stalled. Every delete is idempotent: several workers or replicas pruning at
once delete each row once. On PostgreSQL a session advisory lock makes one of them prune and the
others skip the pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.clock import utcnow
from headwater.storage.sql.tables import ROLLUPS, limit_events, stored_responses, usage_events
from headwater.usage.rollup import GRAINS, truncate

#: The PostgreSQL advisory lock a pruning pass holds (any 64-bit number, fixed): "Retentio".
RETENTION_LOCK = 0x5265_7465_6E74_696F
BATCH_SIZE = 5000
PAUSE_S = 0.05


@dataclass(frozen=True)
class Cutoffs:
    """Rows strictly before these instants are deleted."""

    events: datetime  # usage and limit events: a whole hour
    rollups: datetime  # rollup rows whose bucket has ended by then
    responses: datetime  # stored responses that expired by then

    @classmethod
    def at(cls, now: datetime, *, usage_days: int, rollup_days: int) -> Cutoffs:
        return cls(
            events=truncate(now - timedelta(days=usage_days), "hour"),
            rollups=now - timedelta(days=rollup_days),
            responses=now,
        )


@dataclass
class Pruned:
    """What one pass deleted, per table; ``skipped`` when another process held the lock."""

    rows: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    skipped: bool = False
    cutoffs: Cutoffs | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class SqlRetention:
    """One pruning pass per :meth:`prune` call (the loop is :class:`headwater.usage.pruning.Pruner`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        usage_days: int,
        rollup_days: int,
        batch_size: int = BATCH_SIZE,
        pause_s: float = PAUSE_S,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if usage_days < 1 or rollup_days < usage_days:
            raise ValueError("retention: usage_days ≥ 1 and rollup_days ≥ usage_days")
        if batch_size < 1:
            raise ValueError("retention: batch_size ≥ 1")
        self._engine = engine
        self._usage_days = usage_days
        self._rollup_days = rollup_days
        self._batch_size = batch_size
        self._pause_s = pause_s
        self._now = now
        self._postgres = engine.dialect.name == "postgresql"

    def cutoffs(self) -> Cutoffs:
        return Cutoffs.at(self._now(), usage_days=self._usage_days, rollup_days=self._rollup_days)

    async def prune(self, stopping: Callable[[], bool] = lambda: False) -> Pruned:
        """Deletes everything past retention, a batch at a time; stops early when ``stopping()``."""
        started = time.perf_counter()
        result = Pruned(cutoffs=self.cutoffs())
        if not self._postgres:
            await self._prune_all(result, stopping)
        else:
            async with self._engine.connect() as lock:
                # Autocommit: the lock is the session's, and this connection holds no transaction
                # (no snapshot kept open for the whole pass).
                lock = await lock.execution_options(isolation_level="AUTOCOMMIT")
                got = (await lock.execute(select(func.pg_try_advisory_lock(RETENTION_LOCK)))).scalar()
                if not got:
                    result.skipped = True
                    return result
                try:
                    await self._prune_all(result, stopping)
                finally:
                    await lock.execute(select(func.pg_advisory_unlock(RETENTION_LOCK)))
        result.seconds = time.perf_counter() - started
        return result

    async def _prune_all(self, result: Pruned, stopping: Callable[[], bool]) -> None:
        cutoffs = result.cutoffs
        assert cutoffs is not None
        for table in (usage_events, limit_events):
            await self._prune(result, table, table.c.id, table.c.ts, cutoffs.events, stopping)
        row_id: ColumnElement[Any] = literal_column("ctid" if self._postgres else "rowid")
        for grain in GRAINS:
            table = ROLLUPS[grain]
            await self._prune(
                result, table, row_id, table.c.bucket, truncate(cutoffs.rollups, grain), stopping
            )
        responses = stored_responses
        await self._prune(
            result, responses, responses.c.id, responses.c.expires_at, cutoffs.responses, stopping
        )

    async def _prune(
        self,
        result: Pruned,
        table: Table,
        row_id: ColumnElement[Any],
        when: ColumnElement[datetime],
        cutoff: datetime,
        stopping: Callable[[], bool],
    ) -> None:
        """Deletes ``table``'s rows with ``when`` before ``cutoff``, oldest first, a batch at a time.

        On PostgreSQL each batch starts at the newest time the previous one deleted (read through
        the time's index): rescanning from the oldest would walk every row the earlier batches
        deleted (dead until vacuumed), each batch slower than the one before. The statement answers
        only how many rows went and the newest time, so nothing per row reaches the event loop.
        SQLite removes deleted rows from its indexes at once: each batch starts from the oldest."""
        result.rows.setdefault(table.name, 0)
        after: datetime | None = None
        while not stopping():
            window = [when < cutoff] if after is None else [when < cutoff, when >= after]
            chosen = select(row_id).select_from(table).where(*window).order_by(when).limit(self._batch_size)
            deleting = delete(table).where(row_id.in_(chosen.scalar_subquery()))
            async with self._engine.begin() as conn:
                if self._postgres:
                    gone = deleting.returning(when).cte("gone")
                    counted = select(func.count(), func.max(gone.c[when.name]))
                    deleted, after = (await conn.execute(counted)).one()
                else:
                    deleted = (await conn.execute(deleting)).rowcount
            result.batches += 1
            result.rows[table.name] += deleted
            if deleted < self._batch_size:
                return
            await asyncio.sleep(self._pause_s)
