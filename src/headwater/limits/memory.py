"""The single-process backend: plain dicts, no await inside a call, hence atomic under asyncio.

Every counter is a dict ``bucket index -> amount`` (a period counter uses bucket 0). Counters carry an
expiry like their Redis twins and are swept at most once a ``sweep_interval_s``, so nothing leaks.
They live and die with the process: :meth:`MemoryLimiter.restore` rebuilds them from the usage
history when the process starts, before it serves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from headwater.limits.base import (
    NO_SLOT,
    Charge,
    Decision,
    Limit,
    Peek,
    Reading,
    Recount,
    Reservation,
    Seed,
    assemble,
    reading,
)

PERIOD_GRACE_S = 60.0


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.time, sweep_interval_s: float = 60.0) -> None:
        self._clock = clock
        self._counters: dict[str, dict[int, int]] = {}
        self._expires: dict[str, float] = {}
        self._sweep_interval_s = sweep_interval_s
        self._next_sweep = 0.0

    async def reserve(self, charges: Sequence[Charge], now: float | None = None) -> Decision:
        return self.reserve_now(charges, self._clock() if now is None else now)

    async def settle(self, reservation: Reservation, actual: Sequence[int], now: float | None = None) -> None:
        self.settle_now(reservation, actual, self._clock() if now is None else now)

    async def seed(self, seeds: Sequence[Seed], now: float | None = None) -> None:
        self.seed_now(seeds, self._clock() if now is None else now)

    async def restore(self, recount: Recount) -> None:
        now = self._clock()
        self.seed_now((await recount(now)).seeds, now)

    async def peek(self, limits: Sequence[Limit], now: float | None = None) -> Peek:
        return self.peek_now(limits, self._clock() if now is None else now)

    async def close(self) -> None:
        self._counters.clear()
        self._expires.clear()

    def __len__(self) -> int:
        """How many counters are held (for tests and metrics)."""
        return len(self._counters)

    def reserve_now(self, charges: Sequence[Charge], now: float) -> Decision:
        n = len(charges)
        used = [0] * n
        newest = [-1] * n
        slots = [NO_SLOT] * n
        denied, never, retry_bucket = -1, False, -1
        counters = self._counters
        for i, charge in enumerate(charges):
            limit, amount = charge.limit, charge.amount
            buckets = counters.get(limit.counter_key)
            u, nw = 0, -1
            if limit.rolling:
                cur = math.floor(now / limit.bucket_s)
                low = cur - limit.buckets
                slots[i] = cur
                if buckets:
                    for j, v in buckets.items():
                        if low < j <= cur:
                            u += v
                            if v > 0 and j > nw:
                                nw = j
            elif now < limit.end:
                slots[i] = 0
                u = buckets.get(0, 0) if buckets else 0
                nw = 0 if u > 0 else -1
            used[i], newest[i] = u, nw
            if denied < 0 and amount > 0:
                if amount > limit.capacity:
                    denied, never = i, True
                elif u + amount > limit.capacity:
                    denied = i
                    if limit.rolling and buckets:
                        retry_bucket = _freeing_bucket(
                            buckets, slots[i], limit.buckets, u + amount - limit.capacity
                        )
        if denied < 0:
            for i, charge in enumerate(charges):
                if charge.amount > 0 and slots[i] != NO_SLOT:
                    self._add(charge.limit, slots[i], charge.amount, now, prune=True)
        if now >= self._next_sweep:
            self._sweep(now)
        return assemble(self, charges, now, used, newest, slots, denied, never, retry_bucket)

    def peek_now(self, limits: Sequence[Limit], now: float) -> Peek:
        """The counters as :meth:`reserve_now` counts them; nothing is written, swept or pruned."""
        readings: list[Reading] = []
        for limit in limits:
            buckets = self._counters.get(limit.counter_key)
            used, oldest, newest = 0, -1, -1
            if buckets and limit.rolling:
                cur = math.floor(now / limit.bucket_s)
                low = cur - limit.buckets
                for j, v in buckets.items():
                    if low < j <= cur and v > 0:
                        used += v
                        oldest = j if oldest < 0 or j < oldest else oldest
                        newest = j if j > newest else newest
            elif buckets and now < limit.end:
                used = buckets.get(0, 0)
                oldest = newest = 0 if used > 0 else -1
            readings.append(reading(limit, used, oldest, newest, now))
        return Peek(now, tuple(readings))

    def settle_now(self, reservation: Reservation, actual: Sequence[int], now: float) -> None:
        charges = reservation.charges
        if reservation.owner is not self:
            raise ValueError("this reservation was made by another limiter")
        if len(actual) != len(charges):
            raise ValueError(f"settle needs {len(charges)} actual amounts, got {len(actual)}")
        if not reservation.claim():
            return
        for i, charge in enumerate(charges):
            slot, delta = reservation.slots[i], actual[i] - charge.amount
            if delta == 0 or slot == NO_SLOT:
                continue
            limit = charge.limit
            if limit.rolling:
                if slot <= math.floor(now / limit.bucket_s) - limit.buckets:
                    continue  # the bucket has left the window
            elif now >= limit.end:
                continue
            self._add(limit, slot, delta, now, prune=False)

    def seed_now(self, seeds: Sequence[Seed], now: float) -> None:
        for seed in seeds:
            limit, slot = seed.limit, seed.slot
            if seed.amount <= 0:
                continue
            if limit.rolling:
                cur = math.floor(now / limit.bucket_s)
                if slot <= cur - limit.buckets:
                    continue  # already out of the window
                slot = min(slot, cur)  # a clock ahead of ours: count it now
            elif now >= limit.end:
                continue
            self._add(limit, slot, seed.amount, now, prune=False)

    def _add(self, limit: Limit, slot: int, delta: int, now: float, prune: bool) -> None:
        key = limit.counter_key
        counters = self._counters
        buckets = counters.get(key)
        if buckets is None:
            if delta <= 0:
                return
            buckets = counters[key] = {}
        value = buckets.get(slot, 0) + delta
        if value > 0:
            buckets[slot] = value
            rolling = limit.rolling
            expiry = now + limit.window + limit.bucket_s if rolling else limit.end + PERIOD_GRACE_S
            expires = self._expires
            if expiry > expires.get(key, 0.0):
                expires[key] = expiry
            if prune and rolling and len(buckets) > limit.buckets:
                low = slot - limit.buckets
                for j in [j for j in buckets if j <= low]:
                    del buckets[j]
            return
        buckets.pop(slot, None)
        if not buckets:
            del counters[key]
            self._expires.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self._sweep_interval_s
        expired = [key for key, expiry in self._expires.items() if expiry <= now]
        for key in expired:
            del self._expires[key]
            self._counters.pop(key, None)


def _freeing_bucket(buckets: dict[int, int], cur: int, count: int, need: int) -> int:
    """The oldest in-window bucket whose departure (with the older ones) frees ``need`` units."""
    low = cur - count
    freed = 0
    for j in sorted(j for j in buckets if low < j <= cur):
        freed += buckets[j]
        if freed >= need:
            return j
    return cur  # unreachable when need <= usage; the whole window is the safe answer
