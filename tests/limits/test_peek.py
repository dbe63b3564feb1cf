"""Limiter.peek, run against every backend (``subject``: memory, redis), and through the failover.

A peek reads what a reserve of nothing would count, with the same window arithmetic, and changes
nothing: not the counters, not their expiry, not the buckets that have left the window.
"""

from __future__ import annotations

from dataclasses import astuple
from importlib import resources

import pytest
import redis.asyncio

from headwater.limits.base import Charge, Limit, LimiterUnavailable, Peek, Reading
from headwater.limits.failover import FailoverLimiter
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, T0, RedisServer, Subject
from tests.limits.test_contract import period, rolling

approx = pytest.approx


async def peek(subject: Subject, *limits: Limit) -> Peek:
    return await subject.limiter.peek(limits, now=subject.t)


async def test_peek_reads_what_a_reserve_counts(subject: Subject) -> None:
    window, quota = rolling("w", 10, window_s=10), period("q", 100)  # 10 buckets of 1 s
    for dt, amount in ((0.0, 3), (2.5, 4), (7.9, 2)):
        subject.t = T0 + dt
        assert (await subject.reserve(Charge(window, amount), Charge(quota, amount))).allowed
    # (time, used, seconds until the oldest counted bucket leaves, until the newest does)
    expected = [(7.9, 9, 2.1, 9.1), (9.99, 9, 0.01, 7.01), (10.0, 6, 2.0, 7.0), (12.0, 2, 5.0, 5.0)]
    for at, used, frees, reset in expected:
        subject.t = T0 + at
        seen = await peek(subject, window, quota)
        assert seen.now == subject.t and not seen.degraded
        assert astuple(seen.readings[0]) == (used, 10 - used, approx(frees), approx(reset)), at
        assert astuple(seen.readings[1]) == (9, 91, approx(100.0 - at), approx(100.0 - at))
        state = (await subject.reserve(Charge(window, 0))).states[0]
        assert astuple(state) == (used, 10 - used, approx(reset))
    subject.t = T0 + 17.0
    assert (await peek(subject, window)).readings == (Reading(0, 10, 0.0, 0.0),)
    subject.t = T0 + 100.0  # the period is over: nothing counted any more
    assert (await peek(subject, quota)).readings == (Reading(0, 100, 0.0, 0.0),)


async def test_peek_with_fractional_buckets_and_an_overrun(subject: Subject) -> None:
    limit = rolling("f", 5, window_s=90)  # 60 buckets of 1.5 s; T0 lies in [T0-0.5, T0+1)
    decision = await subject.reserve(Charge(limit, 5))
    await subject.settle(decision.reservation, [7])  # over the capacity: remaining never below 0
    assert (await peek(subject, limit)).readings[0] == Reading(7, 0, 89.5, 89.5)
    subject.t = T0 + 89.49
    assert (await peek(subject, limit)).readings[0].used == 7
    subject.t = T0 + 89.5
    assert (await peek(subject, limit)).readings[0] == Reading(0, 5, 0.0, 0.0)


async def test_peek_of_unknown_counters_and_of_none(subject: Subject) -> None:
    seen = await peek(subject, rolling("never", 3), period("never-p", 4))
    assert seen.readings == (Reading(0, 3, 0.0, 0.0), Reading(0, 4, 0.0, 0.0))
    assert (await peek(subject)).readings == ()


async def test_peek_changes_nothing(subject: Subject) -> None:
    """Peeking at a counter whose old buckets have left the window leaves them where they are: the
    next reserve, not the peek, drops them, and the counters read the same before and after."""
    window, quota = rolling("n", 10, window_s=10), period("np", 10)
    await subject.reserve(Charge(window, 4), Charge(quota, 4))
    subject.t = T0 + 5
    await subject.reserve(Charge(window, 3))
    subject.t = T0 + 12
    before = await stored(subject)
    absent = rolling("absent", 1)
    for _ in range(3):
        assert [r.used for r in (await peek(subject, window, quota, absent)).readings] == [3, 4, 0]
    assert await stored(subject) == before
    assert (await subject.reserve(Charge(window, 7))).allowed  # 3 + 7 fit exactly
    assert not (await subject.reserve(Charge(window, 1))).allowed


async def stored(subject: Subject) -> object:
    """Everything the backend holds, with expiries."""
    limiter = subject.limiter
    if isinstance(limiter, MemoryLimiter):
        return (
            {k: dict(v) for k, v in limiter._counters.items()},
            dict(limiter._expires),
        )
    assert isinstance(limiter, RedisLimiter)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    prefix = limiter._prefix
    try:
        found = {}
        async for key in client.scan_iter(match=f"{prefix}*"):
            kind = await client.type(key)
            value = await (client.hgetall(key) if kind == b"hash" else client.get(key))
            found[key] = (value, await client.ttl(key))
        return found
    finally:
        await client.aclose()


