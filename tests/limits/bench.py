"""Micro-benchmark: reserve + settle with 3 charges, per backend (not part of the test suite).

    .venv/bin/python -m tests.limits.bench [REDIS_URL] [--calls N]

Every settle corrects two of the three charges, so it does its round trip too. Redis calls are
sequential (one in flight), so the figures are latencies, not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from headwater.limits.base import Charge, Limit, Limiter
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, drop_keys


def charges(user: str) -> list[Charge]:
    start = time.time() // 86_400 * 86_400
    return [
        Charge(Limit(f"p:std:user:{user}:req:60", 1_000_000_000, window_s=60), 1),
        Charge(Limit(f"p:std:user:{user}:tok:3600", 10**15, window_s=3600), 500),
        Charge(
            Limit(f"p:std:user:{user}:usd:month", 10**15, period_start=start, period_end=start + 86_400), 900
        ),
    ]


async def measure(limiter: Limiter, calls: int) -> dict[str, float]:
    batch = charges(uuid.uuid4().hex)
    actual = [1, 420, 1200]
    for _ in range(min(200, calls)):  # warm up: connections, scripts, caches
        decision = await limiter.reserve(batch)
        assert decision.reservation is not None
        await limiter.settle(decision.reservation, actual)
    pairs: list[float] = []
    reserves: list[float] = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        decision = await limiter.reserve(batch)
        t1 = clock()
        assert decision.reservation is not None
        await limiter.settle(decision.reservation, actual)
        t2 = clock()
        pairs.append(t2 - t0)
        reserves.append(t1 - t0)
    pairs.sort()
    return {
        "p50_us": statistics.median(pairs) * 1e6,
        "p99_us": pairs[int(len(pairs) * 0.99)] * 1e6,
        "mean_us": statistics.fmean(pairs) * 1e6,
        "reserve_p50_us": statistics.median(reserves) * 1e6,
    }


async def ping(limiter: RedisLimiter, calls: int) -> dict[str, float]:
    """The client's round trip with nothing to do: the floor under the figures above."""
    client = limiter._client
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await client.ping()
        times.append(time.perf_counter() - t0)
    return {"p50_us": statistics.median(times) * 1e6}


async def main(url: str, calls: int) -> None:
    memory = MemoryLimiter()
    print(f"memory  {calls * 10} calls:", _fmt(await measure(memory, calls * 10)))
    prefix = f"bench:limits:{uuid.uuid4().hex}:"
    limiter = RedisLimiter.from_url(url, prefix=prefix)
    try:
        print(f"redis   {calls} calls:", _fmt(await measure(limiter, calls)))
        print("redis   PING floor:", _fmt(await ping(limiter, calls)))
    finally:
        await limiter.close()
        await drop_keys(url, prefix)


def _fmt(figures: dict[str, float]) -> str:
    return "  ".join(f"{name}={value:.1f}" for name, value in figures.items())


def _runners() -> list[tuple[str, Callable[[Coroutine[Any, Any, None]], None]]]:
    runners: list[tuple[str, Callable[[Coroutine[Any, Any, None]], None]]] = [("asyncio", asyncio.run)]
    try:
        import uvloop
    except ImportError:
        return runners
    return [*runners, ("uvloop", uvloop.run)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", default=REDIS_URL)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    for name, run in _runners():
        print(f"-- {name}")
        run(main(options.url, options.calls))
