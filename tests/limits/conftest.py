"""Fixtures for the limiter tests: both backends behind one harness, and throw-away Redis servers."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import pytest
import redis
import redis.asyncio

from headwater.limits.base import Charge, Decision, Limiter, Reservation
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from tests.support import free_port

REDIS_URL = os.environ.get("HEADWATER_TEST_REDIS", "redis://127.0.0.1:6379/0")
T0 = 1_700_000_000.0
SERVER_ARGS = (
    "redis-server",
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
)  # a realistic epoch: bucket indexes as large as in production


@dataclass
class Subject:
    """A limiter driven on a controlled clock: every call passes ``now=self.t``."""

    limiter: Limiter
    t: float = T0

    async def reserve(self, *charges: Charge) -> Decision:
        return await self.limiter.reserve(charges, now=self.t)

    async def settle(self, reservation: Reservation | None, actual: Sequence[int]) -> None:
        assert reservation is not None
        await self.limiter.settle(reservation, actual, now=self.t)


async def drop_keys(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test:limits:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_limiter(prefix: str) -> AsyncIterator[RedisLimiter]:
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix)
    try:
        yield limiter
    finally:
        await limiter.close()
        await drop_keys(REDIS_URL, prefix)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def subject(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Subject]:
    if request.param == "memory":
        yield Subject(MemoryLimiter(clock=lambda: pytest.fail("the explicit now must be used")))
        return
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix)
    try:
        yield Subject(limiter)
    finally:
        await limiter.close()
        await drop_keys(REDIS_URL, prefix)


@dataclass
class RedisServer:
    """A throw-away ``redis-server`` on its own port, which a test may stop and start again."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [*SERVER_ARGS, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        with redis.Redis(port=self.port, socket_connect_timeout=0.2) as probe:
            while True:
                try:
                    if probe.ping():
                        return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        self.stop()
                        raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                    time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
