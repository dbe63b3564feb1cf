"""Seeding counters, and rebuilding the shared ones when Redis loses them (limits.redis_rebuild).

The usage history is played by :class:`History`, a recount that answers given seeds. "Redis lost its
data" is played by deleting every key under the test's prefix (the shared Redis is never flushed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio

import headwater.limits.redis
from headwater.limits.base import Charge, Limit, Rebuilding, Rebuilt, Reservation, Seed, slot_at
from headwater.limits.redis import RedisLimiter
from tests.limits.conftest import REDIS_URL, T0, Subject, drop_keys

HOUR = Limit("u:tokens", 10, window_s=3600)


async def test_seed_adds_without_a_capacity_check(subject: Subject) -> None:
    rolling = Limit("s:rolling", 10, window_s=60)
    period = Limit("s:period", 10, period_start=T0 - 100, period_end=T0 + 100)
    ended = Limit("s:ended", 10, period_start=T0 - 200, period_end=T0 - 100)
    await subject.reserve(Charge(rolling, 0))  # the shared backend seeds an epoch it has seen
    await subject.limiter.seed(
        [
            Seed(rolling, slot_at(rolling, T0 - 30), 12),  # over the capacity: seeded all the same
            Seed(rolling, slot_at(rolling, T0 - 61), 5),  # out of the window already: skipped
            Seed(rolling, slot_at(rolling, T0 + 30), 1),  # a clock ahead: counted now
            Seed(period, 0, 7),
            Seed(ended, 0, 3),  # an ended period: skipped
        ],
        now=subject.t,
    )
    decision = await subject.reserve(Charge(rolling, 0), Charge(period, 0), Charge(ended, 0))
    assert [state.used for state in decision.states] == [13, 7, 0]
    assert not (await subject.reserve(Charge(period, 4))).allowed
    subject.t = T0 + 31  # the bucket of T0 - 30 has left the window; the one counted at T0 has not
    assert (await subject.reserve(Charge(rolling, 0))).states[0].used == 1


class History:
    """A recount: what the usage events say each counter holds (``seeds``), and late events."""

    def __init__(self) -> None:
        self.seeds: list[Seed] = []
        self.late_seeds: list[Seed] = []
        self.calls = 0
        self.late_calls: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def __call__(self, now: float) -> Rebuilt:
        self.calls += 1
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("database unreachable")
        return Rebuilt(list(self.seeds), self._late)

    async def _late(self, until: float) -> list[Seed]:
        self.late_calls.append(until)
        return list(self.late_seeds)


@pytest.fixture
def history() -> History:
    return History()


@pytest.fixture
async def limiter(prefix: str, history: History) -> AsyncIterator[RedisLimiter]:
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix, catch_up_after_s=0.05)
    await limiter.restore(history)  # at start: no sentinel yet, so a rebuild (of nothing)
    try:
        yield limiter
    finally:
        await limiter.close()
        await drop_keys(REDIS_URL, prefix)


async def used(limiter: RedisLimiter, limit: Limit = HOUR) -> int:
    return (await limiter.reserve([Charge(limit, 0)])).states[0].used


async def reservation(limiter: RedisLimiter, amount: int, limit: Limit = HOUR) -> Reservation:
    decision = await limiter.reserve([Charge(limit, amount)])
    assert decision.allowed and decision.reservation is not None
    return decision.reservation


async def keys(prefix: str) -> list[str]:
    async with redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True) as client:
        return sorted([key.removeprefix(prefix) async for key in client.scan_iter(match=f"{prefix}*")])


@pytest.mark.redis
async def test_lost_counters_are_rebuilt_before_the_next_call(
    limiter: RedisLimiter, history: History, prefix: str
) -> None:
    await reservation(limiter, 7)
    history.seeds = [Seed(HOUR, slot_at(HOUR, time.time()), 7)]  # what the usage events say
    await drop_keys(REDIS_URL, prefix)  # Redis restarted or was flushed
    assert not (await limiter.reserve([Charge(HOUR, 4)])).allowed  # 7 + 4 > 10, as before
    assert (await limiter.reserve([Charge(HOUR, 3)])).allowed
    assert history.calls == 2  # at start, and once after the loss
    assert await used(limiter) == 10


@pytest.mark.redis
async def test_restore_with_counters_intact_does_nothing(limiter: RedisLimiter, history: History) -> None:
    await reservation(limiter, 4)
    await limiter.restore(history)  # another process starting: the sentinel is there
    assert history.calls == 1 and await used(limiter) == 4


@pytest.mark.redis
async def test_settle_across_the_loss(limiter: RedisLimiter, history: History, prefix: str) -> None:
    in_flight = await reservation(limiter, 5)
    await drop_keys(REDIS_URL, prefix)
    # a settle while the counters are lost does nothing: the rebuild counts that call
    dropped = await reservation(limiter, 0)  # (this reserve finds the loss: rebuild, new epoch)
    await drop_keys(REDIS_URL, prefix)
    await limiter.settle(dropped, [6])
    assert await keys(prefix) == []
    history.seeds = [Seed(HOUR, slot_at(HOUR, time.time()), 6)]  # its usage event, now stored
    after = await reservation(limiter, 1)  # rebuilt: 6, then 1 more
    # a reservation of an earlier epoch is gone with it, and the rebuild did not see the call (still
    # in flight): its settle adds the actual amount, not actual - reserved
    await limiter.settle(in_flight, [2])
    assert await used(limiter) == 6 + 1 + 2
    await limiter.settle(after, [1])  # this epoch's: corrected as usual (nothing to correct)
    assert await used(limiter) == 9


@pytest.mark.redis
async def test_two_workers_rebuild_once(prefix: str, history: History) -> None:
    first = RedisLimiter.from_url(REDIS_URL, prefix=prefix)
    second = RedisLimiter.from_url(REDIS_URL, prefix=prefix)
    try:
        await first.restore(history)
        await second.restore(history)
        assert history.calls == 1
        history.seeds = [Seed(HOUR, slot_at(HOUR, time.time()), 8)]
        await drop_keys(REDIS_URL, prefix)
        history.gate.clear()  # a slow rebuild: both workers find the loss while it runs
        calls = [first.reserve([Charge(HOUR, 1)]), second.reserve([Charge(HOUR, 1)])]
        pending = asyncio.gather(*calls)
        while history.calls < 2:
            await asyncio.sleep(0.01)
        assert await keys(prefix) == ["limits:rebuild"]  # the lock; nothing counted meanwhile
        history.gate.set()
        decisions = await asyncio.wait_for(pending, 10)
        assert history.calls == 2  # one rebuild for both
        assert [d.allowed for d in decisions] == [True, True]
        assert await used(first) == await used(second) == 10
        assert first.recovery.rebuilds + second.recovery.rebuilds == 2  # one each: start, loss
    finally:
        await first.close()
        await second.close()
        await drop_keys(REDIS_URL, prefix)


@pytest.mark.redis
async def test_calls_wait_for_a_rebuild_a_bounded_time(
    limiter: RedisLimiter, history: History, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(headwater.limits.redis, "WAIT_S", 0.2)
    history.gate.clear()
    await drop_keys(REDIS_URL, prefix)
    with pytest.raises(Rebuilding):
        await limiter.reserve([Charge(HOUR, 1)])
    history.gate.set()
    assert (await limiter.reserve([Charge(HOUR, 1)])).allowed  # the rebuild went on meanwhile


@pytest.mark.redis
async def test_a_failed_rebuild_refuses_and_is_tried_again(
    limiter: RedisLimiter, history: History, prefix: str
) -> None:
    history.fail = True
    await drop_keys(REDIS_URL, prefix)
    with pytest.raises(Rebuilding):
        await limiter.reserve([Charge(HOUR, 1)])
    assert await keys(prefix) == []  # the lock is released at once
    history.fail = False
    assert (await limiter.reserve([Charge(HOUR, 1)])).allowed
    assert history.calls == 3


async def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, "condition not met within 10 s"
        await asyncio.sleep(0.02)


@pytest.mark.redis
async def test_late_usage_events_are_added_once(limiter: RedisLimiter, history: History, prefix: str) -> None:
    await wait_until(lambda: len(history.late_calls) == 1)  # the catch-up after the start's rebuild
    await drop_keys(REDIS_URL, prefix)
    before = time.time()
    history.seeds = [Seed(HOUR, slot_at(HOUR, before), 3)]
    history.late_seeds = [Seed(HOUR, slot_at(HOUR, before), 2)]  # stored after the rebuild read
    await reservation(limiter, 1)
    await wait_until(lambda: len(history.late_calls) == 2)
    assert history.late_calls[1] >= before  # events that finished before the new epoch
    await asyncio.sleep(0.1)
    assert await used(limiter) == 3 + 1 + 2


@pytest.mark.redis
async def test_a_catch_up_belongs_to_its_epoch(limiter: RedisLimiter, history: History, prefix: str) -> None:
    await wait_until(lambda: len(history.late_calls) == 1)
    limiter.recovery.catch_up_after_s = 0.5  # both rebuilds below happen before either catch-up
    history.late_seeds = [Seed(HOUR, slot_at(HOUR, time.time()), 2)]
    await drop_keys(REDIS_URL, prefix)
    await reservation(limiter, 1)  # rebuild: epoch B
    await drop_keys(REDIS_URL, prefix)
    await reservation(limiter, 1)  # rebuild: epoch C
    await wait_until(lambda: len(history.late_calls) == 3)
    await asyncio.sleep(0.1)
    assert await used(limiter) == 1 + 2  # C's reservation and C's catch-up; B's was refused
