"""The limiter contract: limits, charges, decisions, and what every backend implements.

A :class:`Limit` is a counter with a capacity, over either a rolling window (a sliding window of
``min(window_s, 60)`` sub-buckets) or a calendar period (a fixed window that resets at its end).
:meth:`Limiter.reserve` charges several counters at once, all or nothing; :meth:`Limiter.settle`
later corrects each charge to what was actually used (tokens are known only at the end of a call).
:meth:`Limiter.peek` reads counters without changing them (what ``GET .../quota`` shows).

Backends compute the raw facts (usage, newest non-empty bucket, the bucket a charge went to) and
:func:`assemble` turns them into a :class:`Decision`, so every backend answers with the same figures.

Counters are not the record of usage, the stored usage events are: :meth:`Limiter.restore` rebuilds
them from that record (through a :data:`Recount`) when a process starts, and a shared backend does so
again whenever it finds its counters lost; :meth:`Limiter.seed` adds rebuilt amounts to given buckets
or periods without a capacity check.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

MAX_BUCKETS = 60
NO_SLOT = -1  # the charge was not recorded anywhere (its period has ended)


class LimiterUnavailable(Exception):
    """The limiter's backend cannot be reached (or does not answer in time)."""


class Rebuilding(LimiterUnavailable):
    """The shared counters were lost and are still being rebuilt from the usage history; failing
    over to per-process counters would not help (they know nothing of that history either)."""


def _period_suffix(start: float) -> str:
    return str(int(start)) if start.is_integer() else repr(start)


@dataclass(frozen=True, slots=True)
class Limit:
    """A counter: at most ``capacity`` units per rolling window or per calendar period.

    Give either ``window_s`` (rolling) or ``period_start`` and ``period_end`` (epoch seconds). For a
    period the stored counter's key gets the period's start appended, so each period has its own.
    """

    key: str
    capacity: int
    window_s: int | None = None
    period_start: float | None = None
    period_end: float | None = None
    # Derived once, used on every call.
    rolling: bool = field(init=False, repr=False, compare=False)
    window: int = field(init=False, repr=False, compare=False)  # 0 for a period
    buckets: int = field(init=False, repr=False, compare=False)
    bucket_s: float = field(init=False, repr=False, compare=False)
    end: float = field(init=False, repr=False, compare=False)  # period_end, 0.0 when rolling
    counter_key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a limit needs a key")
        if self.capacity < 0:
            raise ValueError("capacity must be >= 0")
        setattr_ = object.__setattr__
        if self.window_s is not None:
            if self.period_start is not None or self.period_end is not None:
                raise ValueError("give a rolling window or a period, not both")
            if self.window_s <= 0 or int(self.window_s) != self.window_s:
                raise ValueError("window_s must be a positive integer")
            buckets = min(self.window_s, MAX_BUCKETS)
            setattr_(self, "rolling", True)
            setattr_(self, "window", int(self.window_s))
            setattr_(self, "buckets", buckets)
            setattr_(self, "bucket_s", self.window_s / buckets)
            setattr_(self, "end", 0.0)
            setattr_(self, "counter_key", self.key)
            return
        if self.period_start is None or self.period_end is None:
            raise ValueError("give window_s, or both period_start and period_end")
        if not self.period_end > self.period_start:
            raise ValueError("period_end must be after period_start")
        setattr_(self, "rolling", False)
        setattr_(self, "window", 0)
        setattr_(self, "buckets", 0)
        setattr_(self, "bucket_s", 0.0)
        setattr_(self, "end", float(self.period_end))
        setattr_(self, "counter_key", f"{self.key}:{_period_suffix(float(self.period_start))}")

    @classmethod
    def per_window(cls, key: str, capacity: int, window_s: int) -> Limit:
        return cls(key, capacity, window_s=window_s)


# Charge, CounterState, Reservation and Decision are made on every admitted call: plain (not
# frozen) slotted dataclasses, whose construction costs a third of a frozen one's (issue 16,
# docs/benchmarks.md). Nothing changes them once made.
@dataclass(slots=True)
class Charge:
    limit: Limit
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("a charge's amount must be >= 0")


@dataclass(slots=True)
class CounterState:
    """A counter as seen by one call: ``reset_s`` is the time until it is entirely empty again."""

    used: int
    remaining: int
    reset_s: float


@dataclass(slots=True, eq=False)
class Reservation:
    """What :meth:`Limiter.settle` needs to correct a reservation; opaque to callers.

    ``slots`` holds, per charge, the bucket index (rolling) or 0 (period) the amount went to, or
    ``NO_SLOT``; ``keys`` the backend's own key per charge when it has one.
    """

    owner: object
    charges: tuple[Charge, ...]
    slots: tuple[int, ...]
    keys: tuple[str | bytes, ...] = ()
    #: The shared backend's epoch when the reservation was made (see ``limits.redis``).
    epoch: bytes = b""
    _settled: list[bool] = field(default_factory=lambda: [False], init=False, repr=False)

    def claim(self) -> bool:
        """True the first time only: a reservation is settled at most once."""
        if self._settled[0]:
            return False
        self._settled[0] = True
        return True


