"""Bringing the shared counters back when Redis has lost them (restarted, flushed, failed over).

Counters are only a fast copy of what the stored usage events say; Redis may lose them at any time.
A sentinel key, ``<prefix>limits:epoch``, holds a random **epoch** id and is written only after the
counters are complete, so its absence means "the counters are gone":

* The reserve script answers ``lost`` (and changes nothing) when the sentinel is missing. The
  process that sees it takes the rebuild lock (``<prefix>limits:rebuild``, ``SET NX PX``, extended
  while the rebuild progresses), rebuilds every counter from the usage history (the
  :data:`~headwater.limits.base.Recount` given at start), adds them (``seed.lua``, guarded by the
  lock), then sets a new epoch and releases the lock in one step (``epoch.lua``). Every other caller,
  in this process or another, waits for the sentinel, up to :data:`WAIT_S`, then gets
  :class:`~headwater.limits.base.Rebuilding` (503 ``limits_unavailable``), and retries its reserve.
* A reservation remembers its epoch. A settle while the sentinel is missing does nothing (the
  rebuild counts that call from its usage event); a settle from an earlier epoch adds the full actual
  amount (its reservation was lost, and the rebuild did not see the call, still in flight).
* Usage events written late (finished before the new epoch but stored after the rebuild read the
  history) are added once, :attr:`catch_up_after_s` after the new epoch (two usage flush intervals),
  guarded by that epoch.

At start, a process with the sentinel present has nothing to do; without it, it rebuilds (or waits
for the process that does). Without a recount (tests, tools) a lost sentinel simply starts a new,
empty epoch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis

from headwater.limits import scripts
from headwater.limits.base import LimiterUnavailable, Rebuilding, Rebuilt, Recount, Seed

log = logging.getLogger("headwater.limits")

SENTINEL = "limits:epoch"
LOCK = "limits:rebuild"
#: How long a call waits for the counters to come back before a 503.
WAIT_S = 5.0
#: The rebuild lock's lifetime; the rebuilding process extends it every :data:`KEEPALIVE_S`.
LOCK_TTL_MS = 30_000
KEEPALIVE_S = 10.0
POLL_S = 0.05
SEED_BATCH = 256

T = TypeVar("T")
Call = Callable[[Any, Sequence[str | bytes], list[Any]], Awaitable[Any]]
Guard = Callable[[Awaitable[T]], Awaitable[T]]


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("rebuilding the limit counters failed: %s", task.exception())


class Recovery:
    """The rebuild protocol of one :class:`~headwater.limits.redis.RedisLimiter`."""

    def __init__(
        self, client: Redis, prefix: str, call: Call, guard: Guard[Any], catch_up_after_s: float
    ) -> None:
        self.sentinel = (prefix + SENTINEL).encode()
        self._lock = (prefix + LOCK).encode()
        self._prefix = prefix
        self._client = client
        self._call = call  # a script call through the limiter's batcher, errors mapped
        self._guard = guard  # maps a plain command's connection errors to LimiterUnavailable
        self._seed = client.register_script(scripts.load("seed.lua"))
        self._end = client.register_script(scripts.load("epoch.lua"))
        self.catch_up_after_s = catch_up_after_s
        self.recount: Recount | None = None
        self.rebuilds = 0  # rebuilds this process did (for tests and logs)
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def intact(self) -> bool:
        return bool(await self._guard(self._client.exists(self.sentinel)))

    async def current_epoch(self) -> bytes | None:
        value = await self._guard(self._client.get(self.sentinel))
        return value if value is None or isinstance(value, bytes) else str(value).encode()

    async def wait(self, deadline: float) -> None:
        """Until the counters are back, rebuilt here or elsewhere; :class:`Rebuilding` after ``deadline``
        (event-loop time). The rebuild itself goes on when the caller gives up."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._recover())
            self._task.add_done_callback(_log_failure)
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), max(remaining, 0.0))
        except TimeoutError:
            raise Rebuilding("the limit counters are being rebuilt from the usage history") from None

    async def seed(self, seeds: Sequence[Seed], now: float | None = None) -> None:
        """Add ``seeds`` to the current epoch's counters (nothing when they are lost)."""
        epoch = await self.current_epoch()
        if epoch is not None:
            await self._apply(seeds, self.sentinel, epoch, None, now)

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._background) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- the protocol ---------------------------------------------------------------------------
    async def _recover(self) -> None:
        while not await self.intact():
            if self.recount is None:  # nothing to rebuild from: a new, empty epoch
                await self._guard(self._client.set(self.sentinel, os.urandom(8).hex(), nx=True))
                return
            token = os.urandom(16).hex().encode()
            if await self._guard(self._client.set(self._lock, token, nx=True, px=LOCK_TTL_MS)):
                await self._rebuild(self.recount, token)
                return
            await asyncio.sleep(POLL_S)  # another process rebuilds: wait for its epoch

    async def _rebuild(self, recount: Recount, token: bytes) -> None:
        log.warning("the limit counters are lost (Redis restarted or flushed?): rebuilding them")
        started = time.monotonic()
        keepalive = asyncio.ensure_future(self._keep(token))
        epoch = os.urandom(8).hex().encode()
        try:
            try:
                rebuilt = await recount(time.time())
            except LimiterUnavailable:
                raise
            except Exception as exc:  # the history is unreadable (database down?): try again later
                raise Rebuilding(f"the usage history cannot be read: {exc}") from exc
            if not await self._apply(rebuilt.seeds, self._lock, token, LOCK_TTL_MS, None):
                log.error("the rebuild lock expired during the rebuild; another process takes over")
                return
            if not await self._call(self._end, [self._lock, self.sentinel], [token, epoch]):
                log.error("the rebuild lock expired before the rebuild ended; another process takes over")
                return
        except BaseException:
            await asyncio.shield(self._release(token))
            raise
        finally:
            keepalive.cancel()
        until = time.time()
        self.rebuilds += 1
        log.warning(
            "limit counters rebuilt from the usage history: %d amounts in %.2f s",
            len(rebuilt.seeds),
            time.monotonic() - started,
        )
        task = asyncio.ensure_future(self._catch_up(rebuilt, epoch, until))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _catch_up(self, rebuilt: Rebuilt, epoch: bytes, until: float) -> None:
        """Once: usage events that finished before ``until`` but were stored after the rebuild read."""
        try:
            await asyncio.sleep(self.catch_up_after_s)
            seeds = await rebuilt.late(until)
            await self._apply(seeds, self.sentinel, epoch, None, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("could not add the usage events stored during the rebuild: %s", exc)

    async def _keep(self, token: bytes) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            await self._apply((), self._lock, token, LOCK_TTL_MS, None)

    async def _release(self, token: bytes) -> None:
        try:
            await self._call(self._end, [self._lock, self.sentinel], [token, b""])
        except Exception as exc:
            log.warning("could not release the rebuild lock (it expires on its own): %s", exc)

    async def _apply(
        self, seeds: Sequence[Seed], guard: bytes, expected: bytes, ttl_ms: int | None, now: float | None
    ) -> bool:
        """Add seeds in batches while ``guard`` holds ``expected``; False once it does not."""
        clock = b"" if now is None else repr(float(now)).encode()
        ttl = b"" if ttl_ms is None else str(ttl_ms).encode()
        start = 0
        while True:
            batch = seeds[start : start + SEED_BATCH]
            keys: list[str | bytes] = [guard]
            args: list[Any] = [expected, ttl, clock]
            for seed in batch:
                limit = seed.limit
                keys.append((self._prefix + limit.counter_key).encode())
                args += (seed.amount, limit.window, seed.slot if limit.rolling else repr(limit.end))
            if not await self._call(self._seed, keys, args):
                return False
            start += SEED_BATCH
            if start >= len(seeds):
                return True
