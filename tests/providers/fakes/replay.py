"""A replaying HTTP/1.1 server on 127.0.0.1 in a background thread: the base of the provider fakes.

A fake subclasses :class:`ReplayServer` and answers each :class:`Request` with a :class:`Reply`: a
status, headers and either a whole body or server-sent events, each event written as its own chunk
(``transfer-encoding: chunked``, as the providers stream). A reply ends normally, stalls (stops sending
and keeps the connection open), drops the connection, or hangs (never sends its headers). Connections
are kept alive between requests, as the providers' are.

Every request is recorded in ``requests``. ``cancelled`` counts replies whose client went away before
the fake had finished them: a hang or a stall the client gave up on, or a stream the client closed
between two events (give the fake an ``event_delay`` to leave it time to). ``next(scenario)`` queues
what the next request that passes the provider's checks gets; without one it gets ``"text"``.

The server runs in its own thread and event loop, so sync and async tests use it alike::

    with FakeSomething() as fake:
        ...  # fake.base_url, fake.api_key, fake.requests, fake.next("error:429"), fake.cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

Ending = Literal["end", "stall", "disconnect", "hang"]
MAX_HEAD = 1 << 20


@dataclass(frozen=True)
class Request:
    """One request as the fake received it: header names lower-cased, the body as sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What the fake sends back. ``events`` (SSE, each ending in a blank line) makes it a stream."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    events: tuple[bytes, ...] | None = None
    ending: Ending = "end"


def split_events(raw: bytes) -> tuple[bytes, ...]:
    """Recorded SSE bytes as events, each keeping its terminating blank line."""
    parts = raw.split(b"\n\n")
    if parts[-1].strip():
        raise ValueError("a recorded stream must end with a blank line")
    return tuple(part + b"\n\n" for part in parts[:-1])


def ending_for(scenario: str) -> Ending:
    """How a reply that does not stream ends under ``scenario``: stalled, cut, or whole."""
    return "stall" if scenario == "stall" else "disconnect" if scenario == "disconnect" else "end"


def substitute(raw: bytes, field: str, recorded: str, value: str) -> bytes:
    """``"field":"recorded"`` replaced by ``"field":<value as JSON>`` everywhere in ``raw``."""
    old = f'"{field}":{json.dumps(recorded)}'.encode()
    new = f'"{field}":{json.dumps(value)}'.encode()
    return raw.replace(old, new)


class ReplayServer:
    """The thread, the loop and the HTTP/1.1 plumbing; subclasses implement :meth:`answer`."""

    scenarios: frozenset[str] = frozenset()

    def __init__(self, *, event_delay: float = 0.0) -> None:
        self.event_delay = event_delay
        self.port = 0
        self.requests: list[Request] = []
        self.cancelled = 0
        self.failures: list[BaseException] = []
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- what tests use ---------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next(self, scenario: str) -> None:
        """Queue what the next accepted request gets (queued scenarios are used in order)."""
        if scenario not in self.scenarios:
            raise ValueError(f"{type(self).__name__} has no scenario {scenario!r}: {sorted(self.scenarios)}")
        with self._lock:
            self._queue.append(scenario)

    def wait_cancelled(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Whether ``cancelled`` reaches ``count`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.cancelled < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ---- what subclasses implement ---------------------------------------------------------------
    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def take_scenario(self) -> str:
        with self._lock:
            return self._queue.popleft() if self._queue else "text"

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0, limit=MAX_HEAD)
            )
            self.port = int(server.sockets[0].getsockname()[1])
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0.05))
                loop.close()

        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        if kind is None and self.failures:
            raise AssertionError(f"{type(self).__name__} failed answering: {self.failures[0]!r}")

    # ---- HTTP ---------------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests.append(request)
                try:
                    reply = self.answer(request)
                except Exception as failure:  # a bug in the fake: reported when the test leaves
                    self.failures.append(failure)
                    reply = Reply(599, (("content-type", "text/plain"),), b"the fake failed")
                if not await self._send(reply, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # a connection cut by the client, or a request the fake cannot parse
        except asyncio.CancelledError:
            pass  # the server stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Send ``reply``; whether the connection can carry another request."""
        if reply.ending == "hang":
            return await self._until_gone(reader, writer)
        streamed = reply.events is not None
        lines = [f"HTTP/1.1 {reply.status} {_phrase(reply.status)}", f"date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append("transfer-encoding: chunked" if streamed else f"content-length: {len(reply.body)}")
        lines.append("connection: keep-alive")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if reply.events is None:
            if reply.ending == "end":
                writer.write(reply.body)
                await writer.drain()
                return True
            writer.write(reply.body[: len(reply.body) // 2])
            await writer.drain()
            return False if reply.ending == "disconnect" else await self._until_gone(reader, writer)
        await writer.drain()
        for event in reply.events:
            if self.event_delay:
                await asyncio.sleep(self.event_delay)
            if _gone(reader, writer):
                self.cancelled += 1
                return False
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            try:
                await writer.drain()
            except ConnectionError:
                self.cancelled += 1
                return False
        if reply.ending == "end":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        return False if reply.ending == "disconnect" else await self._until_gone(reader, writer)

    async def _until_gone(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Send nothing more until the client closes the connection, then count it."""
        while not _gone(reader, writer):
            await asyncio.sleep(0.01)
        self.cancelled += 1
        return False


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Site Overloaded" if status == 529 else "Unknown"


def _gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    return reader.at_eof() or writer.transport.is_closing()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection between requests
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # the last chunk's blank line (no trailers expected)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    parts = urlsplit(target)
    return Request(method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), headers, body)
