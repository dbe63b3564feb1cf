"""Headwater's own HTTP/1.1 client for upstreams reached over plain ``http://``.

A self-hosted model server (vLLM, TGI, the simulator) is usually reached inside the cluster over
plain HTTP. For those, aiohttp's client cost ~80 µs of CPU per call on the bench machine, a third of
all that Headwater spends on a call; this one costs ~25 (docs/benchmarks.md). httptools (llhttp, the
parser Headwater serves with) parses the responses; asyncio's transports carry them. ``https://``
upstreams, and every upstream under ``HEADWATER_UPSTREAM_CLIENT=aiohttp``, go through aiohttp
(:mod:`headwater.gateway.upstream`).

What it does:

- one request at a time per connection, kept alive and reused unless the response said
  ``Connection: close`` or was not read to its end; a second response the server sends unasked is
  ignored and its connection closed; at most ``limit`` connections over all upstreams
  (:mod:`headwater.gateway.upstream_pool`);
- a connect timeout, and a read timeout between any two reads;
- bodies framed by ``Content-Length``, chunked, or the end of the connection. A body buffered past
  :data:`HIGH_WATER` bytes stops the reading from the socket until the caller takes it;
- a chunked body's trailers are read and dropped;
- it asks for ``identity``: a compressed answer, or response headers past :data:`MAX_HEAD_BYTES`,
  are refused (:class:`UpstreamBroken`), as is a header name or value with CR, LF or NUL before
  anything is sent (``ValueError``). Redirects are answers like any other: never followed.

Errors: ``OSError`` when connecting fails (nothing was sent), ``TimeoutError`` (connecting or
reading), :class:`UpstreamBroken` (the connection ended early, or the response is not valid HTTP).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from headwater.gateway.upstream_pool import Pool

#: Body bytes buffered before reading from the socket pauses.
HIGH_WATER = 256 * 1024
#: The status line and headers of a response may take this many bytes.
MAX_HEAD_BYTES = 64 * 1024
_IDENTITY = frozenset({b"", b"identity"})


class UpstreamBroken(Exception):
    """The connection ended before the response did, or the response is not valid HTTP/1.1."""


class Response:
    """A response whose status and headers are in; its body is read with :meth:`read` or
    :meth:`iter_any` (``content`` is the response itself, as aiohttp's ``response.content``)."""

    __slots__ = (
        "_buffer",
        "_buffered",
        "_connection",
        "_error",
        "_finished",
        "_headers",
        "_waiter",
        "complete",
        "raw_headers",
        "reusable",
        "status",
    )

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._headers: CIMultiDictProxy[str] | None = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.complete = False
        self.reusable = False
        self._finished = False  # released or closed: the connection may serve another response

    @property
    def content(self) -> Response:
        return self

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        if self._headers is None:
            found = CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in self.raw_headers
            )
            self._headers = CIMultiDictProxy(found)
        return self._headers

    def _header(self, wanted: bytes) -> bytes | None:
        for name, value in self.raw_headers:
            if len(name) == len(wanted) and name.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str:
        """The media type without its parameters, lower case (``application/octet-stream`` when the
        response names none)."""
        value = self._header(b"content-type")
        if value is None:
            return "application/octet-stream"
        return value.split(b";", 1)[0].strip().decode("latin-1").lower()

    @property
    def content_length(self) -> int | None:
        value = self._header(b"content-length")
        return int(value) if value is not None and value.strip().isdigit() else None

    async def read(self) -> bytes:
        """The whole body."""
        chunks: list[bytes] = []
        while True:
            chunk = await self._next()
            if chunk is None:
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            chunks.append(chunk)

    async def iter_any(self) -> AsyncIterator[bytes]:
        """The body as it comes: each item is all that had arrived."""
        while (chunk := await self._next()) is not None:
            yield chunk

    async def _next(self) -> bytes | None:
        while True:
            if self._buffer:
                buffer = self._buffer
                chunk = buffer[0] if len(buffer) == 1 else b"".join(buffer)
                self._buffer = []
                if self._buffered > HIGH_WATER:
                    self._connection.resume()
                self._buffered = 0
                return chunk
            if self._error is not None:
                raise self._error
            if self.complete:
                return None
            await self._connection.wait(self)

    def release(self) -> None:
        """Done with the response: its connection goes back to the pool if the body was read to its
        end and the server keeps it open, else it is closed. Only the first release or close acts."""
        if self._finished:
            return
        self._finished = True
        if self.complete and self.reusable and not self._buffer:
            self._connection.idle()
        else:
            self._connection.close()

    def close(self) -> None:
        """Done with the response, whatever was read: its connection is closed (unless it was
        released before: then it may be serving another response)."""
        if not self._finished:
            self._finished = True
            self._connection.close()


