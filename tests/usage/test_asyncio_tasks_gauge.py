"""headwater_asyncio_tasks: the exporter reads the event loop's live task count at each scrape."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from headwater.metrics import Metrics


def tasks_value(body: bytes) -> float:
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "headwater_asyncio_tasks":
            return float(family.samples[0].value)
    raise AssertionError("no headwater_asyncio_tasks in /metrics")


async def test_the_gauge_counts_the_loops_tasks_at_scrape_time() -> None:
    scrape = Metrics().exporter()
    before = tasks_value(scrape())
    assert before == len(asyncio.all_tasks()) >= 1  # this test's own task at least

    release = asyncio.Event()
    extra = [asyncio.create_task(release.wait()) for _ in range(5)]
    await asyncio.sleep(0)
    assert tasks_value(scrape()) == before + 5

    release.set()
    await asyncio.gather(*extra)
    assert tasks_value(scrape()) == before


def test_a_fold_without_a_running_loop_keeps_the_last_count() -> None:
    metrics = Metrics()
    metrics.fold()  # no event loop: nothing to count, no error
    assert tasks_value(metrics.exporter()()) == 0.0
