"""Prometheus metrics of one Headwater process, correct whatever the number of workers.

``headwater serve`` runs prometheus_client's multiprocess mode (:mod:`headwater.serving.metrics_dir`
gives every process a private ``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to
memory-mapped files there, and a scrape, whichever worker it reaches, reads the files of all of
them. Counters and histograms are summed over every worker that ever ran (a replaced worker's counts
are kept); gauges are read over the live workers only, each the way its meaning asks
(:data:`GAUGE_MODES`). An application built in-process without that variable (tests, embedding)
exposes the same metrics from an ordinary registry.

Nothing is counted on the request path beyond a list append (the usage and limit events, see
:mod:`headwater.request_metrics`) and an integer add (the calls in flight). The values the running
parts keep themselves (:class:`Readings`) are copied into the metrics with the events, by
:meth:`Metrics.fold`: about once a second in the background (:meth:`Metrics.start`) and right before
each scrape.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from headwater.request_metrics import SLICE, RequestMetrics
from headwater.serving.loop_lag import BUCKETS_S as LOOP_LAG_BUCKETS_S

log = logging.getLogger("headwater.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: How often the background task folds the events and readings into the metrics.
FOLD_INTERVAL_S = 1.0


def _zero() -> float:
    return 0.0


@dataclass(frozen=True)
class Readings:
    """Where each value comes from: zero-argument callables, read when the metrics are folded."""

    snapshot_revision: Callable[[], float]
    snapshot_age_s: Callable[[], float]
    usage_written: Callable[[], float]
    usage_pending: Callable[[], float]
    usage_dropped: Callable[[], float]
    limits_degraded: Callable[[], float]
    limits_degraded_calls: Callable[[], float]
    usage_dead_letters: Callable[[], float] = _zero
    limit_events_dead_letters: Callable[[], float] = _zero
    signin_failures_unaudited: Callable[[], float] = _zero
    #: The longest event-loop stall since the previous call (read and reset).
    loop_lag_max_s: Callable[[], float] = _zero
    #: Bytes of usage events kept on disk until the database takes them.
    usage_journal_bytes: Callable[[], float] = _zero
    usage_journal_failures: Callable[[], float] = _zero
    #: Rows the retention task deleted (events and rollups), and its passes that failed.
    retention_deleted: Callable[[], float] = _zero
    retention_failures: Callable[[], float] = _zero
    #: Gateway calls admitted and not finished yet.
    requests_in_flight: Callable[[], float] = _zero


#: How the live workers' values of a gauge combine.
GaugeMode = Literal["livesum", "livemax", "livemin"]

#: The gauges (reading name → metric name, help, how workers' values combine).
GAUGES: dict[str, tuple[str, str, GaugeMode]] = {
    "snapshot_revision": (
        "headwater_snapshot_revision",
        "Configuration revision served (the lowest of the workers).",
        "livemin",
    ),
    "snapshot_age_s": (
        "headwater_snapshot_age_seconds",
        "Seconds since the snapshot was last confirmed current (the stalest worker; -1: not loaded).",
        "livemax",
    ),
    "usage_pending": (
        "headwater_usage_events_pending",
        "Usage events waiting for the batched writer (all workers).",
        "livesum",
    ),
    "limits_degraded": (
        "headwater_limits_degraded",
        "1 while the shared (Redis) limiter is unreachable and limits are per process (fail open).",
        "livemax",
    ),
    "usage_journal_bytes": (
        "headwater_usage_journal_bytes",
        "Bytes of usage events kept on disk until the database takes them (all workers).",
        "livesum",
    ),
    "requests_in_flight": (
        "headwater_requests_in_flight",
        "Gateway calls admitted and not finished yet (all workers).",
        "livesum",
    ),
}
#: How each gauge combines the live workers' values.
GAUGE_MODES = {name: mode for name, _, mode in GAUGES.values()}

#: The counters kept by the running parts (reading name → metric name, help).
COUNTERS: dict[str, tuple[str, str]] = {
    "usage_written": ("headwater_usage_events_written", "Usage events written to the database."),
    "usage_journal_failures": (
        "headwater_usage_journal_failures",
        "Times the usage journal could not be written (see /readyz).",
    ),
    "retention_deleted": (
        "headwater_usage_retention_deleted_rows",
        "Rows of usage events, limit events, rollups and expired stored responses deleted by retention.",
    ),
    "retention_failures": (
        "headwater_usage_retention_failures",
        "Retention passes that failed (the database unreachable): tried again at the next interval.",
    ),
    "usage_dropped": (
        "headwater_usage_events_dropped",
        "Usage events lost: the buffer was full, or the database refused even their dead letter.",
    ),
    "usage_dead_letters": (
        "headwater_usage_dead_letters",
        "Usage events the database refused for their data, kept in the dead_letters table.",
    ),
    "limit_events_dead_letters": (
        "headwater_limit_events_dead_letters",
        "Limit events the database refused for their data, kept in the dead_letters table.",
    ),
    "limits_degraded_calls": (
        "headwater_limits_degraded_calls",
        "Admissions decided by the per-process fallback while the shared limiter was unreachable.",
    ),
    "signin_failures_unaudited": (
        "headwater_signin_failures_unaudited",
        "Failed browser sign-ins past the audit rate (logged in aggregate, not audited one by one).",
    ),
}


def multiprocess_dir() -> str | None:
    """The multiprocess directory this process writes its metrics to, if any."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Every metric of the process: built by the composition root, one per application."""

    def __init__(self, *, principal_labels: bool = False) -> None:
        self.directory = multiprocess_dir()
        if self.directory and values.ValueClass is values.MutexValue:
            raise RuntimeError(f"{MULTIPROC_ENV} was set after prometheus_client was imported")
        # No ``*_created`` series (multiprocess mode has none): the same metrics either way.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        #: The gateway's usage and limit events: the sink, and the metrics they become.
        self.requests = RequestMetrics(principal_labels=principal_labels)
        self.loop_lag = Histogram(
            "headwater_event_loop_lag_seconds",
            "How late each 10 ms event-loop timer woke, since each worker started.",
            buckets=LOOP_LAG_BUCKETS_S,
            registry=None,
        )
        self.loop_lag_max = Gauge(
            "headwater_event_loop_lag_max_seconds",
            "Longest event-loop stall (how late a 10 ms timer woke) of a worker since that worker was"
            " last scraped (the longest of the workers).",
            registry=None,
            multiprocess_mode="livemax",
        )
        self._gauges = {
            reading: Gauge(name, text, registry=None, multiprocess_mode=mode)
            for reading, (name, text, mode) in GAUGES.items()
        }
        #: Read from the event loop itself (not a reading): a steady count under steady load, a
        #: growing one is a task leak (``make bench --soak`` watches it).
        self.asyncio_tasks = Gauge(
            "headwater_asyncio_tasks",
            "asyncio tasks alive in the event loop (all workers; each worker's count as of its last"
            " fold, about once a second, the scraped worker's as of the scrape).",
            registry=None,
            multiprocess_mode="livesum",
        )
        self._counters = {
            reading: Counter(name, text, registry=None) for reading, (name, text) in COUNTERS.items()
        }
        self._counted = dict.fromkeys(COUNTERS, 0.0)
        self._lag_max = 0.0
        self._readings: Readings | None = None
        self._task: asyncio.Task[None] | None = None

    def read(self, readings: Readings) -> None:
        """Where the values kept by the running parts come from."""
        self._readings = readings

    def fold(self) -> None:
        """Bring every metric up to date: the buffered events, then the readings."""
        self.requests.fold()
        self._fold_readings()

    def exporter(self, extra: Iterable[Collector] = ()) -> Callable[[], bytes]:
        """The ``/metrics`` body: this process's metrics (all workers'), then ``extra`` collectors."""
        registry = CollectorRegistry(auto_describe=False)
        if self.directory:
            MultiProcessCollector(registry, self.directory)  # type: ignore[no-untyped-call]
        else:
            for metric in (
                *self.requests.families,
                self.loop_lag,
                self.loop_lag_max,
                *self._gauges.values(),
                self.asyncio_tasks,
                *self._counters.values(),
            ):
                registry.register(metric)
        for collector in extra:
            registry.register(collector)

        def scrape() -> bytes:
            self.fold()
            body = generate_latest(registry)
            self._lag_max = 0.0  # the longest stall is reported once per scrape of this worker
            self.loop_lag_max.set(0.0)
            return body

        return scrape

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="metrics")

    async def stop(self) -> None:
        """Stop the background task and fold what is left (call it after the usage writer closed)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.fold()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FOLD_INTERVAL_S)
            try:
                left = self.requests.fold(SLICE)
                while left:  # a slice at a time, yielding between: never one long stall
                    await asyncio.sleep(0)
                    left = self.requests.fold(SLICE)
                self._fold_readings()
            except Exception:  # a defect here must not end the metrics for the worker's lifetime
                log.exception("folding the metrics failed")

    def _fold_tasks(self) -> None:
        try:
            tasks = len(asyncio.all_tasks())
        except RuntimeError:  # no running loop (a fold at shutdown): keep the last count
            return
        self.asyncio_tasks.set(tasks)

    def _fold_readings(self) -> None:
        self._fold_tasks()
        r = self._readings
        if r is None:
            return
        for reading, gauge in self._gauges.items():
            gauge.set(getattr(r, reading)())
        for reading, counter in self._counters.items():
            now = getattr(r, reading)()
            if now > self._counted[reading]:
                counter.inc(now - self._counted[reading])
                self._counted[reading] = now
        self._lag_max = max(self._lag_max, r.loop_lag_max_s())
        self.loop_lag_max.set(self._lag_max)


def exporter(readings: Readings, metrics: Metrics, extra: Iterable[Collector] = ()) -> Callable[[], bytes]:
    """``metrics`` fed from ``readings``; the ``/metrics`` body with ``extra`` collectors after them."""
    metrics.read(readings)
    return metrics.exporter(extra)
