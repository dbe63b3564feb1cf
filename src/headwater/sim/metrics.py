"""The simulator's engine state and its ``/metrics``, under vLLM's metric names.

A request that has been validated asks :meth:`SimEngine.run` to run it. As vLLM's scheduler, the
engine runs a request once it fits: at most ``max_num_seqs`` requests at once, and the tokens held
by the running requests within the KV cache (``kv_cache_tokens``). A request holds its prompt and
its whole reply (every generated sequence) from the moment it starts running until it ends; one
that could never fit runs alone. The others wait, first come first served.

``GET /metrics`` shows, per ``model_name`` (the echoed model, as vLLM labels with its served model
name, with ``engine="0"``), the figures of that work: ``vllm:num_requests_running`` and
``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc`` (the tokens held over the capacity,
0 to 1, shared by every model of the server), the ``vllm:time_to_first_token_seconds`` histogram
(from arrival, so the wait counts, to the first token), ``vllm:prompt_tokens_total`` (counted when a
request starts running), ``vllm:generation_tokens_total`` (counted when it finishes) and
``vllm:request_success_total`` by ``finished_reason`` (``stop``, ``length`` or ``abort``: a request
the client left, running or waiting, or cut by ``:cut``). The models the server lists are there from
the start; at most :data:`MAX_MODELS` names get series of their own, later ones count as ``(other)``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

#: vLLM's buckets of ``vllm:time_to_first_token_seconds``.
TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
FINISHED_REASONS = ("stop", "length", "abort")
#: Model names with series of their own; the sim serves any name, its metrics stay bounded.
MAX_MODELS = 100
OTHER_MODELS = "(other)"
#: vLLM's default of ``--max-num-seqs``.
DEFAULT_MAX_NUM_SEQS = 256
#: The KV cache, in contexts of ``max_model_len`` tokens, when no capacity is given.
DEFAULT_KV_CACHE_CONTEXTS = 16
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


@dataclass(slots=True)
class _Series:
    """One model's figures."""

    running: int = 0
    waiting: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINISHED_REASONS, 0))
    ttft_buckets: list[int] = field(default_factory=lambda: [0] * len(TTFT_BUCKETS))
    ttft_count: int = 0
    ttft_sum: float = 0.0


class Ticket:
    """One request's accounting while it runs: :meth:`first_token` records its time to first token."""

    __slots__ = ("_arrived", "_series", "_timed")

    def __init__(self, series: _Series, arrived: float) -> None:
        self._series = series
        self._arrived = arrived
        self._timed = False

    def first_token(self) -> None:
        if self._timed:
            return
        self._timed = True
        seconds = time.monotonic() - self._arrived
        series = self._series
        series.ttft_count += 1
        series.ttft_sum += seconds
        for index, bound in enumerate(TTFT_BUCKETS):
            if seconds <= bound:
                series.ttft_buckets[index] += 1


@dataclass(slots=True)
class _Waiter:
    tokens: int
    series: _Series
    admitted: asyncio.Future[None]


