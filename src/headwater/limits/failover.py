"""A primary limiter (Redis) with a fallback (in-process memory) for when the primary is unreachable.

Mode ``"open"`` keeps admitting requests against the fallback's per-process counters; mode
``"closed"`` refuses them (``LimiterUnavailable``, which the gateway answers with 503). Either way
the primary is tried again at most every ``retry_interval_s`` and recovery is automatic. One error
line is logged when the primary is lost and one info line when it is back.

Failing open trades exactness for availability: the fallback counts per process, so with N workers
and replicas up to N times a limit can be admitted while degraded, and what the primary counted
before the outage is not seen by the fallback (nor the reverse after recovery).

Counters being rebuilt after the primary lost them (:class:`~headwater.limits.base.Rebuilding`) are
not an outage: the call is refused (503) in both modes, since the fallback's empty counters would
admit what the usage history says is spent.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from headwater.limits.base import (
    Charge,
    Decision,
    Limit,
    Limiter,
    LimiterUnavailable,
    Peek,
    Rebuilding,
    Recount,
    Reservation,
    Seed,
)

log = logging.getLogger(__name__)


class FailoverLimiter:
    def __init__(
        self,
        primary: Limiter,
        fallback: Limiter,
        mode: Literal["open", "closed"],
        retry_interval_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in ("open", "closed"):
            raise ValueError(f"mode must be 'open' or 'closed', not {mode!r}")
        self._primary = primary
        self._fallback = fallback
        self._open = mode == "open"
        self._retry_interval_s = retry_interval_s
        self._clock = clock
        self._degraded = False
        self._retry_at = 0.0
        self.degraded_calls = 0  # reserve calls answered without the primary

    @property
    def degraded(self) -> bool:
        """True while the primary is considered unreachable."""
        return self._degraded

    async def reserve(self, charges: Sequence[Charge], now: float | None = None) -> Decision:
        if self._may_try():
            try:
                decision = await self._primary.reserve(charges, now)
            except Rebuilding:
                raise
            except LimiterUnavailable as exc:
                self._lost(exc)
                if not self._open:
                    self.degraded_calls += 1
                    raise
            else:
                self._recovered()
                return decision
        self.degraded_calls += 1
        if not self._open:
            raise LimiterUnavailable("rate limiter unavailable (failing closed)")
        return await self._fallback.reserve(charges, now)

    async def settle(self, reservation: Reservation, actual: Sequence[int], now: float | None = None) -> None:
        if reservation.owner is self._fallback:
            await self._fallback.settle(reservation, actual, now)
            return
        if not self._may_try():
            return  # the primary is down: drop it, its counters expire anyway
        try:
            await self._primary.settle(reservation, actual, now)
        except LimiterUnavailable as exc:
            self._lost(exc)
        else:
            self._recovered()

    async def seed(self, seeds: Sequence[Seed], now: float | None = None) -> None:
        await self._primary.seed(seeds, now)

    async def peek(self, limits: Sequence[Limit], now: float | None = None) -> Peek:
        """What the limiter that enforces now counts: the primary's counters; while the primary is
        unreachable, in mode ``open``, the fallback's (``degraded``), in mode ``closed`` none
        (``LimiterUnavailable``: every call is refused). A read never probes a lost primary nor
        marks it lost: that stays the gateway's calls' business."""
        if not self._degraded:
            try:
                return await self._primary.peek(limits, now)
            except Rebuilding:
                raise
            except LimiterUnavailable:
                if not self._open:
                    raise
        elif not self._open:
            raise LimiterUnavailable("rate limiter unavailable (failing closed)")
        return dataclasses.replace(await self._fallback.peek(limits, now), degraded=True)

    async def restore(self, recount: Recount) -> None:
        """The primary's counters; the fallback's start empty at each outage (they are per process)."""
        try:
            await self._primary.restore(recount)
        except LimiterUnavailable as exc:
            log.warning("limit counters not checked at start (%s): they are rebuilt when first used", exc)

    async def close(self) -> None:
        try:
            await self._primary.close()
        finally:
            await self._fallback.close()

    def _may_try(self) -> bool:
        """Whether to call the primary now; while degraded, one probe per retry interval."""
        if not self._degraded:
            return True
        now = self._clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_interval_s
        return True

    def _lost(self, exc: LimiterUnavailable) -> None:
        if self._degraded:
            return
        self._degraded = True
        self._retry_at = self._clock() + self._retry_interval_s
        action = "using per-process limits" if self._open else "refusing requests"
        log.error("rate limiter backend unavailable, %s until it is back: %s", action, exc)

    def _recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("rate limiter backend is back after %d degraded calls", self.degraded_calls)
