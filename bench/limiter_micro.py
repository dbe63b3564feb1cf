"""What one admission costs the gateway process's CPU on each limiter: reserve + settle pairs.

Builds the limiter exactly as ``headwater serve`` does (:func:`headwater.wiring.build_limiter`:
``RedisLimiter.from_url`` with its batcher, inside a ``FailoverLimiter`` failing closed, as the
bench's ``headwater+policy+redis`` target runs it), against Redis at ``--redis-url`` under a random
prefix (its keys are deleted at the end), and the ``MemoryLimiter`` for comparison. Then ``--pairs``
reserve + settle pairs, spread over K concurrent asyncio tasks (``--concurrency``, default 1 and 32,
like wrk's c=1 and c=32), each pair charging the bench policy's two counters (a request limit and a
token limit over a rolling 1 h window) and settling the request with 1 and the tokens with a
different actual amount (as the gateway does: the estimate is corrected).

Printed per limiter and K: CPU µs per pair (``time.process_time`` over the loop: this process only,
not Redis's), wall µs per pair and pairs/s. Each case runs ``--rounds`` times after a warm-up; the
lowest CPU figure and the median are shown. Not a test; the figure issue 16 drives down.

    .venv/bin/python bench/limiter_micro.py [--pairs 20000] [--concurrency 1,32] [--only redis]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio

from headwater.limits.base import Charge, Limit, Limiter, Rebuilt, Seed
from headwater.limits.memory import MemoryLimiter
from headwater.settings import Settings
from headwater.wiring import build_limiter

WINDOW_S = 3600
REQUESTS = Limit.per_window("limit:user:bench-user:bench-tier:0", 100_000_000, WINDOW_S)
TOKENS = Limit.per_window("limit:user:bench-user:bench-tier:1", 100_000_000_000, WINDOW_S)
ESTIMATE, ACTUAL = 120, 97  # tokens reserved (the prompt estimate), then the real usage


@dataclass(frozen=True)
class Round:
    pairs: int
    cpu_s: float
    wall_s: float


async def _worker(limiter: Limiter, pairs: int) -> None:
    charges = (Charge(REQUESTS, 1), Charge(TOKENS, ESTIMATE))
    actual = (1, ACTUAL)
    for _ in range(pairs):
        decision = await limiter.reserve(charges)
        if not decision.allowed or decision.reservation is None:
            raise RuntimeError("the bench's limits refused a call: they are meant never to")
        await limiter.settle(decision.reservation, actual)


async def run_round(limiter: Limiter, pairs: int, concurrency: int) -> Round:
    each = max(1, pairs // concurrency)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(_worker(limiter, each) for _ in range(concurrency)))
    cpu1, wall1 = time.process_time(), time.perf_counter()
    return Round(each * concurrency, cpu1 - cpu0, wall1 - wall0)


async def measure(name: str, limiter: Limiter, pairs: int, levels: Sequence[int], rounds: int) -> None:
    for k in levels:
        await run_round(limiter, max(pairs // 10, k), k)  # warm-up: connections, scripts, caches
        results = [await run_round(limiter, pairs, k) for _ in range(rounds)]
        cpu = [r.cpu_s / r.pairs * 1e6 for r in results]
        wall = [r.wall_s / r.pairs * 1e6 for r in results]
        rate = statistics.median(r.pairs / r.wall_s for r in results)
        print(
            f"{name:<7} K={k:<3} pairs={results[0].pairs:<7} "
            f"CPU µs/pair: min {min(cpu):6.1f}  median {statistics.median(cpu):6.1f}   "
            f"wall µs/pair: median {statistics.median(wall):6.1f}   {rate:9.0f} pairs/s",
            flush=True,
        )


async def delete_prefix(url: str, prefix: str) -> int:
    client = redis.asyncio.Redis.from_url(url)
    try:
        names = [name async for name in client.scan_iter(match=prefix + "*", count=1000)]
        if names:
            await client.delete(*names)
        return len(names)
    finally:
        await client.aclose()


async def main(args: argparse.Namespace) -> None:
    levels = [int(x) for x in args.concurrency.split(",")]
    if args.only in (None, "memory"):
        memory = MemoryLimiter()
        await measure("memory", memory, args.pairs, levels, args.rounds)
        await memory.close()
    if args.only in (None, "redis"):
        prefix = f"hwmicro:{secrets.token_hex(6)}:"
        settings = Settings(redis_url=args.redis_url, redis_prefix=prefix, limits_fail="closed")
        limiter = build_limiter(settings)
        try:
            await limiter.restore(_no_recount)
            await measure("redis", limiter, args.pairs, levels, args.rounds)
        finally:
            await limiter.close()
            deleted = await delete_prefix(args.redis_url, prefix)
            print(f"(deleted {deleted} Redis keys under {prefix})")


async def _no_recount(now: float) -> Rebuilt:
    """A fresh prefix has no usage history: the rebuild at start seeds nothing."""

    async def late(until: float) -> list[Seed]:
        return []

    return Rebuilt([], late)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=20_000, help="reserve + settle pairs per round")
    parser.add_argument("--concurrency", default="1,32", help="comma-separated task counts (K)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("redis", "memory"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
