"""A primary limiter (Redis) with a fallback (in-process memory) for when the primary is unreachable.

Mode ``"open"`` keeps admitting requests against the fallback's per-process counters; mode
``"closed"`` refuses them (``LimiterUnavailable``, which the gateway answers with 503). Either way
the primary is tried again at most every ``retry_interval_s`` and recovery is automatic. One error
line is logged when the primary is lost and one info line when it is back.

Failing open trades exactness for availability: the fallback counts per process, so with N workers
and replicas up to N times a limit can be admitted while degraded, and what the primary counted
before the outage is not seen by the fallback (nor the reverse after recovery).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from headwater.limits.base import Charge, Decision, Limiter, LimiterUnavailable, Reservation

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
