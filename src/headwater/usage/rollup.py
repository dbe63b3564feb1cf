"""Rollups: usage events summed per hour, day and month, with latency histograms for percentiles.

The batched writer folds each batch into rollup rows in the same transaction as the events
(:mod:`headwater.storage.sql.rollups`), so the rollups always equal the events they were made from;
``headwater usage rebuild`` recomputes them from the events with the same :func:`fold`.

Three tables, one per :data:`GRAINS` entry. The hourly one keeps every dimension (key and principal
included: a user's or a key's own usage); the daily and monthly ones drop the key and the principal,
so that organisation-wide questions over a year read a few thousand rows, not millions.

Money is summed as an integer number of :data:`COST_UNIT` (10⁻¹² of the currency unit, the scale at
which events store their cost), so that every engine sums it exactly. Latency and time to first
token are counted in fixed buckets (:data:`LATENCY_BOUNDS_MS`); a percentile is read from them by
linear interpolation within its bucket (:func:`percentile`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from headwater.usage.events import UsageEvent

Grain = Literal["hour", "day", "month"]
GRAINS: tuple[Grain, ...] = ("hour", "day", "month")
#: Money as stored: twelve decimal places (NUMERIC(30, 12) on PostgreSQL).
COST_QUANTUM = Decimal("1e-12")
COST_UNIT = COST_QUANTUM
#: Upper bounds (milliseconds) of the latency and time-to-first-token buckets; the last is open.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5,
    10,
    20,
    35,
    50,
    75,
    100,
    150,
    250,
    400,
    600,
    1_000,
    1_500,
    2_500,
    4_000,
    6_000,
    10_000,
    20_000,
    60_000,
    float("inf"),
)
BUCKETS = len(LATENCY_BOUNDS_MS)
#: What a dimension with no value is reported as.
UNASSIGNED = "unassigned"


def stored_cost(cost: Decimal) -> Decimal:
    """A cost as the database keeps it (twelve decimals, half away from zero, as PostgreSQL rounds)."""
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def cost_units(cost: Decimal) -> int:
    return int(stored_cost(cost).scaleb(12))


def cost_of(units: int) -> Decimal:
    return Decimal(units).scaleb(-12).normalize() if units else Decimal(0)


def groups_text(groups: Sequence[str]) -> str:
    """Groups as stored: ``|a|b|`` (sorted), so that ``LIKE '%|a|%'`` finds a member; '' for none."""
    return f"|{'|'.join(sorted(groups))}|" if groups else ""


def groups_of(text: str | None) -> tuple[str, ...]:
    return tuple(part for part in (text or "").split("|") if part)


def bucket_of(ms: float) -> int:
    return min(bisect_left(LATENCY_BOUNDS_MS, ms), BUCKETS - 1)


def truncate(moment: datetime, grain: Grain) -> datetime:
    moment = moment.astimezone(UTC)
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if grain == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class RollupKey(NamedTuple):
    """One rollup row's dimensions ('' where an event has none; key and principal only hourly)."""

    bucket: datetime
    key_id: str
    principal: str
    model: str
    deployment: str
    provider: str
    cost_center: str
    policy: str
    groups: str
    currency: str


@dataclass(slots=True)
class Measures:
    requests: int = 0
    successes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms_sum: float = 0.0
    ttft_count: int = 0
    ttft_ms_sum: float = 0.0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    ttft: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add_event(self, event: UsageEvent) -> None:
        """Adds an event as it is stored (latencies to the microsecond, cost to 10^-12), so that the
        writer and a rebuild from the stored events fold it the same way."""
        self.add(_Parts.of(event))

    def add(self, parts: _Parts) -> None:
        self.requests += 1
        self.successes += parts.success
        self.prompt_tokens += parts.prompt
        self.completion_tokens += parts.completion
        self.cost_units += parts.units
        self.latency_ms_sum += parts.latency
        self.latency[parts.latency_bucket] += 1
        if parts.ttft is not None:
            self.ttft_count += 1
            self.ttft_ms_sum += parts.ttft
            self.ttft[parts.ttft_bucket] += 1

    def merge(self, other: Measures) -> None:
        self.requests += other.requests
        self.successes += other.successes
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_units += other.cost_units
        self.latency_ms_sum += other.latency_ms_sum
        self.ttft_count += other.ttft_count
        self.ttft_ms_sum += other.ttft_ms_sum
        for i in range(BUCKETS):
            self.latency[i] += other.latency[i]
            self.ttft[i] += other.ttft[i]


