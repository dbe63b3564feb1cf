"""Concurrent limiter calls share pipelines, and every caller still gets its own exact answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater.limits.base import Charge, Limit
from headwater.limits.redis import RedisLimiter

pytestmark = pytest.mark.redis
T0 = 1_800_000_000.0


async def test_concurrent_calls_are_pipelined_and_exact(redis_limiter: RedisLimiter) -> None:
    client: Any = redis_limiter._client
    pipelines = 0
    original = client.pipeline

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        return original(*args, **kwargs)

    client.pipeline = counting
    limit = Limit("batched", 37, window_s=60)
    decisions = await asyncio.gather(*(redis_limiter.reserve([Charge(limit, 1)], now=T0) for _ in range(200)))
    assert sum(d.allowed for d in decisions) == 37
    assert sorted(d.states[0].used for d in decisions if d.allowed) == list(range(1, 38))
    assert 1 <= pipelines < 20  # 200 calls in a handful of round trips, not 200
    await asyncio.gather(
        *(redis_limiter.settle(d.reservation, [0], now=T0) for d in decisions if d.reservation is not None)
    )
    after = await redis_limiter.reserve([Charge(limit, 37)], now=T0)
    assert after.allowed  # every refund landed


async def test_a_lone_call_is_sent_at_once(redis_limiter: RedisLimiter) -> None:
    client: Any = redis_limiter._client
    client.pipeline = lambda *a, **k: pytest.fail("a lone call needs no pipeline")
    decision = await redis_limiter.reserve([Charge(Limit("lone", 5, window_s=60), 1)], now=T0)
    assert decision.allowed and decision.states[0].used == 1
