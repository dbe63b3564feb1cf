"""The model servers' runtime metrics on Headwater's ``/metrics``, labelled ``{model, deployment}``.

Read at scrape time from the :class:`~headwater.catalog.runtime.RuntimeScraper` (nothing is counted
on the request path). A deployment whose server has no vLLM metrics (not exposed) has no series; a
server that had them, or was never reached, has ``headwater_model_runtime_up`` 0 while it cannot be
read, and its other series only while it can. The throughput gauge needs two successful scrapes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from headwater.catalog.runtime import RuntimeScraper

_LABELS = ("model", "deployment")


def _bound(seconds: float) -> str:
    return "+Inf" if math.isinf(seconds) else repr(seconds)


class RuntimeCollector(Collector):
    def __init__(self, scraper: RuntimeScraper) -> None:
        self._scraper = scraper

    def describe(self) -> Iterator[Metric]:
        return self._families(scrape=False)

    def collect(self) -> Iterator[Metric]:
        return self._families(scrape=True)

    def _families(self, *, scrape: bool) -> Iterator[Metric]:
        labels = list(_LABELS)
        up = GaugeMetricFamily(
            "headwater_model_runtime_up",
            "1 when the deployment's server metrics (vLLM) were read at the last scrape, else 0.",
            labels=labels,
        )
        running = GaugeMetricFamily(
            "headwater_model_requests_running", "Requests the model server is running.", labels=labels
        )
        waiting = GaugeMetricFamily(
            "headwater_model_requests_waiting", "Requests waiting in the model server.", labels=labels
        )
        kv_cache = GaugeMetricFamily(
            "headwater_model_kv_cache_usage_ratio",
            "The model server's KV-cache usage, 0 to 1.",
            labels=labels,
        )
        ttft = HistogramMetricFamily(
            "headwater_model_time_to_first_token_seconds",
            "Time to first token measured by the model server.",
            labels=labels,
        )
        prompt = CounterMetricFamily(
            "headwater_model_prompt_tokens", "Prompt tokens the model server processed.", labels=labels
        )
        generation = CounterMetricFamily(
            "headwater_model_generation_tokens", "Tokens the model server generated.", labels=labels
        )
        throughput = GaugeMetricFamily(
            "headwater_model_generation_tokens_per_second",
            "Generation throughput between the last two scrapes of the model server.",
            labels=labels,
        )
        for runtime in self._scraper.all() if scrape else ():
            if runtime.scraped_at is None or runtime.exposed is False:
                continue
            values = [runtime.model, runtime.deployment]
            up.add_metric(values, 1.0 if runtime.up else 0.0)
            if not runtime.up:
                continue
            reading = runtime.reading
            for family, value in (
                (running, reading.running),
                (waiting, reading.waiting),
                (kv_cache, reading.kv_cache_usage),
                (prompt, reading.prompt_tokens),
                (generation, reading.generation_tokens),
                (throughput, runtime.generation_tokens_per_second),
            ):
                if value is not None:
                    family.add_metric(values, value)
            histogram = reading.time_to_first_token
            if histogram is not None:
                buckets = [(_bound(bound), count) for bound, count in histogram.buckets]
                buckets.append(("+Inf", histogram.count))
                ttft.add_metric(values, buckets, histogram.sum)
        yield from (up, running, waiting, kv_cache, ttft, prompt, generation, throughput)
