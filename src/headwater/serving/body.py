"""A bound on the time between two parts of a request body (``HEADWATER_BODY_TIMEOUT_S``).

:meth:`BodyTimer.bounded` wraps an ASGI ``receive``: a call that waits longer than the bound raises
:class:`BodyTimeout`, which the application turns into a 408 in its own error shape (the gateway:
OpenAI's ``request_timeout``). It bounds each wait, not the whole body, so a large upload that
keeps moving is never cut; a client that stops sending is.

Why not ``asyncio.timeout``: on uvloop a timer per request (armed, then cancelled) measured 5-10 µs,
while nearly every body has already arrived when the application asks for it. Here a call only
records its deadline in a dict (about 1 µs with the bookkeeping), and one sweeper task per timer
(alive while calls come, ending after a period without any) wakes every ``resolution_s`` (a quarter
of the bound, at most a second) and cancels the calls past their deadline. A stalled body is
therefore answered between the bound and the bound plus the resolution. Plain ASGI: no server or
framework import.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class BodyTimeout(Exception):
    """A part of the request body did not arrive within the bound."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"The request body stalled: no data for {timeout_s:g} s.")
        self.timeout_s = timeout_s


class BodyTimer:
    """Bounds the waits of ``receive`` calls; one per application (it serves one event loop)."""

    def __init__(self, timeout_s: float, *, resolution_s: float | None = None) -> None:
        self.timeout_s = timeout_s
        self._resolution = resolution_s or min(timeout_s / 4, 1.0)
        self._waiting: dict[asyncio.Task[Any], float] = {}  # a waiting call's task → its deadline
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def bounded(self, receive: Receive) -> Receive:
        """``receive``, where waiting more than the bound for one message raises :class:`BodyTimeout`."""

        async def receive_in_time() -> MutableMapping[str, Any]:
            task = asyncio.current_task()
            assert task is not None
            loop = asyncio.get_running_loop()
            self._waiting[task] = loop.time() + self.timeout_s
            if self._sweeper is None:
                self._sweeper = loop.create_task(self._sweep())
            try:
                return await receive()
            except asyncio.CancelledError:
                if task not in self._expired:
                    raise
                self._expired.discard(task)
                task.uncancel()
                raise BodyTimeout(self.timeout_s) from None
            finally:
                self._waiting.pop(task, None)

        return receive_in_time

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:  # sleeps first: under load one sweeper lives on, not one per request
                await asyncio.sleep(self._resolution)
                if not self._waiting:
                    return
                now = loop.time()
                for task, deadline in list(self._waiting.items()):
                    if deadline <= now:
                        del self._waiting[task]
                        self._expired.add(task)
                        task.cancel()
        finally:
            self._sweeper = None
