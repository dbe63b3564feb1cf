"""Retention: usage and limit events pruned by whole hours, rollup rows by whole buckets, in batches.

The store-level tests write events with the production writer's store (``SqlUsageStore``: events and
rollups in one transaction) at chosen instants and prune with a fixed clock; the end-to-end test
runs a real `headwater serve` whose background pruner deletes what is past retention, read back
through the admin API.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.limit_events import SqlLimitEventStore
from headwater.storage.sql.retention import RETENTION_LOCK, Pruned, SqlRetention
from headwater.storage.sql.tables import ROLLUPS, limit_events, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import LimitEvent, UsageEvent
from headwater.usage.pruning import Pruner
from headwater.usage.rollup import GRAINS
from tests.conftest import BACKENDS
from tests.support import cli, database, start_server, stop, wait_for

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
USAGE_DAYS, ROLLUP_DAYS = 2, 5  # events before 11-18 12:00 go; rollup buckets ended before 11-15 12:30 go


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: When events were made, and how many at each instant.
SEEDED = {
    at("2026-10-20T10:15"): 2,  # everything goes, the October monthly row too
    at("2026-11-14T09:05"): 3,  # events, hourly and daily rows go; November's monthly row stays
    at("2026-11-15T11:50"): 1,  # hourly row (11:00) goes; the daily row of 11-15 stays
    at("2026-11-15T12:10"): 1,  # its hourly row (12:00, not ended before 12:30) stays
    at("2026-11-18T11:59"): 2,  # the events go (before 12:00); every rollup row stays
    at("2026-11-18T12:10"): 1,  # older than two days, but in the cutoff's hour: kept (whole hours)
    at("2026-11-18T12:50"): 1,
    at("2026-11-20T12:00"): 1,
}
PRUNED_EVENTS = 9


def usage_event(ts: datetime, number: int) -> UsageEvent:
    return UsageEvent(
        ts=ts.timestamp(), request_id=f"req-{number}", key_id="k1", principal="user:ada", model="m",
        deployment="m/0", provider="openai", endpoint="chat", prompt_tokens=10, completion_tokens=5,
        cost=Decimal("0.0125"), currency="EUR", status="success", http_status=200, latency_ms=120.0,
        ttft_ms=None, streamed=False, estimated=False, event_id=uuid.uuid4().hex, groups=("ml",),
        cost_center="CC-ML", policy="tier",
    )  # fmt: skip


def limit_event(ts: datetime) -> LimitEvent:
    return LimitEvent(
        ts=ts.timestamp(), request_id="r", key_id="k1", principal="user:ada", model="m", policy="tier",
        limit="requests 10/1m", kind="rate", action="denied",
    )  # fmt: skip


async def seed(engine: AsyncEngine, seeded: dict[datetime, int]) -> None:
    events = [usage_event(ts, n) for n, ts in enumerate(ts for ts, k in seeded.items() for _ in range(k))]
    await SqlUsageStore(engine).write(events)
    await SqlLimitEventStore(engine).write([limit_event(ts) for ts in seeded])


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as made:
        yield made


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(url)
    await migrate.upgrade(made)
    await seed(made, SEEDED)
    try:
        yield made
    finally:
        await made.dispose()


def retention(engine: AsyncEngine, batch_size: int = 5000) -> SqlRetention:
    return SqlRetention(
        engine,
        usage_days=USAGE_DAYS,
        rollup_days=ROLLUP_DAYS,
        batch_size=batch_size,
        pause_s=0,
        now=lambda: NOW,
    )


async def event_times(engine: AsyncEngine) -> list[datetime]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(usage_events.c.ts).order_by(usage_events.c.ts))).scalars())


async def rollup_requests(engine: AsyncEngine) -> dict[str, dict[datetime, int]]:
    """Requests per bucket of each rollup table."""
    found: dict[str, dict[datetime, int]] = {}
    async with engine.connect() as conn:
        for grain in GRAINS:
            table = ROLLUPS[grain]
            query = select(table.c.bucket, func.sum(table.c.requests)).group_by(table.c.bucket)
            found[grain] = {bucket: int(n) for bucket, n in (await conn.execute(query)).all()}
    return found


async def test_prunes_old_events_by_whole_hours_and_rollups_by_whole_buckets(engine: AsyncEngine) -> None:
    before = await rollup_requests(engine)
    pruned = await retention(engine).prune()

    assert not pruned.skipped
    kept = [at("2026-11-18T12:10"), at("2026-11-18T12:50"), at("2026-11-20T12:00")]
    assert await event_times(engine) == kept
    assert pruned.rows["usage_events"] == PRUNED_EVENTS
    async with engine.connect() as conn:
        limit_times = list(
            (await conn.execute(select(limit_events.c.ts).order_by(limit_events.c.ts))).scalars()
        )
    assert limit_times == kept
    assert pruned.rows["limit_events"] == len(SEEDED) - 3

    after = await rollup_requests(engine)
    assert after == {
        "hour": {
            at("2026-11-15T12:00"): 1,
            at("2026-11-18T11:00"): 2,  # its events are gone, its rollup is kept
            at("2026-11-18T12:00"): 2,  # the whole hour, as its events: both kept
            at("2026-11-20T12:00"): 1,
        },
        "day": {at("2026-11-15T00:00"): 2, at("2026-11-18T00:00"): 4, at("2026-11-20T00:00"): 1},
        "month": {at("2026-11-01T00:00"): 10},  # November still answers for events long pruned
    }
    for grain in GRAINS:  # nothing else changed: the kept rows are the rows as written
        assert all(before[grain][bucket] == n for bucket, n in after[grain].items())
    assert pruned.rows["usage_hourly"] == 3 and pruned.rows["usage_daily"] == 2
    assert pruned.rows["usage_monthly"] == 1

    again = await retention(engine).prune()  # idempotent: nothing more to do
    assert again.total == 0 and await rollup_requests(engine) == after


async def test_deletes_in_batches_of_the_given_size(engine: AsyncEngine) -> None:
    batches = 0

    def after_first_batch() -> bool:
        nonlocal batches
        batches += 1
        return batches > 1

    first = await retention(engine, batch_size=2).prune(after_first_batch)
    assert first.batches == 1
    assert first.rows["usage_events"] == first.total == 2  # one statement, two rows: the rest waits
    assert len(await event_times(engine)) == sum(SEEDED.values()) - 2

    rest = await retention(engine, batch_size=2).prune()
    assert rest.rows["usage_events"] == PRUNED_EVENTS - 2
    assert rest.rows["limit_events"] == len(SEEDED) - 3
    # 7 events in batches of 2: 4 statements; 5 limit events: 3; the rollups 3, 2 and 1 rows: 2 + 2 + 1;
    # no stored response: 1
    assert rest.batches == 4 + 3 + 2 + 2 + 1 + 1
    assert len(await event_times(engine)) == 3


async def test_pruning_at_once_from_several_processes_deletes_each_row_once(engine: AsyncEngine) -> None:
    results = await asyncio.gather(*(retention(engine, batch_size=2).prune() for _ in range(3)))
    assert sum(r.rows.get("usage_events", 0) for r in results) == PRUNED_EVENTS
    assert sum(r.total for r in results) == PRUNED_EVENTS + (len(SEEDED) - 3) + 3 + 2 + 1
    assert len(await event_times(engine)) == 3


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with database("postgres", tmp_path) as made:
        yield made


@pytest.mark.postgres
async def test_on_postgresql_a_pass_is_skipped_while_another_process_prunes(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        await migrate.upgrade(engine)
        await seed(engine, SEEDED)
        holder = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK)
            skipped = await retention(engine).prune()
            assert skipped.skipped and skipped.total == 0
            assert len(await event_times(engine)) == sum(SEEDED.values())
        finally:
            await holder.close()  # the lock goes with the session
        done = await retention(engine).prune()
        assert not done.skipped and done.rows["usage_events"] == PRUNED_EVENTS
    finally:
        await engine.dispose()


def test_retention_settings_are_checked_at_start(tmp_path: Path) -> None:
    for env, message in (
        ({"HEADWATER_USAGE_RETENTION_DAYS": "0"}, "usage_retention_days"),
        (
            {"HEADWATER_USAGE_RETENTION_DAYS": "30", "HEADWATER_ROLLUP_RETENTION_DAYS": "7"},
            "HEADWATER_ROLLUP_RETENTION_DAYS is shorter than HEADWATER_USAGE_RETENTION_DAYS",
        ),
    ):
        done = cli("migrate", env={**env, "HEADWATER_DATA_DIR": str(tmp_path)})
        assert done.returncode == 1
        assert message in done.stdout + done.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_running_server_prunes_in_the_background(backend: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old, older, recent = now - timedelta(hours=36), now - timedelta(days=3), now - timedelta(minutes=5)
    with database(backend, tmp_path) as url:

        async def prepare() -> None:
            engine = create_engine(url)
            try:
                await migrate.upgrade(engine)
                await seed(engine, {older: 1, old: 2, recent: 3})
            finally:
                await engine.dispose()

        asyncio.run(prepare())
        env = {
            "HEADWATER_USAGE_RETENTION_DAYS": "1",
            "HEADWATER_ROLLUP_RETENTION_DAYS": "2",
            "HEADWATER_LOG_LEVEL": "info",
        }
        server = start_server(url, extra_env=env)
        try:
            with server.admin() as admin:

                def only_recent_left() -> bool:
                    events = admin.get("/usage/events", params={"limit": 100}).json()["items"]
                    return len(events) == 3

                wait_for(only_recent_left, timeout=30, interval=0.5)
                events = admin.get("/usage/events", params={"limit": 100}).json()["items"]
                assert {datetime.fromisoformat(e["time"]) for e in events} == {recent}
                limited = admin.get("/usage/limit-events", params={"limit": 100}).json()["items"]
                assert [datetime.fromisoformat(e["time"]) for e in limited] == [recent]
                metrics = httpx.get(f"{server.url}/metrics").text
                deleted = [
                    line
                    for line in metrics.splitlines()
                    if line.startswith("headwater_usage_retention_deleted_rows_total")
                ]
                assert deleted and float(deleted[0].split()[-1]) >= 3  # 3 events, their limit events, rollups
        finally:
            log = stop(server.process)
        assert "usage retention: deleted" in log and "usage_events 3" in log

        async def hourly_buckets() -> set[datetime]:
            engine = create_engine(url)
            try:
                async with engine.connect() as conn:
                    table = ROLLUPS["hour"]
                    return set((await conn.execute(select(table.c.bucket).distinct())).scalars())
            finally:
                await engine.dispose()

        hours = asyncio.run(hourly_buckets())
        hour = {moment.replace(minute=0, second=0, microsecond=0) for moment in (old, recent)}
        assert hours == hour  # the 36-hour-old events' rollups are kept, the 3-day-old ones' are not


async def test_the_loop_keeps_going_after_a_failed_pass_and_counts_what_it_pruned() -> None:
    calls: list[str] = []

    async def prune(stopping: Callable[[], bool]) -> Pruned:
        calls.append("pass")
        if len(calls) == 1:
            raise ConnectionError("database is down")
        return Pruned(rows={"usage_events": 4, "usage_hourly": 1})

    loop = Pruner(prune, interval_s=0.05, first_after_s=0)
    loop.start()
    await asyncio.sleep(0.3)
    await loop.stop()
    assert loop.failures == 1 and loop.passes == len(calls) - 1 >= 2
    assert loop.pruned == {"usage_events": 4 * loop.passes, "usage_hourly": loop.passes}
    count = len(calls)
    await asyncio.sleep(0.1)
    assert len(calls) == count  # stopped
