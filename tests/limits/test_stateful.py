"""Random reserve / settle / advance-time programs, every decision checked against a tiny model.

The model keeps ``bucket -> amount`` per counter like the backends do, but answers "when does it
fit" and "when is it empty" by trying the future bucket boundaries one by one.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import redis.asyncio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, multiple, rule, run_state_machine_as_test

from headwater.limits.base import Charge, Decision, Limit, Limiter, Reservation
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, T0, drop_keys

T = TypeVar("T")
PERIOD_S = 100.0
# name -> (capacity, window_s); "quota" is a calendar period of PERIOD_S seconds.
COUNTERS = {"w5": (3, 5), "w12": (5, 12), "w60": (8, 60), "w90": (6, 90), "quota": (10, 0)}


@dataclass
class Expected:
    allowed: bool
    states: list[tuple[int, int, float]]
    denied_index: int | None = None
    retry_after_s: float = 0.0
    never: bool = False


@dataclass
class Made:
    """A reservation as the model saw it: where each amount went."""

    limits: list[Limit]
    slots: list[int | None]
    amounts: list[int]
    settled: list[bool] = field(default_factory=lambda: [False])


class Model:
    def __init__(self) -> None:
        self.counters: dict[str, dict[int, int]] = {}

    def usage(self, limit: Limit, now: float) -> int:
        buckets = self.counters.get(limit.counter_key, {})
        if not limit.rolling:
            return buckets.get(0, 0) if now < limit.end else 0
        cur = math.floor(now / limit.bucket_s)
        return sum(v for j, v in buckets.items() if cur - limit.buckets < j <= cur)

    def usage_at_boundary(self, limit: Limit, boundary: int) -> int:
        """Usage from the moment bucket ``boundary`` opens (rolling counters)."""
        buckets = self.counters.get(limit.counter_key, {})
        return sum(v for j, v in buckets.items() if boundary - limit.buckets < j <= boundary)

    def reset(self, limit: Limit, now: float) -> float:
        if self.usage(limit, now) == 0:
            return 0.0
        if not limit.rolling:
            return limit.end - now
        cur = math.floor(now / limit.bucket_s)
        k = next(k for k in range(1, limit.buckets + 1) if self.usage_at_boundary(limit, cur + k) == 0)
        return (cur + k) * limit.bucket_s - now

    def retry(self, limit: Limit, amount: int, now: float) -> float:
        if not limit.rolling:
            return limit.end - now
        if amount > limit.capacity:
            return float(limit.window)
        cur = math.floor(now / limit.bucket_s)
        k = next(
            k
            for k in range(1, limit.buckets + 1)
            if self.usage_at_boundary(limit, cur + k) + amount <= limit.capacity
        )
        return (cur + k) * limit.bucket_s - now

    def slot(self, limit: Limit, now: float) -> int | None:
        if limit.rolling:
            return math.floor(now / limit.bucket_s)
        return 0 if now < limit.end else None

    def state(self, limit: Limit, now: float) -> tuple[int, int, float]:
        used = self.usage(limit, now)
        return (used, max(limit.capacity - used, 0), self.reset(limit, now))

    def reserve(self, charges: Sequence[tuple[Limit, int]], now: float) -> tuple[Expected, Made | None]:
        for i, (limit, amount) in enumerate(charges):
            if amount == 0:
                continue
            never = amount > limit.capacity
            if never or self.usage(limit, now) + amount > limit.capacity:
                states = [self.state(lim, now) for lim, _ in charges]
                return Expected(False, states, i, self.retry(limit, amount, now), never), None
        slots = [self.slot(limit, now) for limit, _ in charges]
        for (limit, amount), slot in zip(charges, slots, strict=True):
            if slot is not None and amount:
                self.add(limit, slot, amount)
        states = [self.state(lim, now) for lim, _ in charges]
        return Expected(True, states), Made([c[0] for c in charges], slots, [c[1] for c in charges])

    def settle(self, made: Made, actual: Sequence[int], now: float) -> None:
        if made.settled[0]:
            return
        made.settled[0] = True
        for limit, slot, amount, real in zip(made.limits, made.slots, made.amounts, actual, strict=True):
            if slot is None or real == amount:
                continue
            if limit.rolling and slot <= math.floor(now / limit.bucket_s) - limit.buckets:
                continue
            if not limit.rolling and now >= limit.end:
                continue
            self.add(limit, slot, real - amount)

    def add(self, limit: Limit, slot: int, delta: int) -> None:
        buckets = self.counters.setdefault(limit.counter_key, {})
        buckets[slot] = max(buckets.get(slot, 0) + delta, 0)


def check(decision: Decision, expected: Expected) -> None:
    got = [(s.used, s.remaining, s.reset_s) for s in decision.states]
    assert decision.allowed == expected.allowed
    assert [g[:2] for g in got] == [e[:2] for e in expected.states]
    assert [g[2] for g in got] == pytest.approx([e[2] for e in expected.states], abs=1e-6)
    assert decision.denied_index == expected.denied_index
    assert decision.never == expected.never
    assert decision.retry_after_s == pytest.approx(expected.retry_after_s, abs=1e-6)
    assert (decision.reservation is not None) == expected.allowed


def machine(
    new_limiter: Callable[[Callable[[], float]], Limiter],
    run: Callable[[Awaitable[Any]], Any],
    explicit_now: bool,
) -> type:
    """A state machine class; without ``explicit_now`` the limiter must read the injected clock."""

    class LimiterMachine(RuleBasedStateMachine):
        reservations = Bundle("reservations")

        def __init__(self) -> None:
            super().__init__()
            self.t = T0 + 0.25
            self.model = Model()
            self.limiter = new_limiter(lambda: self.t)

        def limit(self, name: str) -> Limit:
            capacity, window = COUNTERS[name]
            if window:
                return Limit(name, capacity, window_s=window)
            start = math.floor(self.t / PERIOD_S) * PERIOD_S
            return Limit(name, capacity, period_start=start, period_end=start + PERIOD_S)

        @rule(
            target=reservations,
            names=st.lists(st.sampled_from(sorted(COUNTERS)), min_size=1, max_size=3, unique=True),
            amounts=st.lists(st.integers(0, 7), min_size=3, max_size=3),
        )
        def reserve(self, names: list[str], amounts: list[int]) -> Any:
            charges = [(self.limit(name), amount) for name, amount in zip(names, amounts, strict=False)]
            now = self.t if explicit_now else None
            decision: Decision = run(self.limiter.reserve([Charge(*c) for c in charges], now))
            expected, made = self.model.reserve(charges, self.t)
            check(decision, expected)
            if decision.reservation is None:
                return multiple()
            return (decision.reservation, made)

        @rule(held=reservations, actual=st.lists(st.integers(0, 9), min_size=3, max_size=3))
        def settle(self, held: tuple[Reservation, Made], actual: list[int]) -> None:
            reservation, made = held
            real = actual[: len(made.limits)]
            run(self.limiter.settle(reservation, real, self.t if explicit_now else None))
            self.model.settle(made, real, self.t)

        @rule(dt=st.sampled_from([0.0, 0.3, 0.5, 1.0, 1.5, 2.7, 5.0, 11.0, 33.3, 61.0]))
        def advance(self, dt: float) -> None:
            self.t += dt

        def teardown(self) -> None:
            run(self.limiter.close())

    return LimiterMachine


def run_in(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    def run(awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return loop.run_until_complete(wrapped())

    return run


def test_memory_matches_the_model() -> None:
    loop = asyncio.new_event_loop()
    try:
        machine_class = machine(lambda clock: MemoryLimiter(clock=clock), run_in(loop), explicit_now=False)
        run_state_machine_as_test(
            machine_class,
            settings=settings(max_examples=100, stateful_step_count=40, deadline=None, database=None),
        )
    finally:
        loop.close()


@pytest.mark.redis
def test_redis_matches_the_model() -> None:
    loop = asyncio.new_event_loop()
    run = run_in(loop)
    base = f"test:limits:{uuid.uuid4().hex}:"
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        machine_class = machine(
            lambda _: RedisLimiter(client, prefix=f"{base}{uuid.uuid4().hex}:"), run, True
        )
        run_state_machine_as_test(
            machine_class,
            settings=settings(
                max_examples=50,
                stateful_step_count=30,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        run(client.aclose())
        run(drop_keys(REDIS_URL, base))
        loop.close()
