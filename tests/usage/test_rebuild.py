"""Rebuilding the rollups: exact again after they drifted, safe beside a running writer, and refused
where it would lose what retention left only in the rollups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate, rollups
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.retention import SqlRetention
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.rollup import GRAINS
from tests.conftest import BACKENDS
from tests.support import database
from tests.usage.test_retention import usage_event


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as made:
        yield made


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(url)
    await migrate.upgrade(made)
    try:
        yield made
    finally:
        await made.dispose()


async def totals(engine: AsyncEngine) -> dict[str, tuple[int, int]]:
    """(requests, cost units) of the events and of each rollup table."""
    async with engine.connect() as conn:
        events = (await conn.execute(select(usage_events.c.cost))).scalars().all()
        found = {"events": (len(events), sum(int(cost.scaleb(12)) for cost in events))}
        for grain in GRAINS:
            table = ROLLUPS[grain]
            row = (await conn.execute(select(func.sum(table.c.requests), func.sum(table.c.cost_units)))).one()
            found[grain] = (int(row[0] or 0), int(row[1] or 0))
    return found


def consistent(found: dict[str, tuple[int, int]]) -> bool:
    return len(set(found.values())) == 1


async def test_rebuild_makes_drifted_rollups_exact_again(engine: AsyncEngine) -> None:
    store = SqlUsageStore(engine)
    moments = [at("2026-09-17T08:05"), at("2026-10-01T00:00"), at("2026-10-31T23:59"), at("2026-11-02T10:30")]
    await store.write([usage_event(moment, n) for n, moment in enumerate(moments)])
    async with engine.begin() as conn:  # someone "fixed" the rollups by hand
        month = ROLLUPS["month"]
        await conn.execute(
            update(month)
            .where(month.c.bucket == at("2026-10-01T00:00"))
            .values(requests=month.c.requests + 7)
        )
        await conn.execute(delete(ROLLUPS["hour"]).where(ROLLUPS["hour"].c.bucket >= at("2026-10-01T00:00")))
    assert not consistent(await totals(engine))
    # the oldest event's month starts with it mid-month: still rebuilt (not mistaken for pruned)
    assert await rollups.rebuild(engine, at("2026-09-20T00:00")) == 4
    found = await totals(engine)
    assert consistent(found) and found["events"][0] == 4


async def test_rebuild_beside_a_running_writer_counts_every_event_once(engine: AsyncEngine) -> None:
    """Writers wait while a rebuild holds the rollups: nothing is folded twice or lost."""
    store = SqlUsageStore(engine)
    base = at("2026-11-03T09:00")
    await store.write([usage_event(base + timedelta(minutes=n), n) for n in range(300)])

    async def write_more() -> None:
        for batch in range(40):
            events = [
                usage_event(base + timedelta(hours=batch, seconds=n), 1000 + batch * 50 + n)
                for n in range(50)
            ]
            await store.write(events)
            await asyncio.sleep(0)

    async def rebuild_repeatedly() -> None:
        for _ in range(5):
            await rollups.rebuild(engine, base)
            await asyncio.sleep(0.01)

    await asyncio.gather(write_more(), rebuild_repeatedly())
    found = await totals(engine)
    assert consistent(found) and found["events"][0] == 300 + 40 * 50


async def test_rebuild_refuses_to_lose_rollups_whose_events_were_pruned(engine: AsyncEngine) -> None:
    store = SqlUsageStore(engine)
    await store.write([usage_event(at("2026-10-10T10:00"), 1), usage_event(at("2026-11-19T10:00"), 2)])
    now = at("2026-11-20T12:00")
    pruned = await SqlRetention(engine, usage_days=2, rollup_days=60, pause_s=0, now=lambda: now).prune()
    assert pruned.rows["usage_events"] == 1  # October's event is gone, its rollups are kept
    with pytest.raises(ValueError, match="no longer stored"):
        await rollups.rebuild(engine, at("2026-10-01T00:00"))
    kept: dict[str, tuple[int, int]] = {grain: (2, 25_000_000_000) for grain in GRAINS}
    assert await totals(engine) == {
        "events": (1, 12_500_000_000),
        **kept,
    }
    assert await rollups.rebuild(engine, at("2026-11-01T00:00")) == 1  # November: all its events are here


async def test_rebuild_refuses_a_month_whose_first_days_are_only_in_its_monthly_row(
    engine: AsyncEngine,
) -> None:
    """Raw and rollup retention alike: November 2's hour and day rows went with its events, November's
    monthly row still counts them; rebuilding November would silently drop them."""
    store = SqlUsageStore(engine)
    await store.write([usage_event(at("2026-11-02T10:00"), 1), usage_event(at("2026-11-19T10:00"), 2)])
    now = at("2026-11-20T12:00")
    await SqlRetention(engine, usage_days=10, rollup_days=10, pause_s=0, now=lambda: now).prune()
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(ROLLUPS["hour"]))).scalar_one() == 1
    with pytest.raises(ValueError, match="no longer stored"):
        await rollups.rebuild(engine, at("2026-11-01T00:00"))
    assert await rollups.rebuild(engine, at("2026-12-01T00:00")) == 0  # later months: nothing to lose
