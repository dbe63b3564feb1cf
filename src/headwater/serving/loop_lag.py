"""Event-loop lag: how late a short timer fires, i.e. how long the loop ran something else.

A task sleeps :data:`INTERVAL_S` (10 ms) over and over and records by how much each wake-up came
late. Whatever holds the event loop (a snapshot rebuild, a large JSON parse, a blocking call) delays
every request on the worker by the same amount, and shows here as one long sample.

Two readings (:mod:`headwater.metrics` puts them on ``/metrics``, over all the workers):

* :meth:`LoopLag.take_max` -- the longest lag since the previous call (read and reset:
  ``headwater_event_loop_lag_max_seconds`` is each worker's longest stall since that worker was last
  scraped, so a second scraper shares the intervals with the first);
* every sample, handed to ``observe`` (the histogram ``headwater_event_loop_lag_seconds``).

About 100 wake-ups a second, each a timer and a few additions: always on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from headwater.clock import monotonic

INTERVAL_S = 0.010
#: Upper bounds of the histogram's buckets, in seconds (then +Inf).
BUCKETS_S: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LoopLag:
    def __init__(
        self, interval_s: float = INTERVAL_S, observe: Callable[[float], None] | None = None
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        #: Also given every sample (the ``/metrics`` histogram, summed over the workers).
        self._observe = observe
        self._max = 0.0
        self._task: asyncio.Task[None] | None = None

    def record(self, lag_s: float) -> None:
        lag_s = max(lag_s, 0.0)
        if lag_s > self._max:
            self._max = lag_s
        if self._observe is not None:
            self._observe(lag_s)

    def take_max(self) -> float:
        """The longest lag since the previous call (0 when no sample came late)."""
        longest, self._max = self._max, 0.0
        return longest

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
