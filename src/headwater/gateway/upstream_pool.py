"""The pool of keep-alive connections of :mod:`headwater.gateway.upstream_http`, and its requests.

An idle connection is reused for :data:`KEEPALIVE_S`, the most recently used first, then closed.
At most ``limit`` connections are open at once over all upstreams: past it, the oldest idle one is
closed to make room, and when none is idle the caller waits for one to come free.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Mapping

from yarl import URL

from headwater.gateway.upstream_http import Connection, Response

#: An idle connection is reused for this long, then closed: below the 5 s after which uvicorn (and
#: so vLLM) closes an idle connection by default, so that a request is seldom written into a
#: connection the server is closing.
KEEPALIVE_S = 4.0
_FORBIDDEN = re.compile(r"[\r\n\0]")


class Pool:
    """Keep-alive connections to every ``http://`` upstream, at most ``limit`` open at once."""

    def __init__(self, *, limit: int, connect_timeout_s: float) -> None:
        self.loop = asyncio.get_running_loop()
        self._limit = limit
        self._connect_timeout = connect_timeout_s
        self._idle: dict[tuple[str, int], list[Connection]] = {}
        self._open = 0  # connected
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def open(self) -> int:
        return self._open

    async def post(
        self, url: URL, headers: Mapping[str, str], body: bytes, read_timeout_s: float
    ) -> Response:
        """POST ``body`` to ``url`` and return once the response's status and headers are in."""
        head = _head(url, headers, len(body))
        connection = await self._acquire((url.raw_host or "", url.port or 80))
        response = connection.send(head, body, read_timeout_s)
        try:
            await connection.headers(response)
        except BaseException:
            connection.close()
            raise
        return response

    async def _acquire(self, key: tuple[str, int]) -> Connection:
        while True:
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()  # the most recently used
                if self.loop.time() - connection.idle_since >= KEEPALIVE_S:
                    for stale in (connection, *idle):  # the others have been idle longer
                        stale.close()
                    idle.clear()
                elif connection.usable:
                    return connection
                else:
                    connection.close()
            if self._open + self._connecting < self._limit:
                return await self._connect(key)
            # Full: the oldest idle connection (of any upstream) is closed to make room; the pool
            # learns of it a moment later (lost), which wakes the next waiter.
            self._evict_idle()
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: the turn goes to the next caller
                raise

    async def _connect(self, key: tuple[str, int]) -> Connection:
        self._connecting += 1
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await self.loop.create_connection(
                    lambda: Connection(self, key), key[0], key[1]
                )
        finally:
            self._connecting -= 1
            self._wake_one()
        return connection

    def _evict_idle(self) -> None:
        """Closes the oldest idle connection, of any upstream, if there is one."""
        oldest: Connection | None = None
        for connections in self._idle.values():
            if connections and (oldest is None or connections[0].idle_since < oldest.idle_since):
                oldest = connections[0]
        if oldest is not None:
            self._idle[oldest.key].remove(oldest)
            oldest.close()

    def opened(self) -> None:
        self._open += 1

    def lost(self, connection: Connection) -> None:
        self._open -= 1
        idle = self._idle.get(connection.key)
        if idle and connection in idle:
            idle.remove(connection)
        self._wake_one()

    def put_back(self, connection: Connection) -> None:
        if connection.closed:
            return
        if self._closed:
            connection.close()
            return
        connection.idle_since = self.loop.time()
        self._idle.setdefault(connection.key, []).append(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """Closes the idle connections; those in use close when their response is done."""
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()


def _head(url: URL, headers: Mapping[str, str], length: int) -> bytes:
    """The request line and headers; ``ValueError`` for a header that would split the request."""
    if _FORBIDDEN.search("".join([*headers, *headers.values()])):
        raise ValueError("a header name or value holds CR, LF or NUL")
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    text = (
        f"POST {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host_port_subcomponent}\r\n{fields}"
        f"User-Agent: Headwater\r\nAccept-Encoding: identity\r\nContent-Length: {length}\r\n\r\n"
    )
    return text.encode("utf-8")
