"""What only the Redis backend has: its data layout, round trips, server time, concurrency, outages."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis.asyncio

from headwater.limits.base import Charge, Limit, LimiterUnavailable
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, T0, RedisServer, drop_keys
from tests.support import free_port

pytestmark = pytest.mark.redis


async def test_data_layout_and_expiry(redis_limiter: RedisLimiter, prefix: str) -> None:
    window, quota = Limit("u:w", 10, window_s=120), Limit("u:q", 10, period_start=T0, period_end=T0 + 1000)
    decision = await redis_limiter.reserve([Charge(window, 2), Charge(quota, 3)], now=T0 + 1)
    async with redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True) as client:
        assert await client.type(f"{prefix}u:w") == "hash"
        bucket = int((T0 + 1) // 2)  # 2 s buckets; bucket indexes are fields, with t(otal), o, n(ewest)
        layout = {str(bucket): "2", "t": "2", "o": str(bucket - 60), "n": str(bucket)}
        assert await client.hgetall(f"{prefix}u:w") == layout
        assert 120 < await client.ttl(f"{prefix}u:w") <= 122  # window + one 2 s bucket
        assert await client.get(f"{prefix}u:q:1700000000") == "3"
        assert 1000 < await client.ttl(f"{prefix}u:q:1700000000") <= 1059  # until period end + 60 s
        # Stale buckets are pruned when the counter is next charged.
        await redis_limiter.reserve([Charge(window, 1)], now=T0 + 500)
        bucket = int((T0 + 500) // 2)
        layout = {str(bucket): "1", "t": "1", "o": str(bucket - 60), "n": str(bucket)}
        assert await client.hgetall(f"{prefix}u:w") == layout
        # A settle that empties a bucket removes it (and the key with its last field).
        await redis_limiter.settle(decision.reservation, [2, 0], now=T0 + 2)  # type: ignore[arg-type]
        assert await client.exists(f"{prefix}u:q:1700000000") == 0
        # A zero reservation settled upwards creates the counter with an expiry.
        other = Limit("u:z", 10, window_s=10)
        zero = await redis_limiter.reserve([Charge(other, 0)], now=T0)
        assert await client.exists(f"{prefix}u:z") == 0
        await redis_limiter.settle(zero.reservation, [4], now=T0 + 1)  # type: ignore[arg-type]
        assert await client.hgetall(f"{prefix}u:z") == {
            "1700000000": "4",
            "t": "4",
            "o": "1699999991",
            "n": "1700000000",
        }
        assert 0 < await client.ttl(f"{prefix}u:z") <= 11


async def test_one_round_trip_per_reserve_and_settle(redis_limiter: RedisLimiter) -> None:
    limits = [
        Limit("a", 10, window_s=60),
        Limit("b", 100, window_s=5),
        Limit("c", 1000, period_start=T0, period_end=T0 + 9),
    ]
    await redis_limiter.reserve([Charge(limit, 1) for limit in limits], now=T0)  # scripts loaded
    commands: list[Any] = []
    pipe: Any = redis_limiter._batcher._pipe
    original = pipe.execute

    async def counting(sent: Any) -> Any:
        commands.extend(sent)
        return await original(sent)

    pipe.execute = counting
    decision = await redis_limiter.reserve([Charge(limit, 1) for limit in limits], now=T0)
    await redis_limiter.settle(decision.reservation, [0, 3, 5], now=T0)  # type: ignore[arg-type]
    assert [c[0] for c in commands] == ["EVALSHA", "EVALSHA"]
    # Nothing to correct: still one script call, carrying the actual amounts, which count in full if
    # the counters were lost and rebuilt since the reservation (its epoch has passed).
    decision = await redis_limiter.reserve([Charge(limit, 1) for limit in limits], now=T0)
    await redis_limiter.settle(decision.reservation, [1, 1, 1], now=T0)  # type: ignore[arg-type]
    assert len(commands) == 4
    # Nothing reserved, nothing used: no round trip at all.
    decision = await redis_limiter.reserve([Charge(limit, 0) for limit in limits], now=T0)
    await redis_limiter.settle(decision.reservation, [0, 0, 0], now=T0)  # type: ignore[arg-type]
    assert len(commands) == 5


async def test_server_time_is_used_without_now(redis_limiter: RedisLimiter) -> None:
    limit = Limit("time", 5, window_s=10)
    before = time.time()
    decision = await redis_limiter.reserve([Charge(limit, 1)])
    # reset_s = the end of the current 1 s bucket + 9 s, by the server's clock.
    assert 9.0 < decision.states[0].reset_s <= 10.0
    assert decision.reservation is not None and abs(decision.reservation.slots[0] - before) < 5
    await redis_limiter.settle(decision.reservation, [3])
    assert (await redis_limiter.reserve([Charge(limit, 0)])).states[0].used == 3


async def test_a_client_that_decodes_responses_works_too(prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    limiter = RedisLimiter(client, prefix=prefix)
    try:
        limit = Limit("decoded", 2, window_s=10)
        decision = await limiter.reserve([Charge(limit, 2)], now=T0)
        assert decision.allowed and decision.states[0].used == 2
        await limiter.settle(decision.reservation, [1], now=T0)  # type: ignore[arg-type]
        decision = await limiter.reserve([Charge(limit, 2)], now=T0)
        assert not decision.allowed and decision.retry_after_s == 10.0
    finally:
        await limiter.close()  # does not own the client
        await client.aclose()
        await drop_keys(REDIS_URL, prefix)


async def test_concurrent_reserves_never_exceed_capacity(prefix: str) -> None:
    limiters = [RedisLimiter.from_url(REDIS_URL, prefix=prefix) for _ in range(4)]
    try:
        limit = Limit("concurrent", 37, window_s=60)
        other = Limit("side", 10_000, window_s=60)
        decisions = await asyncio.gather(
            *(limiters[i % 4].reserve([Charge(other, 1), Charge(limit, 1)]) for i in range(200))
        )
        assert sum(d.allowed for d in decisions) == 37
        assert {d.denied_index for d in decisions if not d.allowed} == {1}
        final = await limiters[0].reserve([Charge(other, 0), Charge(limit, 0)])
        assert [s.used for s in final.states] == [37, 37]
    finally:
        for limiter in limiters:
            await limiter.close()
        await drop_keys(REDIS_URL, prefix)


async def test_unreachable_server_raises_limiter_unavailable() -> None:
    limiter = RedisLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        started = time.monotonic()
        with pytest.raises(LimiterUnavailable):
            await limiter.reserve([Charge(Limit("k", 1, window_s=1), 1)])
        assert time.monotonic() - started < 2
    finally:
        await limiter.close()


async def test_scripts_are_reloaded_after_a_restart(redis_server: RedisServer) -> None:
    limiter = RedisLimiter.from_url(redis_server.url)
    try:
        limit = Limit("k", 5, window_s=60)
        assert (await limiter.reserve([Charge(limit, 2)], now=T0)).allowed
        redis_server.stop()
        with pytest.raises(LimiterUnavailable):
            await limiter.reserve([Charge(limit, 1)], now=T0)
        redis_server.start()  # empty: no scripts, no counters
        decision = await limiter.reserve([Charge(limit, 1)], now=T0)
        assert decision.allowed and decision.states[0].used == 1
    finally:
        await limiter.close()