class SimEngine:
    """Running and waiting requests, the KV cache they hold, and the counters of their work."""

    def __init__(self, kv_cache_tokens: int, max_num_seqs: int, models: Iterable[str] = ()) -> None:
        if kv_cache_tokens < 1 or max_num_seqs < 1:
            raise ValueError("kv_cache_tokens and max_num_seqs must be >= 1")
        self.kv_cache_tokens = kv_cache_tokens
        self.max_num_seqs = max_num_seqs
        self._series: dict[str, _Series] = {}
        self._queue: deque[_Waiter] = deque()
        self._running = 0
        self._held = 0
        for model in models:
            self._of(model)
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Exposition(self))

    @property
    def kv_cache_usage(self) -> float:
        return min(1.0, self._held / self.kv_cache_tokens)

    def _of(self, model: str) -> _Series:
        series = self._series.get(model)
        if series is None:
            if len(self._series) >= MAX_MODELS:
                model = OTHER_MODELS
                series = self._series.get(model)
            if series is None:
                series = self._series[model] = _Series()
        return series

    async def run(
        self,
        model: str,
        prompt_tokens: int,
        generated_tokens: int,
        finished_reason: str,
        work: Callable[[Ticket], Awaitable[None]],
    ) -> None:
        """Wait for room, then ``work``; a cancelled or failed request is counted as aborted."""
        series = self._of(model)
        ticket = Ticket(series, time.monotonic())
        tokens = prompt_tokens + generated_tokens
        try:
            await self._admit(series, tokens)
        except BaseException:  # the client left while the request waited
            series.finished["abort"] += 1
            raise
        series.prompt_tokens += prompt_tokens
        try:
            await work(ticket)
        except BaseException:
            series.finished["abort"] += 1
            raise
        else:
            series.generation_tokens += generated_tokens
            series.finished[finished_reason] += 1
        finally:
            self._release(series, tokens)

    def _fits(self, tokens: int) -> bool:
        if self._running >= self.max_num_seqs:
            return False
        return self._running == 0 or self._held + tokens <= self.kv_cache_tokens

    def _start(self, series: _Series, tokens: int) -> None:
        self._running += 1
        self._held += tokens
        series.running += 1

    async def _admit(self, series: _Series, tokens: int) -> None:
        if not self._queue and self._fits(tokens):
            return self._start(series, tokens)
        waiter = _Waiter(tokens, series, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        series.waiting += 1
        try:
            await waiter.admitted
        except BaseException:
            if waiter.admitted.done() and not waiter.admitted.cancelled():
                self._release(series, tokens)  # admitted, then cancelled before it could run
            else:
                self._queue.remove(waiter)
                series.waiting -= 1
                self._wake()
            raise

    def _release(self, series: _Series, tokens: int) -> None:
        self._running -= 1
        self._held -= tokens
        series.running -= 1
        self._wake()

    def _wake(self) -> None:
        while self._queue and self._fits(self._queue[0].tokens):
            waiter = self._queue.popleft()
            waiter.series.waiting -= 1
            self._start(waiter.series, waiter.tokens)
            waiter.admitted.set_result(None)

    def exposition(self) -> bytes:
        """The Prometheus text of ``GET /metrics``."""
        return generate_latest(self._registry)

    def series(self) -> Iterator[tuple[str, _Series]]:
        return iter(list(self._series.items()))


def _labels(model: str) -> list[str]:
    return [model, "0"]


class _Exposition(Collector):
    def __init__(self, engine: SimEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        labels = ["model_name", "engine"]
        running = GaugeMetricFamily("vllm:num_requests_running", "Requests in execution.", labels=labels)
        waiting = GaugeMetricFamily("vllm:num_requests_waiting", "Requests waiting.", labels=labels)
        kv = GaugeMetricFamily("vllm:kv_cache_usage_perc", "KV-cache usage, 1 is 100%.", labels=labels)
        prompt = CounterMetricFamily("vllm:prompt_tokens", "Prefill tokens processed.", labels=labels)
        generation = CounterMetricFamily(
            "vllm:generation_tokens", "Generation tokens processed.", labels=labels
        )
        success = CounterMetricFamily(
            "vllm:request_success",
            "Successfully processed requests.",
            labels=[*labels, "finished_reason"],
        )
        ttft = HistogramMetricFamily(
            "vllm:time_to_first_token_seconds", "Time to first token in seconds.", labels=labels
        )
        usage = self._engine.kv_cache_usage
        for model, series in self._engine.series():
            values = _labels(model)
            running.add_metric(values, series.running)
            waiting.add_metric(values, series.waiting)
            kv.add_metric(values, usage)
            prompt.add_metric(values, series.prompt_tokens)
            generation.add_metric(values, series.generation_tokens)
            for reason, count in series.finished.items():
                success.add_metric([*values, reason], count)
            buckets = [
                (repr(bound), float(n)) for bound, n in zip(TTFT_BUCKETS, series.ttft_buckets, strict=True)
            ]
            buckets.append(("+Inf", float(series.ttft_count)))
            ttft.add_metric(values, buckets, series.ttft_sum)
        yield from (running, waiting, kv, prompt, generation, success, ttft)


def default_engine(max_model_len: int, models: Iterable[str] = ()) -> SimEngine:
    """vLLM's default ``--max-num-seqs``, and a KV cache of :data:`DEFAULT_KV_CACHE_CONTEXTS` contexts."""
    return SimEngine(max_model_len * DEFAULT_KV_CACHE_CONTEXTS, DEFAULT_MAX_NUM_SEQS, models)
