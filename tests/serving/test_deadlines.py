"""Deadlines: a watched block raises TimeoutError once its deadline passes, and nothing else changes."""

from __future__ import annotations

import asyncio

import pytest

from headwater.serving.deadlines import Deadlines

RESOLUTION = 0.02


async def test_a_block_past_its_deadline_raises_timeout_error_within_the_resolution() -> None:
    deadlines = Deadlines(RESOLUTION)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError), deadlines.within(started + 0.05):
        await asyncio.sleep(10)
    elapsed = loop.time() - started
    assert 0.05 <= elapsed < 0.05 + RESOLUTION + 0.5  # the bound, plus at most the resolution (and slack)
    assert len(deadlines) == 0


async def test_a_block_that_ends_in_time_is_untouched_and_forgotten() -> None:
    deadlines = Deadlines(RESOLUTION)
    loop = asyncio.get_running_loop()
    with deadlines.within(loop.time() + 5):
        await asyncio.sleep(0.01)
        assert len(deadlines) == 1
    assert len(deadlines) == 0
    await asyncio.sleep(3 * RESOLUTION)  # the sweeper finds nothing and cancels nothing
    await asyncio.sleep(0)


async def test_only_the_watch_that_expired_becomes_the_timeout() -> None:
    deadlines = Deadlines(RESOLUTION)
    loop = asyncio.get_running_loop()
    inner_timed_out = False
    with pytest.raises(TimeoutError), deadlines.within(loop.time() + 0.05):  # the outer one expires first
        try:
            with deadlines.within(loop.time() + 60):
                await asyncio.sleep(10)
        except TimeoutError:
            inner_timed_out = True
    assert not inner_timed_out
    with deadlines.within(loop.time() + 60):  # and the inner one expiring inside a long outer one
        with pytest.raises(TimeoutError), deadlines.within(loop.time() + 0.05):
            await asyncio.sleep(10)
        await asyncio.sleep(0.01)  # the task goes on: no cancellation left pending


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    deadlines = Deadlines(RESOLUTION)
    loop = asyncio.get_running_loop()

    async def watched() -> None:
        with deadlines.within(loop.time() + 60):
            await asyncio.sleep(10)

    task = asyncio.create_task(watched())
    await asyncio.sleep(0.01)
    task.cancel()  # a shutdown, say
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(deadlines) == 0


async def test_many_calls_each_get_their_own_deadline() -> None:
    deadlines = Deadlines(RESOLUTION)
    loop = asyncio.get_running_loop()

    async def call(seconds: float) -> str:
        try:
            with deadlines.within(loop.time() + 0.1):
                await asyncio.sleep(seconds)
        except TimeoutError:
            return "timed out"
        return "done"

    results = await asyncio.gather(*(call(0.01 if n % 2 else 5) for n in range(100)))
    assert results.count("done") == 50 and results.count("timed out") == 50
    assert len(deadlines) == 0
