"""Concurrent limiter calls share pipelines, and every caller still gets its own exact answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from headwater.limits.base import Charge, Limit
from headwater.limits.batching import ScriptBatcher
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, drop_keys

pytestmark = pytest.mark.redis
T0 = 1_800_000_000.0


def count_round_trips(limiter: RedisLimiter) -> list[int]:
    """The number of script calls in each round trip the limiter's batcher makes from now on, on
    its own connection (RespPipe) or, where the client's settings rule that out, redis-py's."""
    trips: list[int] = []
    batcher: Any = limiter._batcher
    if batcher._pipe is not None:
        original = batcher._pipe.execute

        async def execute(commands: Any) -> Any:
            trips.append(len(commands))
            return await original(commands)

        batcher._pipe.execute = execute
    else:
        client: Any = limiter._client
        pipeline, command = client.pipeline, client.execute_command

        def counting(*args: Any, **kwargs: Any) -> Any:
            trips.append(0)  # the pipeline's size is not known here
            return pipeline(*args, **kwargs)

        async def lone(*args: Any, **kwargs: Any) -> Any:
            trips.append(1)
            return await command(*args, **kwargs)

        client.pipeline, client.execute_command = counting, lone
    return trips


@pytest.fixture(params=["own connection", "redis-py"])
async def limiter(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[RedisLimiter]:
    made = RedisLimiter.from_url(REDIS_URL, prefix=prefix)
    batcher: Any = made._batcher
    if request.param == "redis-py":
        made._batcher = ScriptBatcher(made._client, pipe=False)
    else:
        assert batcher._pipe is not None  # a plain redis:// URL takes the own connection
    try:
        yield made
    finally:
        await made.close()
        await batcher.close()
        await drop_keys(REDIS_URL, prefix)


async def test_concurrent_calls_are_pipelined_and_exact(limiter: RedisLimiter) -> None:
    redis_limiter = limiter
    trips = count_round_trips(redis_limiter)
    limit = Limit("batched", 37, window_s=60)
    decisions = await asyncio.gather(*(redis_limiter.reserve([Charge(limit, 1)], now=T0) for _ in range(200)))
    assert sum(d.allowed for d in decisions) == 37
    assert sorted(d.states[0].used for d in decisions if d.allowed) == list(range(1, 38))
    assert 1 <= len(trips) < 20  # 200 calls in a handful of round trips, not 200
    await asyncio.gather(
        *(redis_limiter.settle(d.reservation, [0], now=T0) for d in decisions if d.reservation is not None)
    )
    after = await redis_limiter.reserve([Charge(limit, 37)], now=T0)
    assert after.allowed  # every refund landed


async def test_a_lone_call_is_sent_at_once(limiter: RedisLimiter) -> None:
    await limiter.reserve([Charge(Limit("warm", 5, window_s=60), 1)], now=T0)  # the script loaded
    trips = count_round_trips(limiter)
    decision = await limiter.reserve([Charge(Limit("lone", 5, window_s=60), 1)], now=T0)
    assert decision.allowed and decision.states[0].used == 1
    assert trips == [1]  # at once, on its own: not held back for a batch
