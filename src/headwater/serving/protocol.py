"""uvicorn's httptools protocol with bounds on the time and the bytes a request's headers may take.

uvicorn has no such option: a client that opens a connection and sends nothing, or sends a request
line and then one header byte every few seconds (slowloris), holds a connection (and a file
descriptor) for as long as it likes. Here a timer runs while the server waits for the headers of a
request — from the moment a connection is made, and from the first byte of each later request —
and closes the connection when it fires (``HEADWATER_HEADER_TIMEOUT_S``, read from the uvicorn
config as ``header_timeout_s``; absent or None: no bound). Between requests uvicorn's keep-alive
timeout applies as before; the body is the application's to bound (:mod:`headwater.serving.body`).

uvicorn does not bound the size of the headers either: httptools hands every header line to the
protocol, which keeps them all, so one client sending header lines for a few seconds held gigabytes
(3.6 GB after 8 s, measured before this bound). Here the bytes a request's headers span beyond the
read that started them are counted, and past :data:`MAX_HEADER_BYTES` the client gets a 431 and the
connection is closed: what one request's headers can hold is that bound plus one read.

Cost: one timer per connection and none per request whose headers arrive in one read (the usual
case); a request whose headers span reads arms one timer and counts its reads.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("headwater.serving")

#: The most bytes a request's headers (the request line included) may span after their first read.
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = (
    b'{"error":{"message":"The request headers exceed 65536 bytes.","type":"invalid_request_error",'
    b'"param":null,"code":"headers_too_large"}}'
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        timeout: float | None = getattr(config, "header_timeout_s", None)
        self._header_timeout = timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_headers = False
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # the first request's headers must come in time, its first byte included

    def data_received(self, data: bytes) -> None:
        continuing = self._in_headers
        super().data_received(data)
        if not self._in_headers:
            return
        if continuing:  # a read that went on with headers an earlier read started
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._headers_too_large()
                return
        if self._header_timer is None:
            self._arm()  # this read left a request's headers unfinished

    def on_message_begin(self) -> None:
        self._in_headers = True
        self._header_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timeout is not None and self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_large(self) -> None:
        self._in_headers = False
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing else is being answered
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
            )
        self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.debug(
                "closing a connection whose request headers took longer than %s s", self._header_timeout
            )
            self.transport.close()
