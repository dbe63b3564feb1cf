"""Prometheus metrics, read from the running parts when scraped (nothing is counted per request).

With several workers each answers for itself (a scrape reaches one of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from headwater.serving.loop_lag import LagHistogram


def _zero() -> float:
    return 0.0


@dataclass(frozen=True)
class Readings:
    """Where each value comes from: zero-argument callables, read at scrape time."""

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
    #: The longest event-loop stall since the previous scrape (read and reset).
    loop_lag_max_s: Callable[[], float] = _zero
    #: Every event-loop lag sample since start, in buckets (None: not sampled).
    loop_lag: Callable[[], LagHistogram] | None = None


class _Collector(Collector):
    def __init__(self, readings: Readings) -> None:
        self._r = readings

    def collect(self) -> Iterator[Metric]:
        r = self._r
        yield GaugeMetricFamily(
            "headwater_snapshot_revision", "Configuration revision this worker serves.", r.snapshot_revision()
        )
        yield GaugeMetricFamily(
            "headwater_snapshot_age_seconds",
            "Seconds since the snapshot was last confirmed current.",
            r.snapshot_age_s(),
        )
        yield CounterMetricFamily(
            "headwater_usage_events_written", "Usage events written to the database.", r.usage_written()
        )
        yield GaugeMetricFamily(
            "headwater_usage_events_pending",
            "Usage events waiting for the batched writer.",
            r.usage_pending(),
        )
        yield CounterMetricFamily(
            "headwater_usage_events_dropped",
            "Usage events lost: the buffer was full, or the database refused even their dead letter.",
            r.usage_dropped(),
        )
        yield CounterMetricFamily(
            "headwater_usage_dead_letters",
            "Usage events the database refused for their data, kept in the dead_letters table.",
            r.usage_dead_letters(),
        )
        yield CounterMetricFamily(
            "headwater_limit_events_dead_letters",
            "Limit events the database refused for their data, kept in the dead_letters table.",
            r.limit_events_dead_letters(),
        )
        yield GaugeMetricFamily(
            "headwater_limits_degraded",
            "1 while the shared (Redis) limiter is unreachable and limits are per process (fail open).",
            r.limits_degraded(),
        )
        yield CounterMetricFamily(
            "headwater_limits_degraded_calls",
            "Admissions decided by the per-process fallback while the shared limiter was unreachable.",
            r.limits_degraded_calls(),
        )
        yield CounterMetricFamily(
            "headwater_signin_failures_unaudited",
            "Failed browser sign-ins past the audit rate (logged in aggregate, not audited one by one).",
            r.signin_failures_unaudited(),
        )
        yield GaugeMetricFamily(
            "headwater_event_loop_lag_max_seconds",
            "Longest event-loop stall (how late a 10 ms timer woke) since this worker was last scraped.",
            r.loop_lag_max_s(),
        )
        if r.loop_lag is not None:
            lag = r.loop_lag()
            yield HistogramMetricFamily(
                "headwater_event_loop_lag_seconds",
                "How late each 10 ms event-loop timer woke, since the worker started.",
                buckets=[(_bound(bound), float(count)) for bound, count in lag.buckets],
                sum_value=lag.sum_s,
            )


def _bound(seconds: float) -> str:
    return "+Inf" if seconds == float("inf") else repr(seconds)


def exporter(readings: Readings) -> Callable[[], bytes]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(readings))
    return lambda: generate_latest(registry)