class Connection(asyncio.Protocol):
    """One keep-alive connection: httptools' callbacks fill the current :class:`Response`."""

    def __init__(self, pool: Pool, key: tuple[str, int]) -> None:
        self._pool = pool
        self.key = key
        self._loop = pool.loop
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self._head = False  # the current response's status and headers are in
        self._stray = False  # the server sent another response after it: ignored, never reused
        self._head_bytes = 0
        self._paused = False
        self.closed = False
        self.idle_since = 0.0
        self.read_timeout = 0.0

    # ---- asyncio's callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pool.opened()

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None or response.complete:  # bytes nobody asked for: not a sane server
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"not a valid HTTP response ({type(exc).__name__})"))
            return
        if not self._head:  # still in the headers (a read holds at most 256 KiB)
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(UpstreamBroken(f"response headers over {MAX_HEAD_BYTES} bytes"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.lost(self)
        response = self.response
        if response is None or response.complete or response._error is not None:
            return
        if self._head and self._ends_with_connection(response):
            response.complete = True
        else:
            where = "body" if self._head else "headers"
            response._error = UpstreamBroken(f"the connection closed before the response's {where} ended")
        self._wake(response)

    # ---- httptools' callbacks
    def on_message_begin(self) -> None:
        response = self.response
        if response is not None and response.complete:  # a response nobody asked for
            self._stray = True
            response.reusable = False
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        # after the head: a chunked body's trailers, not kept (a hostile upstream could send them
        # without end); a stray response's: ignored
        if not self._head and not self._stray:
            self.response.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        if self._stray:
            return
        status = self._parser.get_status_code()
        if status < 200:  # an interim answer (103 Early Hints): the real one follows
            response.raw_headers.clear()
            return
        encoding = response._header(b"content-encoding")
        if encoding is not None and encoding.strip().lower() not in _IDENTITY:
            self._fail(UpstreamBroken("a compressed response, though identity was asked for"))
            return
        response.status = status
        self._head = True
        self._wake(response)

    def on_body(self, body: bytes) -> None:
        response = self.response
        assert response is not None
        if not self._head or self._stray:  # refused at its headers, or nobody asked for it
            return
        response._buffer.append(body)
        response._buffered += len(body)
        if response._buffered > HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake(response)

    def on_message_complete(self) -> None:
        response = self.response
        assert response is not None
        if not self._head or self._stray:  # the end of an interim answer, or of a stray one
            return
        response.complete = True
        response.reusable = self._parser.should_keep_alive()
        self._wake(response)

    # ---- the client's side
    def send(self, head: bytes, body: bytes, read_timeout: float) -> Response:
        assert self._transport is not None
        self.response = response = Response(self)
        self._head = False
        self._stray = False
        self._head_bytes = 0
        self.read_timeout = read_timeout
        if len(body) < 65536:
            self._transport.write(head + body)  # a copy of a small body costs less than writelines
        else:
            self._transport.writelines((head, body))
        return response

    async def headers(self, response: Response) -> None:
        while not self._head:
            if response._error is not None:
                raise response._error
            await self.wait(response)

    async def wait(self, response: Response) -> None:
        """Until something happens to ``response``; ``TimeoutError`` after the read timeout."""
        waiter = response._waiter = self._loop.create_future()
        timer = self._loop.call_later(self.read_timeout, _time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            response._waiter = None

    def resume(self) -> None:
        if self._paused and self._transport is not None and not self.closed:
            self._paused = False
            self._transport.resume_reading()

    @property
    def usable(self) -> bool:
        return not self.closed and self._transport is not None and not self._transport.is_closing()

    def idle(self) -> None:
        self.response = None
        self._pool.put_back(self)

    def close(self) -> None:
        if not self.closed and self._transport is not None:
            self._transport.close()

    def _fail(self, error: BaseException) -> None:
        response = self.response
        if response is not None and response._error is None:
            response._error = error
            self._wake(response)
        self.close()

    @staticmethod
    def _wake(response: Response) -> None:
        waiter = response._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @staticmethod
    def _ends_with_connection(response: Response) -> bool:
        """The body is framed by the end of the connection: no length, not chunked."""
        if response._header(b"content-length") is not None:
            return False
        encoding = response._header(b"transfer-encoding")
        return encoding is None or b"chunked" not in encoding.lower()


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
