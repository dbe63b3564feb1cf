"""Request metrics, folded from the gateway's usage and limit events off the request path.

The gateway already emits one :class:`~headwater.usage.events.UsageEvent` per finished call and one
:class:`~headwater.usage.events.LimitEvent` per limit refusal or warning. :class:`RequestMetrics` is
one more sink for them whose ``emit`` and ``limit`` are a list append each: the request path pays
nothing else. :meth:`RequestMetrics.fold` turns the buffered events into the Prometheus counters
and histograms: the process's metrics task calls it about once a second (a slice at a time,
yielding between slices), and the scrape calls it once more before it reads the values.

Counters are summed per label set, and histogram observations counted per bucket, before they are
written (a write per label set and bucket per fold, not per event): folding costs about 2 µs of CPU
per event.

Labels (all bounded by what an administrator configures): ``model`` (the public model name),
``endpoint`` (chat, completions, embeddings, responses, messages), ``status_class`` (``2xx``,
``4xx``, ``5xx`` from the answer's HTTP status; a client that left is 499, so ``4xx``),
``currency``, ``deployment``, and the upstream error ``kind`` (:func:`upstream_error_kind`).
``principal`` and ``key`` (the key's id, or ``oidc`` / ``header`` for callers without a key) are
added to the request, token and cost counters only when ``HEADWATER_METRICS_PRINCIPAL_LABELS`` is
set: they grow with the number of callers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from headwater.usage.events import LimitEvent, UsageEvent

#: Whole calls: from the request's arrival to the last byte of the answer.
DURATION_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: From the request's arrival to the first streamed token.
TTFT_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0)
#: Between two streamed tokens.
TPOT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0)
#: Events folded before the metrics task yields to the event loop (~2.2 µs each: 100 hold it ~0.25 ms).
SLICE = 100

PRINCIPAL_LABELS = ("principal", "key")

E = TypeVar("E")
_ZERO = Decimal(0)


def status_class(http_status: int) -> str:
    return f"{http_status // 100}xx"


def upstream_error_kind(http_status: int) -> str:
    """What went wrong with a deployment, from the status of a failed call the gateway answered.

    - ``timeout`` (504): no answer in time, or the call's deadline passed (a stream cut by it too);
    - ``bad_gateway`` (502): an answer the gateway could not use: the upstream's 5xx, a redirect, a
      refused credential, a broken or oversized response, a stream that broke or ended early;
    - ``throttled`` (429): the upstream's own rate limit, relayed;
    - ``upstream_4xx``: another 4xx the upstream gave and the gateway relayed;
    - ``upstream_5xx``: another 5xx, e.g. a stream cut because the server shut down (503).
    """
    if http_status == 504:
        return "timeout"
    if http_status == 502:
        return "bad_gateway"
    if http_status == 429:
        return "throttled"
    if 400 <= http_status < 500:
        return "upstream_4xx"
    return "upstream_5xx"


class RequestMetrics:
    """The sink of usage and limit events, and the request metrics they become."""

    def __init__(self, *, principal_labels: bool = False) -> None:
        self._usage: list[UsageEvent] = []
        self._limits: list[LimitEvent] = []
        #: The usage sink and the limit-event sink: a list append each.
        self.emit = self._usage.append
        self.limit = self._limits.append
        self.principal_labels = principal_labels
        who = PRINCIPAL_LABELS if principal_labels else ()
        self.requests = Counter(
            "headwater_requests",
            "Calls the gateway admitted and answered, by model, endpoint and status class.",
            ("model", "endpoint", "status_class", *who),
            registry=None,
        )
        self.prompt_tokens = Counter(
            "headwater_prompt_tokens",
            "Prompt (input) tokens of finished calls.",
            ("model", *who),
            registry=None,
        )
        self.completion_tokens = Counter(
            "headwater_completion_tokens",
            "Completion (output) tokens of finished calls.",
            ("model", *who),
            registry=None,
        )
        self.cost = Counter(
            "headwater_cost",
            "Cost of finished calls at the model's prices (exact amounts are in the usage events).",
            ("model", "currency", *who),
            registry=None,
        )
        self.duration = Histogram(
            "headwater_request_duration_seconds",
            "Duration of admitted calls, from the request's arrival to the end of the answer.",
            ("model", "endpoint"),
            buckets=DURATION_BUCKETS_S,
            registry=None,
        )
        self.ttft = Histogram(
            "headwater_time_to_first_token_seconds",
            "Time from a streamed call's arrival to its first token.",
            ("model",),
            buckets=TTFT_BUCKETS_S,
            registry=None,
        )
        self.tpot = Histogram(
            "headwater_time_per_output_token_seconds",
            "Inter-token latency of successful streamed calls: (duration - TTFT) / (completion tokens - 1).",
            ("model",),
            buckets=TPOT_BUCKETS_S,
            registry=None,
        )
        self.refusals = Counter(
            "headwater_limit_refusals",
            "Calls refused (action=denied) or let through over a soft limit (action=warned), by limit kind.",
            ("reason", "action"),
            registry=None,
        )
        self.upstream_errors = Counter(
            "headwater_upstream_errors",
            "Failed calls that reached a deployment, by deployment and kind of failure.",
            ("deployment", "kind"),
            registry=None,
        )

    @property
    def families(self) -> tuple[MetricWrapperBase, ...]:
        return (
            self.requests,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost,
            self.duration,
            self.ttft,
            self.tpot,
            self.refusals,
            self.upstream_errors,
        )

    def fold(self, limit: int | None = None) -> bool:
        """Fold up to ``limit`` buffered events of each kind (all: None); whether some are left."""
        usage = _take(self._usage, limit)
        limits = _take(self._limits, limit)
        if usage:
            self._fold_usage(usage)
        if limits:
            self._fold_limits(limits)
        return bool(self._usage or self._limits)

    def _fold_usage(self, events: Sequence[UsageEvent]) -> None:
        requests: dict[tuple[str, ...], int] = {}
        prompt: dict[tuple[str, ...], int] = {}
        completion: dict[tuple[str, ...], int] = {}
        cost: dict[tuple[str, ...], Decimal] = {}
        errors: dict[tuple[str, str], int] = {}
        durations: dict[tuple[str, ...], list[float]] = {}
        ttft: dict[tuple[str, ...], list[float]] = {}
        tpot: dict[tuple[str, ...], list[float]] = {}
        who = self.principal_labels
        for event in events:
            model = event.model
            extra = (event.principal, event.key_id) if who else ()
            labels = (model, event.endpoint, status_class(event.http_status), *extra)
            requests[labels] = requests.get(labels, 0) + 1
            tokens = (model, *extra)
            prompt[tokens] = prompt.get(tokens, 0) + event.prompt_tokens
            completion[tokens] = completion.get(tokens, 0) + event.completion_tokens
            money = (model, event.currency, *extra)
            cost[money] = cost.get(money, _ZERO) + event.cost
            durations.setdefault((model, event.endpoint), []).append(event.latency_ms / 1000.0)
            if event.streamed and event.ttft_ms is not None:
                ttft.setdefault((model,), []).append(event.ttft_ms / 1000.0)
                between = event.latency_ms - event.ttft_ms
                if event.status == "success" and event.completion_tokens > 1 and between >= 0:
                    tpot.setdefault((model,), []).append(between / 1000.0 / (event.completion_tokens - 1))
            if event.status == "error" and event.deployment:
                failure = (event.deployment, upstream_error_kind(event.http_status))
                errors[failure] = errors.get(failure, 0) + 1
        for family, counts in (
            (self.requests, requests),
            (self.prompt_tokens, prompt),
            (self.completion_tokens, completion),
        ):
            for labels, count in counts.items():
                child = family.labels(*labels)  # a series from its first call on, even at 0
                if count:
                    child.inc(count)
        for labels, amount in cost.items():
            child = self.cost.labels(*labels)
            if amount > 0:
                child.inc(float(amount))
        for (deployment, kind), count in errors.items():
            self.upstream_errors.labels(deployment, kind).inc(count)
        for histogram, samples in ((self.duration, durations), (self.ttft, ttft), (self.tpot, tpot)):
            for labels, values in samples.items():
                observe_all(histogram.labels(*labels), values)

    def _fold_limits(self, events: Sequence[LimitEvent]) -> None:
        counts: dict[tuple[str, str], int] = {}
        for event in events:
            labels = (event.kind, event.action)
            counts[labels] = counts.get(labels, 0) + 1
        for (reason, action), count in counts.items():
            self.refusals.labels(reason, action).inc(count)


def observe_all(child: Histogram, values: Sequence[float]) -> None:
    """``child.observe(value)`` for each of ``values``, in one write per bucket and one for the sum.

    Observing one value writes the sum and a bucket (two memory-mapped writes in multiprocess
    mode); a fold observes hundreds per label set, so they are counted here first. This reaches
    into the histogram's own values (``_upper_bounds``, ``_buckets``, ``_sum``: the bucket counts are
    kept per bucket, made cumulative when exposed), as ``Histogram.observe`` does; the tests
    compare every bucket with the observations.
    """
    bounds = child._upper_bounds
    counts = [0] * len(bounds)
    for value in values:
        counts[bisect.bisect_left(bounds, value)] += 1
    child._sum.inc(math.fsum(values))
    for bucket, count in zip(child._buckets, counts, strict=True):
        if count:
            bucket.inc(count)


def _take(buffer: list[E], limit: int | None) -> list[E]:
    """Remove and return the first ``limit`` items (all: None). The event loop runs one thing at a
    time, so nothing is appended between the copy and the removal."""
    if not buffer:
        return []
    if limit is None or limit >= len(buffer):
        taken = buffer.copy()
        buffer.clear()
    else:
        taken = buffer[:limit]
        del buffer[:limit]
    return taken
