"""FailoverLimiter: open and closed modes, throttled probing, recovery, where settles go."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from headwater.limits.base import Charge, Decision, Limit, LimiterUnavailable, Reservation
from headwater.limits.failover import FailoverLimiter
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import T0, RedisServer

LOGGER = "headwater.limits.failover"
LIMIT = Limit("k", 100, window_s=60)


class Flaky(MemoryLimiter):
    """A primary that can be switched off; counts the calls that reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    async def reserve(self, charges: Sequence[Charge], now: float | None = None) -> Decision:
        self.calls += 1
        if self.down:
            raise LimiterUnavailable("down")
        return await super().reserve(charges, now)

    async def settle(self, reservation: Reservation, actual: Sequence[int], now: float | None = None) -> None:
        self.calls += 1
        if self.down:
            raise LimiterUnavailable("down")
        await super().settle(reservation, actual, now)


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == level]


async def test_open_mode_falls_back_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="headwater.limits")
    clock = [0.0]
    primary, fallback = Flaky(), MemoryLimiter()
    limiter = FailoverLimiter(primary, fallback, "open", retry_interval_s=1.0, clock=lambda: clock[0])
    assert (await limiter.reserve([Charge(LIMIT, 1)], now=T0)).reservation.owner is primary  # type: ignore[union-attr]
    primary.down = True
    for _ in range(5):
        decision = await limiter.reserve([Charge(LIMIT, 1)], now=T0)
        assert decision.allowed and decision.reservation is not None
        assert decision.reservation.owner is fallback
    assert limiter.degraded and limiter.degraded_calls == 5
    assert primary.calls == 2  # the first failure only: no probe before the retry interval
    clock[0] = 1.5
    await limiter.reserve([Charge(LIMIT, 1)], now=T0)  # one probe, still down
    await limiter.reserve([Charge(LIMIT, 1)], now=T0)
    assert primary.calls == 3 and limiter.degraded_calls == 7
    assert len(records(caplog, logging.ERROR)) == 1
    primary.down = False
    clock[0] = 2.4
    assert (await limiter.reserve([Charge(LIMIT, 1)], now=T0)).reservation.owner is fallback  # type: ignore[union-attr]
    clock[0] = 2.5
    decision = await limiter.reserve([Charge(LIMIT, 1)], now=T0)
    assert decision.reservation is not None and decision.reservation.owner is primary
    assert not limiter.degraded
    assert len(records(caplog, logging.INFO)) == 1 and len(records(caplog, logging.ERROR)) == 1
    await limiter.close()


async def test_closed_mode_refuses_while_the_primary_is_down() -> None:
    clock = [0.0]
    primary = Flaky()
    limiter = FailoverLimiter(
        primary, MemoryLimiter(), "closed", retry_interval_s=1.0, clock=lambda: clock[0]
    )
    primary.down = True
    for _ in range(3):
        with pytest.raises(LimiterUnavailable):
            await limiter.reserve([Charge(LIMIT, 1)], now=T0)
    assert limiter.degraded and primary.calls == 1 and limiter.degraded_calls == 3
    primary.down = False
    clock[0] = 1.0
    assert (await limiter.reserve([Charge(LIMIT, 1)], now=T0)).allowed
    assert not limiter.degraded


async def test_settles_go_where_the_reservation_was_made() -> None:
    clock = [0.0]
    primary, fallback = Flaky(), MemoryLimiter()
    limiter = FailoverLimiter(primary, fallback, "open", retry_interval_s=1.0, clock=lambda: clock[0])
    tokens = Limit("tokens", 1000, window_s=60)
    on_primary = await limiter.reserve([Charge(tokens, 100)], now=T0)
    primary.down = True
    on_fallback = await limiter.reserve([Charge(tokens, 100)], now=T0)
    assert on_fallback.reservation is not None and on_fallback.reservation.owner is fallback
    await limiter.settle(on_fallback.reservation, [10], now=T0)
    assert (await fallback.reserve([Charge(tokens, 0)], now=T0)).states[0].used == 10
    calls = primary.calls
    await limiter.settle(on_primary.reservation, [500], now=T0)  # type: ignore[arg-type]  # dropped
    assert primary.calls == calls
    clock[0] = 5.0
    await limiter.settle(on_primary.reservation, [500], now=T0)  # type: ignore[arg-type]  # probe fails
    assert primary.calls == calls + 1 and limiter.degraded
    primary.down = False
    clock[0] = 10.0
    fresh = await limiter.reserve([Charge(tokens, 100)], now=T0)
    await limiter.settle(fresh.reservation, [0], now=T0)  # type: ignore[arg-type]
    assert (await primary.reserve([Charge(tokens, 0)], now=T0)).states[0].used == 100


def test_mode_is_checked() -> None:
    with pytest.raises(ValueError):
        FailoverLimiter(MemoryLimiter(), MemoryLimiter(), "ajar")  # type: ignore[arg-type]


@pytest.mark.redis
async def test_open_mode_with_a_real_redis(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="headwater.limits")
    primary = RedisLimiter.from_url(redis_server.url)
    limiter = FailoverLimiter(primary, MemoryLimiter(), "open", retry_interval_s=0.2)
    try:
        kept = await limiter.reserve([Charge(LIMIT, 1)])
        assert kept.reservation is not None and kept.reservation.owner is primary
        redis_server.stop()
        for _ in range(10):
            decision = await limiter.reserve([Charge(LIMIT, 1)])
            assert decision.allowed and decision.reservation is not None
            assert decision.reservation.owner is not primary
        assert limiter.degraded and limiter.degraded_calls == 10
        await limiter.settle(kept.reservation, [5])  # the primary is down: dropped, no error
        assert len(records(caplog, logging.ERROR)) == 1
        redis_server.start()
        await asyncio.sleep(0.25)
        decision = await limiter.reserve([Charge(LIMIT, 1)])
        assert decision.reservation is not None and decision.reservation.owner is primary
        assert not limiter.degraded and decision.states[0].used == 1  # a fresh, empty server
        assert len(records(caplog, logging.INFO)) == 1 and len(records(caplog, logging.ERROR)) == 1
    finally:
        await limiter.close()


@pytest.mark.redis
async def test_closed_mode_with_a_real_redis(redis_server: RedisServer) -> None:
    limiter = FailoverLimiter(RedisLimiter.from_url(redis_server.url), MemoryLimiter(), "closed", 0.2)
    try:
        assert (await limiter.reserve([Charge(LIMIT, 1)])).allowed
        redis_server.stop()
        for _ in range(3):
            with pytest.raises(LimiterUnavailable):
                await limiter.reserve([Charge(LIMIT, 1)])
        assert limiter.degraded
        redis_server.start()
        await asyncio.sleep(0.25)
        assert (await limiter.reserve([Charge(LIMIT, 1)])).allowed
        assert not limiter.degraded
    finally:
        await limiter.close()