@dataclass(slots=True)
class Decision:
    allowed: bool
    reservation: Reservation | None
    states: tuple[CounterState, ...]
    denied_index: int | None = None
    retry_after_s: float = 0.0
    never: bool = False  # the denied charge exceeds its capacity on its own: waiting will not help


@dataclass(frozen=True, slots=True)
class Seed:
    """An amount to add to one bucket (rolling, ``slot_at``) or period (slot 0) of a counter."""

    limit: Limit
    slot: int
    amount: int


def slot_at(limit: Limit, ts: float) -> int:
    """The bucket of a rolling counter that a charge at ``ts`` goes to; 0 for a period."""
    return math.floor(ts / limit.bucket_s) if limit.rolling else 0


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What the usage history says every counter holds, and how to fetch, once, the events that
    finished before a later time but were not yet stored when ``seeds`` were read."""

    seeds: list[Seed]
    late: Callable[[float], Awaitable[list[Seed]]]


#: Rebuilds every counter as of ``now`` (epoch seconds) from the stored usage events.
Recount = Callable[[float], Awaitable[Rebuilt]]


@dataclass(frozen=True, slots=True)
class Reading:
    """A counter as :meth:`Limiter.peek` reads it: ``used`` exactly as a reserve would count it, and
    the seconds until the oldest counted usage leaves a rolling window (``frees_s``: ``remaining``
    grows then) and until all of it has (``reset_s``, as in :class:`CounterState`). For a period
    both are the time to its end. Both are 0 when nothing is counted."""

    used: int
    remaining: int
    frees_s: float
    reset_s: float


@dataclass(frozen=True, slots=True)
class Peek:
    """What :meth:`Limiter.peek` read, one :class:`Reading` per limit, at ``now`` (the limiter's own
    clock: Redis's ``TIME`` unless the caller gave one). ``degraded``: read from a failover's
    per-process fallback counters, the ones enforced while the shared backend is unreachable."""

    now: float
    readings: tuple[Reading, ...]
    degraded: bool = False


def reading(limit: Limit, used: int, oldest: int, newest: int, now: float) -> Reading:
    """A reading from a backend's raw facts: ``used`` in the window or period, and its ``oldest``
    and ``newest`` non-empty buckets (-1: none; a period uses 0)."""
    remaining = limit.capacity - used if used < limit.capacity else 0
    if newest < 0:
        return Reading(used, remaining, 0.0, 0.0)
    if limit.rolling:
        frees = (oldest + limit.buckets) * limit.bucket_s - now
        return Reading(used, remaining, frees, (newest + limit.buckets) * limit.bucket_s - now)
    return Reading(used, remaining, limit.end - now, limit.end - now)


class Limiter(Protocol):
    async def reserve(self, charges: Sequence[Charge], now: float | None = None) -> Decision: ...

    async def settle(
        self, reservation: Reservation, actual: Sequence[int], now: float | None = None
    ) -> None: ...

    async def seed(self, seeds: Sequence[Seed], now: float | None = None) -> None:
        """Add amounts to counters, no capacity check; buckets and periods already past are skipped."""

    async def restore(self, recount: Recount) -> None:
        """At start: bring the counters back from the usage history (unless they survived), and keep
        ``recount`` for counters lost later."""

    async def peek(self, limits: Sequence[Limit], now: float | None = None) -> Peek:
        """Read counters without changing them, with a reserve's window arithmetic: what a reserve
        of nothing at ``now`` would count. One round trip for all of them on a shared backend."""

    async def close(self) -> None: ...


def _state(limit: Limit, used: int, newest: int, now: float) -> CounterState:
    if newest < 0:
        reset = 0.0
    elif limit.rolling:
        reset = (newest + limit.buckets) * limit.bucket_s - now
    else:
        reset = limit.end - now
    return CounterState(used, limit.capacity - used if used < limit.capacity else 0, reset)


def assemble(
    owner: object,
    charges: Sequence[Charge],
    now: float,
    used: Sequence[int],
    newest: Sequence[int],
    slots: Sequence[int],
    denied: int,
    never: bool,
    retry_bucket: int,
    keys: tuple[str | bytes, ...] = (),
    epoch: bytes = b"",
) -> Decision:
    """Build a decision from a backend's raw facts.

    Per charge: ``used`` before the call, ``newest`` non-empty bucket in the window (-1: empty; a
    period uses 0) and ``slots``. ``denied`` is the first charge that did not fit (-1: allowed) and,
    for a rolling one, ``retry_bucket`` the oldest bucket whose expiry frees enough.
    """
    if denied < 0:
        states = []
        for i, charge in enumerate(charges):
            u, nw, slot = used[i], newest[i], slots[i]
            if charge.amount > 0 and slot >= 0:
                u += charge.amount
                nw = slot if slot > nw else nw
            states.append(_state(charge.limit, u, nw, now))
        reservation = Reservation(owner, tuple(charges), tuple(slots), keys, epoch)
        return Decision(True, reservation, tuple(states))
    states = [_state(c.limit, used[i], newest[i], now) for i, c in enumerate(charges)]
    limit = charges[denied].limit
    if not limit.rolling:
        retry = limit.end - now if now < limit.end else 0.0
    elif never:
        retry = float(limit.window)
    else:
        retry = (retry_bucket + limit.buckets) * limit.bucket_s - now
    return Decision(False, None, tuple(states), denied, retry, never)
