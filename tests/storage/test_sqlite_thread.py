"""On a SQLite file, a usage batch is written, and the snapshot's poll reads the revision, in one
hand-off to a thread with its own connection (headwater.storage.sql.sqlite_thread): the same rows,
rollups and key use as through the engine, a replayed batch counted once, a locked database retried
without loss, a change committed through the engine seen by the poll, and an in-memory database
kept on the engine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate, sqlite_thread
from headwater.storage.sql.database import SQLITE_PRAGMAS, bump_revision, create_engine
from headwater.storage.sql.snapshot_source import SqlSnapshotSource
from headwater.storage.sql.sqlite_thread import SqliteThread
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from headwater.usage.writer import BatchWriter

EVENT = UsageEvent(
    ts=1_767_225_600.0, request_id="r", key_id="k", principal="user:a", model="m", deployment="m/0",
    provider="openai", endpoint="chat", prompt_tokens=10, completion_tokens=20, cost=Decimal("0.25"),
    currency="USD", status="success", http_status=200, latency_ms=12.5, ttft_ms=3.25, streamed=True,
    estimated=False,
)  # fmt: skip


def events(first: int, count: int) -> list[UsageEvent]:
    return [
        replace(EVENT, request_id=f"r{i}", event_id=f"ev-{i}", ts=EVENT.ts + i)
        for i in range(first, first + count)
    ]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}")
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def counts(engine: AsyncEngine) -> tuple[int, int, int, int]:
    """Events stored, distinct ids, requests in the hourly and in the monthly rollups."""
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(usage_events))).scalar_one()
        ids = (await conn.execute(select(func.count(usage_events.c.event_id.distinct())))).scalar_one()
        hourly = (await conn.execute(select(func.sum(ROLLUPS["hour"].c.requests)))).scalar()
        monthly = (await conn.execute(select(func.sum(ROLLUPS["month"].c.requests)))).scalar()
    return stored, ids, int(hourly or 0), int(monthly or 0)


async def test_a_batch_and_a_replay_of_it_are_stored_and_counted_once(engine: AsyncEngine) -> None:
    store = SqlUsageStore(engine)
    try:
        await store.write(events(0, 60))
        assert await counts(engine) == (60, 60, 60, 60)
        # A replay after a crash: 40 already stored, 30 new; only the new ones are added.
        await store.write(events(20, 70))
        assert await counts(engine) == (90, 90, 90, 90)
        async with engine.connect() as conn:
            tokens = (await conn.execute(select(func.sum(ROLLUPS["day"].c.completion_tokens)))).scalar()
            stored_ts = (await conn.execute(select(func.min(usage_events.c.ts)))).scalar()
        assert tokens == 90 * 20
        assert stored_ts is not None and stored_ts.timestamp() == EVENT.ts
    finally:
        await store.close()


async def test_a_locked_database_is_retried_and_nothing_is_lost(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = tuple("PRAGMA busy_timeout=50" if "busy_timeout" in p else p for p in SQLITE_PRAGMAS)
    monkeypatch.setattr(sqlite_thread, "SQLITE_PRAGMAS", quick)
    monkeypatch.setattr(sqlite_thread, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    store = SqlUsageStore(engine)
    writer = BatchWriter(store, flush_interval_s=0.05, batch_size=10, max_backoff_s=0.1)
    holder = sqlite3.connect(tmp_path / "hw.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writer.start()
    try:
        for event in events(0, 25):
            writer.emit(event)
        await asyncio.sleep(0.5)
        assert writer.written == 0 and writer.dropped == 0  # tried, refused by the lock, kept
        holder.execute("ROLLBACK")
        for _ in range(100):
            if writer.written == 25:
                break
            await asyncio.sleep(0.05)
        assert await counts(engine) == (25, 25, 25, 25)
    finally:
        holder.close()
        await writer.close()
        await store.close()


async def test_an_in_memory_database_is_written_through_the_engine() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        assert SqliteThread.of(engine) is None
        await migrate.upgrade(engine)
        store = SqlUsageStore(engine)
        await store.write(events(0, 5))
        assert (await counts(engine))[0] == 5
    finally:
        await engine.dispose()


async def test_the_snapshot_poll_sees_a_change_committed_through_the_engine(engine: AsyncEngine) -> None:
    source = SqlSnapshotSource(engine)
    try:
        current = await source.load()
        assert await source.update(current) is current  # nothing new: the same snapshot
        async with engine.begin() as conn:
            await bump_revision(conn, [("key", "k1")])
        newer = await source.update(current)
        assert newer.revision == current.revision + 1
        assert await source.update(newer) is newer
    finally:
        await source.close()
