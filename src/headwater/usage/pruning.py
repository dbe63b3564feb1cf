"""The retention loop: a background task that runs a pruning pass now and then.

The pass itself (which rows, in which batches) is the store's
(:class:`headwater.storage.sql.retention.SqlRetention`); this loop only paces it, keeps counts
(for metrics) and logs one line per pass that deleted something. A failed pass (the database down)
is logged and tried again at the next interval; nothing here ever stops the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("headwater.usage")


class PassResult(Protocol):
    @property
    def rows(self) -> dict[str, int]: ...

    @property
    def seconds(self) -> float: ...

    @property
    def skipped(self) -> bool: ...

    @property
    def total(self) -> int: ...


Prune = Callable[[Callable[[], bool]], Awaitable[PassResult]]


class Pruner:
    """Runs ``prune`` ``first_after_s`` after :meth:`start`, then every ``interval_s``."""

    def __init__(self, prune: Prune, *, interval_s: float = 300.0, first_after_s: float = 5.0) -> None:
        self._prune = prune
        self._interval_s = interval_s
        self._first_after_s = first_after_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.failures = 0
        #: Rows deleted since start, per table.
        self.pruned: dict[str, int] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-retention")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Ends the loop: a pass under way stops after its current batch (or is cancelled after
        ``timeout_s``)."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> PassResult | None:
        """One pass now; None when it failed (logged and counted)."""
        try:
            result = await self._prune(self._stop.is_set)
        except Exception as exc:
            self.failures += 1
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            log.warning("usage retention pass failed, will retry: %s: %s", type(exc).__name__, detail)
            return None
        self.passes += 1
        for table, count in result.rows.items():
            self.pruned[table] = self.pruned.get(table, 0) + count
        if result.total:
            deleted = ", ".join(f"{table} {count}" for table, count in result.rows.items() if count)
            log.info("usage retention: deleted %s rows in %.1f s (%s)", result.total, result.seconds, deleted)
        elif result.skipped:
            log.debug("usage retention: another process is pruning, pass skipped")
        return result

    async def _run(self) -> None:
        delay = self._first_after_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            if self._stop.is_set():
                return
            await self.run_once()
            delay = self._interval_s
