"""Deadlines for many concurrent calls at the price of a dict entry each.

``async with asyncio.timeout(...)`` arms a timer and cancels it on every use: on uvloop that
measured about 5 µs, and a gateway call needs several (the request body, the upstream call, the
response, the last event of a stream). Here ``with deadlines.within(at):`` only records the watch in
a dict (about 1 µs with the bookkeeping), and one sweeper task (alive while anything is watched,
ending after a period without any watch) wakes every ``resolution_s`` and cancels the tasks whose
deadline has passed; the ``with`` block turns that cancellation into :class:`TimeoutError`, as
``asyncio.timeout`` does. A deadline therefore fires between ``at`` and ``at + resolution_s``.

The ``with`` is a plain (synchronous) context manager around awaits of the same task: the sweeper
can cancel a task only while it is suspended inside the block, so the cancellation always arrives
inside it. Watches nest: each has its own deadline and only the one that expired becomes the
:class:`TimeoutError`. Plain asyncio: no server or framework import.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any


class Deadlines:
    """Watches of one event loop (one per application: the sweeper runs on that loop)."""

    def __init__(self, resolution_s: float = 0.25) -> None:
        if resolution_s <= 0:
            raise ValueError("resolution_s must be positive")
        self.resolution_s = resolution_s
        self._watching: dict[Watch, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def within(self, at: float) -> Watch:
        """A context manager: its block raises :class:`TimeoutError` once the loop's time passes ``at``."""
        return Watch(self, at)

    def __len__(self) -> int:
        """How many watches are active (for tests)."""
        return len(self._watching)

    def _add(self, watch: Watch) -> None:
        self._watching[watch] = watch.at
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="deadlines")

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:  # sleeps first: under load one sweeper lives on, not one per call
                await asyncio.sleep(self.resolution_s)
                if not self._watching:
                    return
                now = loop.time()
                for watch in [w for w, at in self._watching.items() if at <= now]:
                    del self._watching[watch]
                    watch.expired = True
                    watch.task.cancel()
        finally:
            self._sweeper = None


class Watch:
    __slots__ = ("_deadlines", "at", "expired", "task")

    def __init__(self, deadlines: Deadlines, at: float) -> None:
        self._deadlines = deadlines
        self.at = at
        self.expired = False
        self.task: asyncio.Task[Any]

    def __enter__(self) -> Watch:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        self.task = task
        self._deadlines._add(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._deadlines._watching.pop(self, None)
        if self.expired and kind is not None and issubclass(kind, asyncio.CancelledError):
            self.task.uncancel()
            raise TimeoutError from None
