"""A minimal blocking HTTP/1.1 client on one keep-alive socket, for timing single requests.

No library between the socket and the clock: :meth:`Connection.request` sends the request with one
``sendall`` and notes when the first byte of the response arrives (``first_byte_s``), when the first
byte of its body arrives (``first_body_s``) and when the body is complete (``total_s``), all measured
from just before the send. The body is read to its end before the call returns (``Content-Length``,
or the chunked framing parsed chunk by chunk up to the 0-length chunk and the trailers), so the
connection is ready for the next request. ``stop_after`` ends a body early (the aborted streams of
``make bench --soak``): the caller must then close the connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The server's answer is not the HTTP/1.1 this client understands, or the connection closed."""


@dataclass
class Timing:
    status: int
    headers: dict[str, str]
    body: bytes
    first_byte_s: float  # send → first byte of the response (the status line)
    first_body_s: float | None  # send → first byte of the body (None: an empty body)
    total_s: float  # send → the body read to its end (or to ``stop_after``)
    complete: bool = True  # False: ``stop_after`` ended the body early


class Reader:
    """The bytes a socket delivers, buffered, with the time of the latest ``recv``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.received_at = 0.0

    def fill(self) -> None:
        data = self.sock.recv(65536)
        self.received_at = time.perf_counter()
        if not data:
            raise ProtocolError("the server closed the connection")
        self.buffer += data

    def line(self) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise ProtocolError("a line longer than 64 KiB")
            self.fill()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def read_chunked(reader: Reader, on_data: Callable[[bytes], bool] | None = None) -> tuple[bytes, bool]:
    """A chunked body (RFC 9112 §7.1): size lines (hex, extensions ignored), data, CRLF; up to the
    0-length chunk and the trailer section's empty line. ``on_data`` sees each chunk's data and may
    return True to stop early (the body is then incomplete: the caller closes the connection).
    Returns the body and whether it was read to its end."""
    body = bytearray()
    while True:
        size_line = reader.line()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"not a chunk size line: {size_line[:80]!r}") from None
        if size == 0:
            while reader.line():  # trailers, up to the empty line
                pass
            return bytes(body), True
        data = reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise ProtocolError("a chunk's data is not followed by CRLF")
        body += data
        if on_data is not None and on_data(data):
            return bytes(body), False


class Connection:
    """One keep-alive connection to ``url``'s host (``http://`` only), TCP_NODELAY on."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"not an http:// URL: {url}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader: Reader | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.reader = sock, Reader(sock)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def post_bytes(self, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def request(self, raw: bytes, stop_after: Callable[[bytes], bool] | None = None) -> Timing:
        """Send ``raw`` (a whole request, see :meth:`post_bytes`) and read the response."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None and self.reader is not None
        reader = self.reader
        started = time.perf_counter()
        self.sock.sendall(raw)
        reader.fill()
        first_byte = reader.received_at - started
        status_line = reader.line()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while line := reader.line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        # The body's first byte came with the latest recv if it is buffered already, else with the next.
        first_body: float | None = None

        def body_started() -> None:
            nonlocal first_body
            if not reader.buffer:
                reader.fill()
            first_body = reader.received_at - started

        complete = True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body_started()
            body, complete = read_chunked(reader, stop_after)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length:
                body_started()
            body = reader.exactly(length)
        else:
            raise ProtocolError("a response with neither Content-Length nor chunked framing")
        total = time.perf_counter() - started
        if not complete or headers.get("connection", "").lower() == "close":
            self.close()
        return Timing(status, headers, body, first_byte, first_body, total, complete)
