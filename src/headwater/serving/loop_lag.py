"""Event-loop lag: how late a short timer fires, i.e. how long the loop ran something else.

A task sleeps :data:`INTERVAL_S` (10 ms) over and over and records by how much each wake-up came
late. Whatever holds the event loop (a snapshot rebuild, a large JSON parse, a blocking call) delays
every request on the worker by the same amount, and shows here as one long sample.

Two readings, both per worker (``/metrics`` answers for the worker the scrape reached):

* :meth:`LoopLag.take_max` -- the longest lag since the previous call (read and reset by each
  scrape: ``headwater_event_loop_lag_max_seconds`` is the longest stall between two scrapes, so a
  second scraper of the same worker shares the intervals with the first);
* :meth:`LoopLag.histogram` -- every sample in cumulative buckets since start
  (``headwater_event_loop_lag_seconds``), which any number of scrapers may read.

About 100 wake-ups a second, each a timer and a few additions: always on.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass

from headwater.clock import monotonic

INTERVAL_S = 0.010
#: Upper bounds of the histogram's buckets, in seconds (then +Inf).
BUCKETS_S: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class LagHistogram:
    """Cumulative counts per upper bound (the last bound is ``inf``), the sum and the count."""

    buckets: tuple[tuple[float, int], ...]
    sum_s: float
    count: int


class LoopLag:
    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self._counts = [0] * (len(BUCKETS_S) + 1)
        self._sum = 0.0
        self._max = 0.0
        self._task: asyncio.Task[None] | None = None

    def record(self, lag_s: float) -> None:
        lag_s = max(lag_s, 0.0)
        self._counts[bisect.bisect_left(BUCKETS_S, lag_s)] += 1
        self._sum += lag_s
        if lag_s > self._max:
            self._max = lag_s

    def take_max(self) -> float:
        """The longest lag since the previous call (0 when no sample came late)."""
        longest, self._max = self._max, 0.0
        return longest

    def histogram(self) -> LagHistogram:
        cumulative: list[tuple[float, int]] = []
        total = 0
        for bound, count in zip((*BUCKETS_S, float("inf")), self._counts, strict=True):
            total += count
            cumulative.append((bound, total))
        return LagHistogram(tuple(cumulative), self._sum, total)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        interval = self.interval_s
        while True:
            before = monotonic()
            await asyncio.sleep(interval)
            self.record(monotonic() - before - interval)
