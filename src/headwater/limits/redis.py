"""The shared backend: Redis, one Lua script call (one round trip) per reserve, per settle and per peek.

Layout (``prefix`` defaults to ``hw:limit:``):

- a rolling counter is a hash ``prefix + key``: one field per bucket index holding its amount (only
  amounts > 0 are stored), plus ``t`` (the sum of the bucket fields), ``o`` (every bucket <= o has
  been dropped) and ``n`` (the newest bucket). A reserve reads ``t``, ``o``, ``n`` and the current
  bucket, and drops the few buckets that left the window since the last call, so its cost does not
  grow with the number of buckets; only a denial walks buckets (oldest first, ten per HMGET) to
  compute ``retry_after_s``. The hash expires ``window_s`` + one bucket after its newest bucket
  was opened.
- a period counter is a string ``prefix + key + ":" + period start`` (INCRBY), expiring 60 s after
  the period ends;
- ``prefix + "limits:epoch"``, the sentinel: present while the counters are complete. Every reserve
  and settle checks it in the same script; when Redis has lost it, the counters are rebuilt from the
  usage history first (:mod:`headwater.limits.redis_rebuild`).

Time is the server's ``TIME`` unless the caller passes ``now``; it is assumed not to go backwards
(buckets already dropped stay dropped). Keys are passed to the scripts as KEYS, never built inside
them, so hash tags in the callers' keys can keep each call's counters on one cluster slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from headwater.limits import scripts
from headwater.limits.base import (
    NO_SLOT,
    Charge,
    Decision,
    Limit,
    LimiterUnavailable,
    Peek,
    Rebuilding,
    Recount,
    Reservation,
    Seed,
    assemble,
    reading,
)
from headwater.limits.batching import ScriptBatcher
from headwater.limits.redis_rebuild import WAIT_S, Recovery

log = logging.getLogger("headwater.limits")

DEFAULT_PREFIX = "hw:limit:"
LOST = b"lost"
T = TypeVar("T")

# Errors that mean "the limiter cannot be used now", as opposed to a bug in a call.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # BusyLoadingError and MaxConnectionsError among them
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    OSError,  # TimeoutError included
)


class RedisLimiter:
    """Limits shared by every worker and replica that uses the same Redis.

    The client should not retry commands on its own (a retried reserve could be counted twice):
    :meth:`from_url` builds one that does not, with short timeouts.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        owns_client: bool = False,
        catch_up_after_s: float = 1.0,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._reserve = client.register_script(scripts.load("reserve.lua"))
        self._settle = client.register_script(scripts.load("settle.lua"))
        self._peek = client.register_script(scripts.load("peek.lua"))
        self._batcher = ScriptBatcher(client)
        self._encoding: dict[Limit, tuple[bytes, bytes]] = {}
        self._merged: dict[tuple[str, bytes], dict[tuple[str | bytes, int, Any], list[int]]] = {}
        self._merge_done: asyncio.Future[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self.recovery = Recovery(client, prefix, self._call, self._guard, catch_up_after_s)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        connect_timeout_s: float = 1.0,
        timeout_s: float = 0.5,
        max_connections: int = 32,
        pool_timeout_s: float = 1.0,
        catch_up_after_s: float = 1.0,
    ) -> RedisLimiter:
        """A limiter with a client of its own: short timeouts, no retries, a bounded pool.

        The pool is bounded so that a burst of requests queues for a few connections (each call
        holds one for a round trip) instead of opening a connection per request at once. Timeouts
        are asyncio timeouts, so a busy event loop eats into them: connecting gets 1 s because new
        connections are opened precisely during bursts (0.5 s gave spurious failures in the
        two-replica test on a loaded 2-core machine).
        """
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_s,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(Redis.from_pool(pool), prefix=prefix, owns_client=True, catch_up_after_s=catch_up_after_s)

    async def restore(self, recount: Recount) -> None:
        """Keep ``recount`` for lost counters; rebuild now unless the sentinel says they are intact."""
        self.recovery.recount = recount
        if await self.recovery.intact():
            return
        try:
            await self.recovery.wait(asyncio.get_running_loop().time() + WAIT_S)
        except Rebuilding as exc:  # a long rebuild (here or elsewhere): calls wait for it
            log.warning("starting while %s", exc)

    async def seed(self, seeds: Sequence[Seed], now: float | None = None) -> None:
        await self.recovery.seed(seeds, now)

    async def close(self) -> None:
        await self.recovery.close()
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self._batcher.close()
        if self._owns_client:
            await self._client.aclose()

    def _encoded(self, limit: Limit) -> tuple[bytes, bytes]:
        """A counter's key and its constant script arguments, encoded once."""
        found = self._encoding.get(limit)
        if found is None:
            if len(self._encoding) > 100_000:
                self._encoding.clear()
            constant = f" {limit.capacity!r} {limit.window!r} {limit.end!r}".encode()
            found = self._encoding[limit] = ((self._prefix + limit.counter_key).encode(), constant)
        return found

    async def reserve(self, charges: Sequence[Charge], now: float | None = None) -> Decision:
        # Packed: every charge's numbers in one argument (redis-py's cost grows with the arguments).
        keys: list[bytes] = []
        packed: list[bytes] = []
        for charge in charges:
            key, constant = self._encoded(charge.limit)
            keys.append(key)
            packed.append(b"%d%s" % (charge.amount, constant))
        keys.append(self.recovery.sentinel)
        args: list[Any] = [b"" if now is None else repr(float(now)).encode(), b" ".join(packed)]
        parts = (await self._call_found(self._reserve, keys, args)).split()
        values = [int(x) for x in parts[2:]]  # denied, never, retry_bucket, then used/newest/slot triples
        return assemble(
            self,
            charges,
            float(parts[1]),
            values[3::3],
            values[4::3],
            values[5::3],
            values[0],
            values[1] == 1,
            values[2],
            tuple(keys[:-1]),
            parts[0],
        )

    async def _call_found(self, script: Any, keys: list[bytes], args: list[Any]) -> bytes:
        """The script's answer once the counters are there: while they are lost, wait (up to
        ``WAIT_S``) for their rebuild and call again."""
        deadline = None
        while True:
            answer = await self._call(script, keys, args)
            raw: bytes = answer.encode() if isinstance(answer, str) else answer
            if raw != LOST:
                return raw
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + WAIT_S
            await self.recovery.wait(deadline)

    async def peek(self, limits: Sequence[Limit], now: float | None = None) -> Peek:
        """One read-only script call (``peek.lua``); lost counters are rebuilt first, as for a reserve."""
        keys: list[bytes] = [self._encoded(limit)[0] for limit in limits]
        keys.append(self.recovery.sentinel)
        args: list[Any] = [b"" if now is None else repr(float(now)).encode()]
        for limit in limits:
            args += (limit.window, repr(limit.end))
        parts = (await self._call_found(self._peek, keys, args)).split()
        at = float(parts[0])
        values = [int(x) for x in parts[1:]]
        readings = tuple(
            reading(limit, values[3 * i], values[3 * i + 1], values[3 * i + 2], at)
            for i, limit in enumerate(limits)
        )
        return Peek(at, readings)

    async def settle(self, reservation: Reservation, actual: Sequence[int], now: float | None = None) -> None:
        charges = reservation.charges
        if reservation.owner is not self:
            raise ValueError("this reservation was made by another limiter")
        if len(actual) != len(charges):
            raise ValueError(f"settle needs {len(charges)} actual amounts, got {len(actual)}")
        if not reservation.claim():
            return
        clock = "" if now is None else repr(float(now))
        merged = self._merged.get((clock, reservation.epoch))
        for i, charge in enumerate(charges):
            slot, delta = reservation.slots[i], actual[i] - charge.amount
            if (delta == 0 and actual[i] == 0) or slot == NO_SLOT:
                continue
            # The actual amount matters when the reservation's epoch has passed (settle.lua).
            limit = charge.limit
            if merged is None:
                merged = self._merged[(clock, reservation.epoch)] = {}
            entry = (reservation.keys[i], limit.window, slot if limit.rolling else limit.end)
            sums = merged.get(entry)
            if sums is None:
                merged[entry] = [delta, actual[i]]
            else:
                sums[0] += delta
                sums[1] += actual[i]
        if merged is None:
            return
        # Every settle of this event-loop turn goes out as one script call; each caller waits for it.
        if self._merge_done is None:
            self._merge_done = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._flush_settles)
        await asyncio.shield(self._merge_done)

    def _flush_settles(self) -> None:
        merged, self._merged = self._merged, {}
        done, self._merge_done = self._merge_done, None
        assert done is not None
        task = asyncio.ensure_future(self._send_settles(merged, done))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _send_settles(
        self,
        merged: dict[tuple[str, bytes], dict[tuple[str | bytes, int, Any], list[int]]],
        done: asyncio.Future[None],
    ) -> None:
        """Summing the corrections of one counter bucket is exact: a refund never exceeds what its
        own reservation added to that bucket, so no intermediate value would have been clamped."""
        try:
            for (clock, epoch), entries in merged.items():
                keys: list[str | bytes] = []
                args: list[Any] = [clock, epoch]
                for (key, window, where), (delta, actual) in entries.items():
                    if delta or actual:
                        keys.append(key)
                        args += (delta, actual, window, where)
                if keys:
                    keys.append(self.recovery.sentinel)
                    await self._call(self._settle, keys, args)
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(None)

    async def _call(self, script: Any, keys: Sequence[str | bytes], args: list[Any]) -> Any:
        try:
            return await self._batcher.call(script, keys, args)
        except _UNAVAILABLE as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc

    @staticmethod
    async def _guard(pending: Awaitable[T]) -> T:
        try:
            return await pending
        except _UNAVAILABLE as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
