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

With a :class:`~headwater.usage.journal.Journal` (usage events), nothing is lost when the process
is killed or the database stays down either:

- ``emit`` first appends the event to the journal, then to the buffer; what reaches the database is
  marked done in the journal, in the order the events were appended;
- when the buffer is full, events stay on disk only (the writer *spills*): once it has written what
  it holds, the writer reads them back from the journal, a batch at a time, until it has caught up,
  and then buffers again. Only when the journal cannot be written either does a full buffer drop
  events (the newest), counted and logged;
- at start and every ``scan_interval_s``, the writer takes over the journal segments of processes
  that are gone and writes their events after its own (the store writes each event once);
- ``close`` leaves what it could not write in the journal, for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Generic, TypeVar

from headwater.clock import epoch, monotonic
from headwater.usage.events import DeadLetter, DeadLetterStore, EventStore, RejectedEvents, payload_of
from headwater.usage.journal import Journal
from headwater.usage.journal_files import Orphan

E = TypeVar("E")

log = logging.getLogger("headwater.usage")
#: How many batches one transaction may write while the writer is behind.
CATCH_UP = 10


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
        journal: Journal[E] | None = None,
        scan_interval_s: float = 30.0,
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
        self._journal = journal
        self._orphans: deque[Orphan[E]] = deque()
        self._scan_interval = scan_interval_s
        self._next_scan = 0.0
        self.written = 0
        self.dropped = 0
        self.dead_lettered = 0
        #: Events of processes that are gone written from their journal segments.
        self.replayed = 0

    @property
    def pending(self) -> int:
        """Events not written yet: in the buffer, and kept on disk only while spilling."""
        return len(self._buffer) + (self._journal.spilled if self._journal else 0)

    def emit(self, event: E) -> None:
        buffer = self._buffer
        journal = self._journal
        if journal is None:
            buffer.append(event)
            if len(buffer) > self._buffer_limit:
                buffer.popleft()
                self._drop()
        else:
            journaled = journal.append(event)
            if journal.spill is None:
                buffer.append(event)
                if len(buffer) >= self._buffer_limit:
                    if journaled:  # the next events stay on disk until the buffer has room
                        journal.start_spill()
                    elif len(buffer) > self._buffer_limit:  # nowhere to keep it
                        buffer.pop()
                        journal.forget_last()
                        self._drop()
            elif not journaled:
                journal.forget_last()
                self._drop()
        if len(buffer) >= self._batch_size and not self._failures:
            self._wake.set()

    def _drop(self) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 10_000 == 0:
            where = "and the journal cannot be written " if self._journal else ""
            log.error(
                "%s buffer full %s(database unavailable?): %d events dropped", self._name, where, self.dropped
            )

    def start(self) -> None:
        if self._journal is not None:
            self._journal.open()
            self._scan()
        self._task = asyncio.create_task(self._run(), name=f"{self._name}-writer")

    def _scan(self) -> None:
        """Take over the journal segments of processes that are gone."""
        assert self._journal is not None
        self._next_scan = monotonic() + self._scan_interval
        found = self._journal.take_orphans()
        if found:
            log.info("%s: replaying %d journal segments of stopped processes", self._name, len(found))
            self._orphans.extend(found)
            self._wake.set()

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
        while self._buffer or self._spilling:
            if await self._flush_once(replay=False):
                continue
            if loop.time() >= deadline:
                self._unwritten_at_close()
                break
            await asyncio.sleep(0.2)
        if self._journal is not None:
            self._orphans.clear()  # released by the journal: the next start goes on from their marks
            self._journal.close()

    def _unwritten_at_close(self) -> None:
        journal = self._journal
        if journal is None:
            log.error("%s writer closing with %d events unwritten", self._name, len(self._buffer))
            return
        lost = journal.memory_only
        log.error(
            "%s writer closing with %d events unwritten: the journal %s keeps %d of them for the next "
            "start%s",
            self._name,
            self.pending,
            journal.directory,
            self.pending - lost,
            f"; {lost} could not be journaled and are lost" if lost else "",
        )

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
            if self._journal is not None:
                self._journal.retry()
                if monotonic() >= self._next_scan:
                    self._scan()
            if await self._drain():
                self._failures = 0
            else:
                self._failures = min(self._failures + 1, 30)

    async def _drain(self) -> bool:
        """Full batches while there are some (from the buffer, the spilled events, the segments to
        replay), then what is left of a partial one."""
        while self._buffer or self._spilling or self._replaying:
            if not await self._flush_once():
                return False
            if len(self._buffer) < self._batch_size and not self._spilling and not self._replaying:
                break
        return True

    async def _flush_once(self, *, replay: bool = True) -> bool:
        """Writes one batch: this process's events first, then those of a segment to replay."""
        buffer, journal = self._buffer, self._journal
        if not buffer and journal is not None and journal.spill is not None:
            buffer.extend(journal.read_spilled(self._batch_size * CATCH_UP))  # caught up: buffers again
        if buffer:
            # Behind (more than two batches waiting): bigger transactions, so that the writer
            # catches up with a gateway at full load instead of falling further behind.
            size = self._batch_size
            count = min(len(buffer), size if len(buffer) <= 2 * size else size * CATCH_UP)
            batch = [buffer.popleft() for _ in range(count)]
            unwritten = await self._write(batch)
            if journal is not None and len(batch) > len(unwritten):
                journal.done(len(batch) - len(unwritten))
            if unwritten:
                buffer.extendleft(reversed(unwritten))
                return False
            return True
        if replay and self._replaying:
            return await self._replay_once(self._orphans[0])
        return True

    @property
    def _spilling(self) -> bool:
        return self._journal is not None and self._journal.spill is not None

    @property
    def _replaying(self) -> bool:
        """Segments of stopped processes are left to replay (closing, they are left as they are)."""
        return bool(self._orphans) and not self._closing

    async def _replay_once(self, orphan: Orphan[E]) -> bool:
        """One batch of a segment left by a process that is gone; deleted once all written."""
        assert self._journal is not None
        if not orphan.pending:
            orphan.pending = orphan.read(self._batch_size)
            if not orphan.pending:
                orphan.advance(0)
                self._journal.finished(orphan)
                self._orphans.popleft()
                log.info(
                    "%s: %d events replayed from the journal segment %s of a stopped process%s",
                    self._name,
                    orphan.replayed,
                    orphan.name,
                    f" ({orphan.unreadable} unreadable lines skipped)" if orphan.unreadable else "",
                )
                return True
        batch = orphan.pending
        unwritten = await self._write(batch)
        orphan.advance(len(batch) - len(unwritten))
        self.replayed += len(batch) - len(unwritten)
        orphan.pending = unwritten
        return not unwritten

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
