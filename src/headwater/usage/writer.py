"""The batched asynchronous usage writer.

``emit`` is a list append: the gateway never waits for the database. A background task flushes at
least every ``flush_interval_s`` and as soon as ``batch_size`` events are waiting.

Two kinds of failure, told apart by the store (see :class:`headwater.usage.events.EventStore`):

- **the database fails** (down, unreachable): the batch goes back to the front of the buffer, in
  order, and the writer backs off: the n-th consecutive failure waits ``flush_interval_s * 2**n``,
  at most ``max_backoff_s``, and nothing but ``close`` wakes it early (a full buffer does not: a
  down database is tried a handful of times, not once per request). Meanwhile events accumulate up
  to ``buffer_limit``, past which the oldest are dropped, counted and logged;
- **the store refuses the batch for its data** (:class:`RejectedEvents`): the batch is split in
  halves, recursively, so that every other event is written and each refused one is isolated
  (one bad event among ``n`` costs about ``2 * log2(n)`` extra writes). A refused event becomes a
  :class:`DeadLetter` (its fields as JSON and the reason) in the dead-letter store and is counted
  (``dead_lettered``); if even its dead letter is refused, it is logged and counted as dropped.
  Later events are never held up by it.

``close`` flushes everything that is left, retrying until its timeout: zero events lost on graceful
shutdown while the database is reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Generic, TypeVar

from headwater.clock import epoch
from headwater.usage.events import DeadLetter, DeadLetterStore, EventStore, RejectedEvents, payload_of

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
        dead_letters: DeadLetterStore | None = None,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._name = name
        self._store = store
        self._dead_letters = dead_letters
        self._interval = flush_interval_s
        self._max_backoff = max(max_backoff_s, flush_interval_s)
        self._batch_size = batch_size
        self._buffer: deque[E] = deque()
        self._buffer_limit = buffer_limit
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failures = 0
        self.written = 0
        self.dropped = 0
        self.dead_lettered = 0

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
        if len(buffer) >= self._batch_size and not self._failures:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._name}-writer")

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop the background task and flush everything left, retrying until ``timeout_s``."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        if self._task is not None:
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
        while not self._closing:
            if self._failures:  # backing off: only close ends the wait early
                delay = min(self._interval * 2**self._failures, self._max_backoff)
                signal = self._stop
            else:
                delay, signal = self._interval, self._wake
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=delay)
            if self._closing:
                return
            self._wake.clear()
            if await self._drain():
                self._failures = 0
            else:
                self._failures = min(self._failures + 1, 30)

    async def _drain(self) -> bool:
        """Full batches while there are some, then what is left of a partial one."""
        while self._buffer:
            if not await self._flush_once():
                return False
            if len(self._buffer) < self._batch_size:
                break
        return True

    async def _flush_once(self) -> bool:
        count = min(len(self._buffer), self._batch_size)
        batch = [self._buffer.popleft() for _ in range(count)]
        unwritten = await self._write(batch)
        if unwritten:
            self._buffer.extendleft(reversed(unwritten))
            return False
        return True

    async def _write(self, batch: list[E]) -> list[E]:
        """Writes ``batch``, isolating the events the store refuses; returns, in order, what is
        left unwritten when the database itself fails."""
        parts = [batch]  # a stack: the next part to write is on top
        while parts:
            part = parts.pop()
            try:
                await self._store.write(part)
            except RejectedEvents as refused:
                if len(part) > 1:
                    middle = len(part) // 2
                    parts += [part[middle:], part[:middle]]
                elif not await self._dead_letter(part[0], refused.reason):
                    return [*part, *(event for rest in reversed(parts) for event in rest)]
                continue
            except Exception as exc:
                log.warning(
                    "%s flush of %d events failed, will retry: %s: %s",
                    self._name,
                    len(batch),
                    type(exc).__name__,
                    str(exc).splitlines()[0][:300] if str(exc) else "",
                )
                return [*part, *(event for rest in reversed(parts) for event in rest)]
            self.written += len(part)
        return []

    async def _dead_letter(self, event: E, reason: str) -> bool:
        """Keeps a refused event as a dead letter; False when that store is unreachable (retry)."""
        log.error("%s event refused by the database (%s): kept as a dead letter", self._name, reason)
        if self._dead_letters is None:
            self.dropped += 1
            return True
        letter = DeadLetter(ts=epoch(), kind=self._name, payload=payload_of(event), error=reason)
        try:
            await self._dead_letters.write([letter])
        except RejectedEvents as refused:
            self.dropped += 1
            log.error("%s dead letter refused too (%s): event dropped", self._name, refused.reason)
            return True
        except Exception as exc:
            log.warning("%s dead letter not written, will retry: %s", self._name, type(exc).__name__)
            return False
        self.dead_lettered += 1
        return True
