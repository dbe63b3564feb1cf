"""The batched asynchronous usage writer.

``emit`` is a list append: the gateway never waits for the database. A background task flushes at
least every ``flush_interval_s`` and as soon as ``batch_size`` events are waiting. A failed flush
keeps the batch and retries with back-off (bounded by ``buffer_limit``, oldest dropped first, loudly).
``close`` flushes everything that is left: zero events lost on graceful shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Generic, TypeVar

from headwater.usage.events import EventStore

E = TypeVar("E")

log = logging.getLogger("headwater.usage")


class BatchWriter(Generic[E]):
    def __init__(
        self,
        store: EventStore[E],
        *,
        flush_interval_s: float = 0.5,
        batch_size: int = 500,
        buffer_limit: int = 200_000,
        name: str = "usage",
    ) -> None:
        self._name = name
        self._store = store
        self._interval = flush_interval_s
        self._batch_size = batch_size
        self._buffer: deque[E] = deque()
        self._buffer_limit = buffer_limit
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def emit(self, event: E) -> None:
        buffer = self._buffer
        buffer.append(event)
        if len(buffer) > self._buffer_limit:
            buffer.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error(
                    "%s buffer full (database unavailable?): %d events dropped", self._name, self.dropped
                )
        if len(buffer) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._name}-writer")

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop the background task and flush everything left, retrying until ``timeout_s``."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._buffer:
            if await self._flush_once():
                continue
            if loop.time() >= deadline:
                log.error("%s writer closing with %d events unwritten", self._name, len(self._buffer))
                return
            await asyncio.sleep(0.2)

    async def _run(self) -> None:
        backoff = self._interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            ok = True
            while self._buffer and ok:
                ok = await self._flush_once()
                if len(self._buffer) < self._batch_size:
                    break
            backoff = self._interval if ok else min(backoff * 2, 5.0)

    async def _flush_once(self) -> bool:
        count = min(len(self._buffer), self._batch_size)
        batch = [self._buffer.popleft() for _ in range(count)]
        try:
            await self._store.write(batch)
        except Exception as exc:
            log.warning("%s flush of %d events failed, will retry: %s", self._name, len(batch), exc)
            self._buffer.extendleft(reversed(batch))
            return False
        self.written += len(batch)
        return True
