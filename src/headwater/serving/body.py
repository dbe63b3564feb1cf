"""A bound on the time between two parts of a request body (``HEADWATER_BODY_TIMEOUT_S``).

:meth:`BodyTimer.bounded` wraps an ASGI ``receive``: a call that waits longer than the bound raises
:class:`BodyTimeout`, which the application turns into a 408 in its own error shape (the gateway:
OpenAI's ``request_timeout``). It bounds each wait, not the whole body, so a large upload that
keeps moving is never cut; a client that stops sending is.

Each wait is watched with :class:`~headwater.serving.deadlines.Deadlines` (a dict entry, not a timer
per request: see there), whose sweeper wakes every ``resolution_s`` (a quarter of the bound, at most
a second); a stalled body is therefore answered between the bound and the bound plus the
resolution. Plain ASGI: no server or framework import.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from headwater.serving.deadlines import Deadlines

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
        self._deadlines = Deadlines(resolution_s or min(timeout_s / 4, 1.0))

    def bounded(self, receive: Receive) -> Receive:
        """``receive``, where waiting more than the bound for one message raises :class:`BodyTimeout`."""
        deadlines, timeout = self._deadlines, self.timeout_s

        async def receive_in_time() -> MutableMapping[str, Any]:
            try:
                with deadlines.within(asyncio.get_running_loop().time() + timeout):
                    return await receive()
            except TimeoutError:
                raise BodyTimeout(timeout) from None

        return receive_in_time
