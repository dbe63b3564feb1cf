"""Event-loop lag on /metrics: a call that blocks a worker's event loop shows as a stall of that length.

The real application (the composition root, started as its lifespan starts it) on a SQLite
database; /metrics is scraped through ASGI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from headwater.main import Headwater, create_app
from headwater.settings import Settings

BLOCK_S = 1.0


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Headwater]:
    started = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}"))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def scrape(app: Headwater) -> dict[str, float]:
    """Every sample of /metrics: ``name`` or ``name{le}`` for histogram buckets → value."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://headwater") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            le = sample.labels.get("le")
            samples[f"{sample.name}{{{le}}}" if le else sample.name] = sample.value
    return samples


async def test_a_blocking_call_shows_as_the_longest_stall_then_the_maximum_resets(app: Headwater) -> None:
    await asyncio.sleep(0.05)  # the sampler is running
    before = await scrape(app)
    assert before["headwater_event_loop_lag_seconds_count"] >= 1

    time.sleep(BLOCK_S)  # what a long synchronous computation does to the loop
    await asyncio.sleep(0.05)  # the sampler wakes, BLOCK_S late
    after = await scrape(app)

    assert after["headwater_event_loop_lag_max_seconds"] >= BLOCK_S - 0.1
    stalls = after["headwater_event_loop_lag_seconds_bucket{+Inf}"]
    assert stalls - after["headwater_event_loop_lag_seconds_bucket{0.5}"] >= 1  # one sample past 0.5 s
    assert after["headwater_event_loop_lag_seconds_sum"] >= BLOCK_S - 0.1
    assert after["headwater_event_loop_lag_seconds_count"] > before["headwater_event_loop_lag_seconds_count"]

    again = await scrape(app)  # the maximum is per scrape: the stall was reported once
    assert again["headwater_event_loop_lag_max_seconds"] < BLOCK_S - 0.1
    assert again["headwater_event_loop_lag_seconds_bucket{+Inf}"] >= stalls  # the histogram keeps it


async def test_the_sampler_stops_with_the_application(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}"))
    await app.start()
    assert any(task.get_name() == "loop-lag" for task in asyncio.all_tasks())
    await app.stop()
    assert not any(task.get_name() == "loop-lag" for task in asyncio.all_tasks())