class _Parts(NamedTuple):
    """What an event adds to a rollup row, computed once for all three grains."""

    success: bool
    prompt: int
    completion: int
    units: int
    latency: float
    latency_bucket: int
    ttft: float | None
    ttft_bucket: int

    @classmethod
    def of(cls, event: UsageEvent) -> _Parts:
        latency = round(event.latency_ms, 3)
        ttft = round(event.ttft_ms, 3) if event.ttft_ms is not None else None
        return cls(
            event.status == "success",
            event.prompt_tokens,
            event.completion_tokens,
            cost_units(event.cost),
            latency,
            bucket_of(latency),
            ttft,
            bucket_of(ttft) if ttft is not None else 0,
        )


def key_of(event: UsageEvent, grain: Grain) -> RollupKey:
    hourly = grain == "hour"
    return RollupKey(
        bucket=truncate(datetime.fromtimestamp(event.ts, UTC), grain),
        key_id=event.key_id if hourly else "",
        principal=event.principal if hourly else "",
        model=event.model,
        deployment=event.deployment,
        provider=event.provider,
        cost_center=event.cost_center or "",
        policy=event.policy or "",
        groups=groups_text(event.groups),
        currency=event.currency,
    )


class Folding:
    """Events summed per rollup row of every grain, added a slice at a time (the usage writer yields
    to the event loop between slices): each event into its hourly row (its measures and dimensions
    worked out once, one ``datetime`` per hour seen); :meth:`rows` then sums the hourly rows into
    the daily and monthly ones. This runs for every event the gateway writes."""

    __slots__ = ("_hours", "hourly")

    def __init__(self) -> None:
        self.hourly: dict[RollupKey, Measures] = {}
        self._hours: dict[int, datetime] = {}

    def add(self, events: Iterable[UsageEvent]) -> None:
        hourly, hours = self.hourly, self._hours
        for event in events:
            hour = int(event.ts // 3600)
            start = hours.get(hour)
            if start is None:
                start = hours[hour] = datetime.fromtimestamp(hour * 3600, UTC)
            key = RollupKey(
                start,
                event.key_id,
                event.principal,
                event.model,
                event.deployment,
                event.provider,
                event.cost_center or "",
                event.policy or "",
                groups_text(event.groups),
                event.currency,
            )
            measures = hourly.get(key)
            if measures is None:
                measures = hourly[key] = Measures()
            measures.add(_Parts.of(event))

    def rows(self) -> dict[Grain, dict[RollupKey, Measures]]:
        hourly = self.hourly
        rows: dict[Grain, dict[RollupKey, Measures]] = {"hour": hourly, "day": {}, "month": {}}
        for grain in ("day", "month"):
            coarser = rows[grain]
            for key, measures in hourly.items():
                wider = key._replace(bucket=truncate(key.bucket, grain), key_id="", principal="")
                found = coarser.get(wider)
                if found is None:
                    found = coarser[wider] = Measures()
                found.merge(measures)
        return rows


def fold_all(events: Iterable[UsageEvent]) -> dict[Grain, dict[RollupKey, Measures]]:
    """The events summed per rollup row of every grain (see :class:`Folding`)."""
    folding = Folding()
    folding.add(events)
    return folding.rows()


def fold(events: Iterable[UsageEvent], grain: Grain) -> dict[RollupKey, Measures]:
    """The events summed per rollup row of ``grain``."""
    return fold_all(events)[grain]


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of bucket counts, interpolated linearly within its bucket (the open
    last bucket answers its lower bound); None when nothing was counted."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0.0
            upper = LATENCY_BOUNDS_MS[index]
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * max(rank - seen, 0.0) / count
        seen += count
    return LATENCY_BOUNDS_MS[-2]
