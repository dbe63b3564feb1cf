"""The limiter contract, run against every backend (``subject`` is parametrized: memory, redis)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple
from importlib import resources

import pytest

from headwater.limits.base import Charge, CounterState, Limit
from headwater.limits.memory import MemoryLimiter
from tests.limits.conftest import T0, Subject

approx = pytest.approx


def rolling(key: str, capacity: int, window_s: int = 60) -> Limit:
    return Limit(key, capacity, window_s=window_s)


def period(key: str, capacity: int, start: float = T0, length: float = 100.0) -> Limit:
    return Limit(key, capacity, period_start=start, period_end=start + length)


async def used(subject: Subject, limit: Limit) -> int:
    decision = await subject.reserve(Charge(limit, 0))
    assert decision.allowed
    return decision.states[0].used


@pytest.mark.parametrize("make", [rolling, period])
async def test_capacity_exactly_reached_then_denied(subject: Subject, make: Callable[..., Limit]) -> None:
    limit = make("c", 5)
    for n in range(1, 6):
        decision = await subject.reserve(Charge(limit, 1))
        assert decision.allowed and decision.reservation is not None
        assert (decision.states[0].used, decision.states[0].remaining) == (n, 5 - n)
    decision = await subject.reserve(Charge(limit, 1))
    assert not decision.allowed and decision.reservation is None
    assert decision.denied_index == 0 and not decision.never
    assert (decision.states[0].used, decision.states[0].remaining) == (5, 0)
    assert await used(subject, limit) == 5


async def test_all_or_nothing_across_counters(subject: Subject) -> None:
    a, b, c = rolling("a", 10), rolling("b", 2, window_s=10), period("c", 100)
    for _ in range(2):
        assert (await subject.reserve(Charge(a, 1), Charge(b, 1), Charge(c, 1))).allowed
    decision = await subject.reserve(Charge(a, 3), Charge(b, 1), Charge(c, 5))
    assert not decision.allowed and decision.denied_index == 1
    assert [s.used for s in decision.states] == [2, 2, 2]
    assert [await used(subject, limit) for limit in (a, b, c)] == [2, 2, 2]
    # The first charge that does not fit is the one reported.
    decision = await subject.reserve(Charge(a, 11), Charge(b, 1))
    assert decision.denied_index == 0 and decision.never
    decision = await subject.reserve(Charge(a, 1), Charge(c, 99))
    assert decision.denied_index == 1 and not decision.never
    assert [await used(subject, limit) for limit in (a, b, c)] == [2, 2, 2]


@pytest.mark.parametrize("make", [rolling, period])
async def test_settle_refund_and_overrun(subject: Subject, make: Callable[..., Limit]) -> None:
    tokens, requests = make("tokens", 1000), make("requests", 10)
    decision = await subject.reserve(Charge(tokens, 100), Charge(requests, 1))
    await subject.settle(decision.reservation, [40, 1])
    assert await used(subject, tokens) == 40
    decision = await subject.reserve(Charge(tokens, 100), Charge(requests, 1))
    await subject.settle(decision.reservation, [1100, 1])
    assert await used(subject, tokens) == 1140
    assert await used(subject, requests) == 2
    # An overrun leaves the counter above capacity: nothing more fits until it drains.
    decision = await subject.reserve(Charge(requests, 1), Charge(tokens, 1))
    assert not decision.allowed and decision.denied_index == 1
    assert decision.states[1].used == 1140 and decision.states[1].remaining == 0


async def test_settle_is_idempotent(subject: Subject) -> None:
    limit = rolling("t", 1000)
    decision = await subject.reserve(Charge(limit, 100))
    await subject.settle(decision.reservation, [10])
    await subject.settle(decision.reservation, [500])
    await subject.settle(decision.reservation, [0])
    assert await used(subject, limit) == 10


@pytest.mark.parametrize("make", [rolling, period])
async def test_counters_never_go_below_zero(subject: Subject, make: Callable[..., Limit]) -> None:
    limit = make("t", 1000)
    decision = await subject.reserve(Charge(limit, 100))
    await subject.settle(decision.reservation, [0])
    state = (await subject.reserve(Charge(limit, 0))).states[0]
    assert state == CounterState(0, 1000, 0.0)


async def test_sliding_window_frees_buckets_as_specified(subject: Subject) -> None:
    limit = rolling("w", 10, window_s=10)  # 10 buckets of 1 s
    for dt, amount in ((0.0, 3), (2.5, 4), (7.9, 2)):
        subject.t = T0 + dt
        decision = await subject.reserve(Charge(limit, amount))
        assert decision.allowed
    assert decision.states[0].reset_s == approx(9.1)  # the newest bucket [T0+7, T0+8) leaves at T0+17
    # Time only moves forward (Redis drops the buckets that have left the window for good).
    expected = {9.99: (9, 7.01), 10.0: (6, 7.0), 11.99: (6, 5.01), 12.0: (2, 5.0), 16.99: (2, 0.01)}
    for dt, (want, reset) in expected.items():
        subject.t = T0 + dt
        state = (await subject.reserve(Charge(limit, 0))).states[0]
        assert astuple(state) == (want, 10 - want, approx(reset)), dt
    subject.t = T0 + 17.0
    assert (await subject.reserve(Charge(limit, 0))).states[0] == CounterState(0, 10, 0.0)


async def test_sliding_window_with_fractional_buckets(subject: Subject) -> None:
    limit = rolling("f", 5, window_s=90)  # 60 buckets of 1.5 s; T0 lies in [T0-0.5, T0+1)
    decision = await subject.reserve(Charge(limit, 5))
    assert decision.states[0] == CounterState(5, 0, 89.5)
    decision = await subject.reserve(Charge(limit, 1))
    assert not decision.allowed and decision.retry_after_s == 89.5
    subject.t = T0 + 89.49
    assert await used(subject, limit) == 5
    subject.t = T0 + 89.5
    assert await used(subject, limit) == 0


async def test_period_counters_reset_at_period_end(subject: Subject) -> None:
    limit = period("p", 3)
    assert (await subject.reserve(Charge(limit, 3))).states[0] == CounterState(3, 0, 100.0)
    subject.t = T0 + 60
    decision = await subject.reserve(Charge(limit, 1))
    assert not decision.allowed and decision.retry_after_s == 40.0
    subject.t = T0 + 100
    # The period is over: its counter reads empty and records nothing more.
    decision = await subject.reserve(Charge(limit, 3))
    assert decision.allowed and decision.states[0] == CounterState(0, 3, 0.0)
    following = period("p", 3, start=T0 + 100)
    decision = await subject.reserve(Charge(following, 2))
    assert decision.states[0] == CounterState(2, 1, 100.0)
    subject.t = T0 + 99
    assert await used(subject, limit) == 3


async def test_retry_after_walks_buckets_oldest_first(subject: Subject) -> None:
    limit = rolling("r", 10, window_s=10)
    for dt, amount in ((0.0, 2), (3.0, 3), (6.0, 5)):
        subject.t = T0 + dt
        assert (await subject.reserve(Charge(limit, amount))).allowed
    subject.t = T0 + 8.5
    decision = await subject.reserve(Charge(limit, 4))  # frees 2 at T0+10, then 3 at T0+13: enough
    assert not decision.allowed and not decision.never
    assert decision.retry_after_s == approx(4.5)
    assert astuple(decision.states[0]) == (10, 0, approx(7.5))
    subject.t = T0 + 12.99
    decision = await subject.reserve(Charge(limit, 4))
    assert not decision.allowed and decision.retry_after_s == approx(0.01)
    subject.t = T0 + 13.0
    assert (await subject.reserve(Charge(limit, 4))).allowed


async def test_retry_after_across_many_buckets(subject: Subject) -> None:
    limit = rolling("many", 60, window_s=60)  # 60 buckets of 1 s
    for k in range(20, 60):
        subject.t = T0 + k
        assert (await subject.reserve(Charge(limit, 1 if k < 55 else 3))).allowed
    decision = await subject.reserve(Charge(limit, 18))  # 50 used, 8 to free: buckets T0+20 … T0+27
    assert decision.denied_index == 0 and decision.retry_after_s == 28.0  # T0+27 leaves at T0+87
    assert decision.states[0] == CounterState(50, 10, 60.0)


async def test_refunding_the_newest_bucket_moves_reset_back(subject: Subject) -> None:
    limit = rolling("newest", 10, window_s=10)
    await subject.reserve(Charge(limit, 2))
    subject.t = T0 + 5
    decision = await subject.reserve(Charge(limit, 3))
    assert decision.states[0] == CounterState(5, 5, 10.0)
    await subject.settle(decision.reservation, [0])
    assert (await subject.reserve(Charge(limit, 0))).states[0] == CounterState(2, 8, 5.0)
    subject.t = T0 + 10
    assert (await subject.reserve(Charge(limit, 0))).states[0] == CounterState(0, 10, 0.0)


async def test_retry_after_with_an_overrun_counter(subject: Subject) -> None:
    limit = rolling("o", 10, window_s=10)
    decision = await subject.reserve(Charge(limit, 5))
    await subject.settle(decision.reservation, [14])  # 14 of 10 in bucket T0
    subject.t = T0 + 4
    assert (await subject.reserve(Charge(limit, 0))).allowed
    decision = await subject.reserve(Charge(limit, 1))
    assert decision.retry_after_s == 6.0


@pytest.mark.parametrize(("make", "retry"), [(rolling, 60.0), (period, 100.0)])
async def test_amount_above_capacity_can_never_fit(
    subject: Subject, make: Callable[..., Limit], retry: float
) -> None:
    limit = make("n", 5)
    decision = await subject.reserve(Charge(limit, 6))
    assert not decision.allowed and decision.never and decision.denied_index == 0
    assert decision.retry_after_s == retry
    assert decision.states[0] == CounterState(0, 5, 0.0)


async def test_zero_amount_charges_never_deny(subject: Subject) -> None:
    full, other = rolling("full", 2), period("other", 10)
    decision = await subject.reserve(Charge(full, 2))
    await subject.settle(decision.reservation, [3])  # over capacity
    decision = await subject.reserve(Charge(full, 0), Charge(other, 4))
    assert decision.allowed
    assert decision.states == (CounterState(3, 0, 60.0), CounterState(4, 6, 100.0))
    empty = rolling("empty", 0)
    decision = await subject.reserve(Charge(empty, 0))
    assert decision.allowed and decision.states[0] == CounterState(0, 0, 0.0)


async def test_a_zero_reservation_can_be_settled_upwards(subject: Subject) -> None:
    tokens = rolling("z", 100, window_s=10)
    decision = await subject.reserve(Charge(tokens, 0))
    subject.t = T0 + 2
    await subject.settle(decision.reservation, [30])
    assert (await subject.reserve(Charge(tokens, 0))).states[0] == CounterState(30, 70, 8.0)


async def test_settle_outside_the_window_is_ignored(subject: Subject) -> None:
    window, quota = rolling("w", 100, window_s=10), period("q", 100)
    first = await subject.reserve(Charge(window, 5), Charge(quota, 5))
    subject.t = T0 + 100
    await subject.settle(first.reservation, [50, 50])
    subject.t = T0 + 5
    assert [await used(subject, limit) for limit in (window, quota)] == [5, 5]


async def test_misuse_is_refused(subject: Subject) -> None:
    limit = rolling("m", 5)
    decision = await subject.reserve(Charge(limit, 1))
    with pytest.raises(ValueError, match="actual amounts"):
        await subject.settle(decision.reservation, [1, 2])
    foreign = await MemoryLimiter().reserve([Charge(limit, 1)], now=T0)
    with pytest.raises(ValueError, match="another limiter"):
        await subject.settle(foreign.reservation, [1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_s": 0},
        {"window_s": 1.5},
        {},
        {"period_start": T0},
        {"period_start": T0, "period_end": T0},
        {"window_s": 10, "period_start": T0, "period_end": T0 + 1},
    ],
)
def test_invalid_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Limit("k", 1, **kwargs)  # type: ignore[arg-type]


def test_scripts_ship_in_the_package() -> None:
    package = resources.files("headwater.limits")
    for name in ("reserve.lua", "settle.lua"):
        assert "redis.call" in package.joinpath(name).read_text()


def test_invalid_charges_and_period_keys() -> None:
    with pytest.raises(ValueError):
        Limit("", 1, window_s=1)
    with pytest.raises(ValueError):
        Limit("k", -1, window_s=1)
    with pytest.raises(ValueError):
        Charge(Limit("k", 1, window_s=1), -1)
    assert Limit("k", 1, period_start=T0, period_end=T0 + 1).counter_key == "k:1700000000"
    assert Limit("k", 1, period_start=0.5, period_end=1).counter_key == "k:0.5"
    assert Limit.per_window("k", 1, 120).bucket_s == 2.0


async def test_memory_uses_its_clock_and_forgets_expired_counters() -> None:
    clock = [T0]
    limiter = MemoryLimiter(clock=lambda: clock[0], sweep_interval_s=30)
    window, quota = rolling("w", 5, window_s=10), period("q", 5)
    decision = await limiter.reserve([Charge(window, 5), Charge(quota, 1)])
    assert decision.states[0] == CounterState(5, 0, 10.0)
    assert not (await limiter.reserve([Charge(window, 1)])).allowed
    clock[0] = T0 + 10
    assert (await limiter.reserve([Charge(window, 1)])).allowed
    assert decision.reservation is not None
    await limiter.settle(decision.reservation, [4, 1])  # bucket T0 has left: ignored
    assert len(limiter) == 2
    clock[0] = T0 + 200  # past both expiries and the next sweep
    await limiter.reserve([Charge(window, 0)])
    assert len(limiter) == 0
    await limiter.close()
