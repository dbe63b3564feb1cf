"""Reading a model server's ``/metrics`` (vLLM's names) into the figures Headwater keeps.

The body comes from a server Headwater does not control, so it is read defensively: only the lines
of the samples used here are kept (a byte-prefix test, before any parsing), at most
:data:`MAX_SAMPLES` of them, and those are parsed with ``prometheus_client``'s text parser as
untyped samples (a server's ``# TYPE`` lines are not trusted). Values that are not finite, or
negative, are ignored; the KV-cache usage is clamped to 0..1. A server with several ``model_name``
or ``engine`` series is read per model name: running and waiting requests, token counters and the
time-to-first-token buckets are summed over its engines, the KV-cache usage averaged.

:func:`parse` runs in a worker thread (it is CPU work on up to several MiB); :meth:`Samples.reading`
picks a deployment's figures: the series of its upstream model, or the whole server's when no series
carries that name (vLLM labels its metrics with the first ``--served-model-name`` only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_CACHE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")  # the second: vLLM before 0.10
PROMPT = "vllm:prompt_tokens_total"
GENERATION = "vllm:generation_tokens_total"
TTFT = "vllm:time_to_first_token_seconds"
_WANTED = tuple(
    name.encode()
    for name in (RUNNING, WAITING, *KV_CACHE, PROMPT, GENERATION, f"{TTFT}_bucket", f"{TTFT}_sum")
)
#: Lines of wanted samples read from one body; beyond them the body is refused.
MAX_SAMPLES = 10_000
#: Model names, and histogram buckets per model, kept from one body.
MAX_MODELS = 256
MAX_BUCKETS = 64


class Unreadable(ValueError):
    """The body is not Prometheus text, or holds too much of it."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """Finite upper bounds with their cumulative counts, ascending; ``count`` is the ``+Inf`` bucket."""

    buckets: tuple[tuple[float, float], ...]
    count: float
    sum: float


@dataclass(frozen=True, slots=True)
class Reading:
    """One deployment's figures from one scrape (None: the server did not report it)."""

    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    time_to_first_token: Histogram | None = None
    prompt_tokens: float | None = None
    generation_tokens: float | None = None


@dataclass(slots=True)
class _Figures:
    sums: dict[str, float] = field(default_factory=dict)
    kv: list[float] = field(default_factory=list)
    buckets: dict[float, float] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value

    def merge(self, other: _Figures) -> None:
        for name, value in other.sums.items():
            self.add(name, value)
        self.kv.extend(other.kv)
        for bound, count in other.buckets.items():
            self.buckets[bound] = self.buckets.get(bound, 0.0) + count

    def reading(self) -> Reading:
        histogram = None
        if math.inf in self.buckets:
            finite = tuple(sorted((b, c) for b, c in self.buckets.items() if b != math.inf))
            histogram = Histogram(finite, self.buckets[math.inf], self.sums.get(f"{TTFT}_sum", 0.0))
        return Reading(
            running=self.sums.get(RUNNING),
            waiting=self.sums.get(WAITING),
            kv_cache_usage=min(1.0, sum(self.kv) / len(self.kv)) if self.kv else None,
            time_to_first_token=histogram,
            prompt_tokens=self.sums.get(PROMPT),
            generation_tokens=self.sums.get(GENERATION),
        )


@dataclass(slots=True)
class Samples:
    """A body's figures by ``model_name`` ("" for samples without one)."""

    by_model: dict[str, _Figures] = field(default_factory=dict)

    def reading(self, upstream_model: str) -> Reading:
        own = self.by_model.get(upstream_model)
        if own is not None:
            return own.reading()
        whole = _Figures()
        for figures in self.by_model.values():
            whole.merge(figures)
        return whole.reading()


def _sample_lines(body: bytes) -> list[str] | None:
    """The lines of wanted samples (None: the body has none of vLLM's metrics)."""
    kept: list[str] = []
    vllm = False
    for line in body.split(b"\n"):
        if line.startswith(_WANTED):
            if len(kept) >= MAX_SAMPLES:
                raise Unreadable(f"more than {MAX_SAMPLES} samples of the metrics read")
            kept.append(line.decode("utf-8", "replace"))
        elif not vllm and line.startswith(b"vllm:"):
            vllm = True
    return kept if kept or vllm else None


def parse(body: bytes) -> Samples | None:
    """The figures of a ``/metrics`` body; None when it has no vLLM metrics; :class:`Unreadable`."""
    lines = _sample_lines(body)
    if lines is None:
        return None
    samples = Samples()
    try:
        for family in text_string_to_metric_families("\n".join(lines) + "\n"):
            for sample in family.samples:
                _add(samples, sample.name, sample.labels, sample.value)
    except (ValueError, TypeError, IndexError) as exc:
        raise Unreadable(f"not Prometheus text ({type(exc).__name__})") from None
    return samples


def _add(samples: Samples, name: str, labels: dict[str, str], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        return
    model = labels.get("model_name", "")
    figures = samples.by_model.get(model)
    if figures is None:
        if len(samples.by_model) >= MAX_MODELS:
            return
        figures = samples.by_model[model] = _Figures()
    if name in KV_CACHE:
        figures.kv.append(min(value, 1.0))
    elif name == f"{TTFT}_bucket":
        try:
            bound = float(labels.get("le", ""))
        except ValueError:
            return
        if bound >= 0 and (bound in figures.buckets or len(figures.buckets) < MAX_BUCKETS):
            figures.buckets[bound] = figures.buckets.get(bound, 0.0) + value
    else:
        figures.add(name, value)