def test_the_peek_script_ships_in_the_package() -> None:
    text = resources.files("headwater.limits").joinpath("peek.lua").read_text()
    assert "redis.call('HMGET'" in text
    assert not any(write in text for write in ("HSET", "HDEL", "DEL'", "INCRBY", "EXPIRE", "SET'"))


# ---- Redis: one script call, lost counters ----------------------------------------------------------
@pytest.mark.redis
async def test_a_redis_peek_is_one_script_call(redis_limiter: RedisLimiter) -> None:
    limits = [rolling(f"one:{i}", 10) for i in range(5)] + [period("one:p", 10)]
    await redis_limiter.reserve([Charge(limit, 1) for limit in limits], now=T0)
    calls = []
    original = redis_limiter._call

    async def counted(script: object, keys: object, args: list[object]) -> object:
        calls.append(script)
        return await original(script, keys, args)  # type: ignore[arg-type]

    redis_limiter._call = counted  # type: ignore[method-assign]
    seen = await redis_limiter.peek(limits, now=T0 + 1)
    assert [r.used for r in seen.readings] == [1] * 6 and len(calls) == 1


@pytest.mark.redis
async def test_a_redis_peek_uses_the_server_clock(redis_limiter: RedisLimiter) -> None:
    limit = rolling("clock", 10, window_s=60)
    await redis_limiter.reserve([Charge(limit, 2)])
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        seconds, micros = await client.time()
    finally:
        await client.aclose()
    seen = await redis_limiter.peek([limit])
    assert seen.now == approx(seconds + micros / 1e6, abs=2.0)
    assert seen.readings[0].used == 2 and 0 < seen.readings[0].frees_s <= 60


@pytest.mark.redis
async def test_a_redis_peek_after_the_counters_were_lost_waits_for_them(redis_server: RedisServer) -> None:
    limiter = RedisLimiter.from_url(redis_server.url, prefix="peek:")
    try:
        limit = rolling("lost", 10)
        await limiter.reserve([Charge(limit, 4)], now=T0)
        client = redis.asyncio.Redis.from_url(redis_server.url)
        await client.flushall()
        await client.aclose()
        # Without a recount (a tool, a test) the lost counters start a new, empty epoch.
        assert (await limiter.peek([limit], now=T0)).readings[0].used == 0
        assert (await limiter.reserve([Charge(limit, 10)], now=T0)).allowed
    finally:
        await limiter.close()


# ---- failover: what the enforcing limiter counts ---------------------------------------------------
class Switchable(MemoryLimiter):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def reserve(self, charges, now=None):  # type: ignore[no-untyped-def]
        if self.down:
            raise LimiterUnavailable("down")
        return await super().reserve(charges, now)

    async def peek(self, limits, now=None):  # type: ignore[no-untyped-def]
        if self.down:
            raise LimiterUnavailable("down")
        return await super().peek(limits, now)


@pytest.mark.parametrize("mode", ["open", "closed"])
async def test_failover_peeks_at_the_limiter_that_enforces(mode: str) -> None:
    limit = rolling("f", 10)
    primary, fallback = Switchable(), MemoryLimiter()
    limiter = FailoverLimiter(primary, fallback, mode, clock=lambda: 0.0)  # type: ignore[arg-type]
    await limiter.reserve([Charge(limit, 3)], now=T0)
    assert (await limiter.peek([limit], now=T0)) == Peek(T0, (Reading(3, 7, 60.0, 60.0),))
    primary.down = True
    if mode == "closed":
        with pytest.raises(LimiterUnavailable):  # nothing is admitted, nothing to read
            await limiter.peek([limit], now=T0)
        with pytest.raises(LimiterUnavailable):
            await limiter.reserve([Charge(limit, 1)], now=T0)
        with pytest.raises(LimiterUnavailable):
            await limiter.peek([limit], now=T0)
        return
    # The primary fails during the peek: the fallback enforces from now on, and says so.
    assert (await limiter.peek([limit], now=T0)) == Peek(T0, (Reading(0, 10, 0.0, 0.0),), degraded=True)
    assert not limiter.degraded  # a read does not decide the primary is lost; the next call does
    await limiter.reserve([Charge(limit, 2)], now=T0)
    assert limiter.degraded
    assert (await limiter.peek([limit], now=T0)) == Peek(T0, (Reading(2, 8, 60.0, 60.0),), degraded=True)
    assert (await fallback.peek([limit], now=T0)).readings == (Reading(2, 8, 60.0, 60.0),)
