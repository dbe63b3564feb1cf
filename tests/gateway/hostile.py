"""A hostile OpenAI-compatible upstream for tests: it misbehaves on demand.

A raw asyncio HTTP/1.1 server in a thread, bound to 127.0.0.1. What it does depends on the
``model`` of the request body (a deployment's ``upstream_model``), one of :data:`BEHAVIOURS`.
It records every request it gets (path, model, headers) and, for the streams it holds open, whether
and when the gateway closed the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support import free_port

NESTED_DEPTH = 300
HUGE = 3 * 1024 * 1024
NO_SEPARATOR_BYTES = 5 * 1000 * 1000
#: A look-alike of a provider key (split so that no secret scanner takes it for one).
SECRET_LOOKALIKE = "sk-" + "proj-AbCdEfGhIjKlMnOpQrStUv0123456789"
#: Usage objects a misbehaving upstream reports, by behaviour name.
BAD_USAGE: dict[str, dict[str, Any]] = {
    "usage-huge": {"prompt_tokens": 2**31, "completion_tokens": 2, "total_tokens": 2**31 + 2},
    "usage-negative": {"prompt_tokens": -5, "completion_tokens": 2},
    "usage-float": {"prompt_tokens": 7, "completion_tokens": 2.5},
    "usage-bool": {"prompt_tokens": True, "completion_tokens": 2},
    "usage-string": {"prompt_tokens": "7", "completion_tokens": 2},
    "usage-enormous": {"prompt_tokens": 10**30, "completion_tokens": 10**30},
}


@dataclass
class Seen:
    path: str
    model: str
    headers: dict[str, str]
    closed_after_s: float | None = None  # for held streams: when the gateway hung up


@dataclass
class Hostile:
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests_for(self, model: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.model == model]

    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0.05))
                loop.close()

        self._thread = threading.Thread(target=serve, name="hostile-upstream", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile upstream did not start")

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            payload = json.loads(body) if body else {}
            seen = Seen(path, str(payload.get("model", "")), headers)
            self.seen.append(seen)
            behaviour = _ok if path.startswith("/v1/target") else BEHAVIOURS.get(seen.model, _ok)
            await behaviour(Exchange(self, reader, writer, seen, payload))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a connection cut by either side, or the upstream stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@dataclass
class Exchange:
    upstream: Hostile
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    seen: Seen
    body: dict[str, Any]

    def head(self, status: int, content_type: str, length: int | None, **extra: str) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", "Connection: close"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def json(self, status: int, payload: Any, **extra: str) -> None:
        data = json.dumps(payload).encode()
        self.head(status, "application/json", len(data), **extra)
        self.writer.write(data)
        await self.writer.drain()

    async def hold(self, seconds: float = 30.0) -> None:
        """Keep the connection open until the gateway closes it (recorded) or ``seconds`` pass."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return
        except ConnectionError:  # a reset: the gateway closed with our bytes unread
            pass
        self.seen.closed_after_s = time.monotonic() - started

    def bearer(self) -> str:
        return self.seen.headers.get("authorization", "")


def completion(
    model: str, usage: dict[str, Any] | None, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message or {"role": "assistant", "content": "fine thanks"},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def chunk(model: str, content: str) -> bytes:
    data = {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


async def _ok(x: Exchange) -> None:
    await x.json(
        200, completion(x.seen.model, {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9})
    )


async def _bad_usage(x: Exchange) -> None:
    await x.json(200, completion(x.seen.model, BAD_USAGE[x.seen.model]))


async def _tools_no_usage(x: Exchange) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    await x.json(
        200, completion(x.seen.model, None, {"role": "assistant", "content": None, "tool_calls": [call]})
    )


async def _long_no_usage(x: Exchange) -> None:
    """A long (20 MB) answer and no usage: the gateway must estimate all of it."""
    text = "many words in a very long answer " * 600_000
    await x.json(200, completion(x.seen.model, None, {"role": "assistant", "content": text}))


async def _huge_declared(x: Exchange) -> None:
    x.head(200, "application/json", 200_000_000)
    x.writer.write(b'{"padding": "' + b"x" * 65536)
    await x.writer.drain()
    await x.hold()


async def _huge_undeclared(x: Exchange, status: int = 200) -> None:
    x.head(status, "application/json", None)  # no length: the body ends when the connection does
    x.writer.write(b'{"error": {"message": "')
    for _ in range(HUGE // 65536):
        x.writer.write(b"x" * 65536)
        await x.writer.drain()
    x.writer.write(b'"}}')
    await x.writer.drain()


async def _huge_error(x: Exchange) -> None:
    await _huge_undeclared(x, 400)


async def _sse_no_separator(x: Exchange) -> None:
    x.head(200, "text/event-stream", None)
    piece = b"data: " + b"y" * 4090
    started = time.monotonic()
    try:
        for _ in range(NO_SEPARATOR_BYTES // len(piece)):
            x.writer.write(piece)
            await x.writer.drain()
    except ConnectionError:  # the gateway hung up while we were still sending
        x.seen.closed_after_s = time.monotonic() - started
        return
    await x.hold()


async def _sse_drip(x: Exchange) -> None:
    x.head(200, "text/event-stream", None)
    with contextlib.suppress(ConnectionError):
        for _ in range(600):
            x.writer.write(chunk(x.seen.model, "drip "))
            await x.writer.drain()
            await asyncio.sleep(0.1)


async def _sse_break(x: Exchange) -> None:
    """Four chunks (or only the first, for ``sse-break-early``), then the connection just dies."""
    x.head(200, "text/event-stream", None)
    words = ("", "one ", "two ", "three ")
    for word in words[:1] if x.seen.model == "sse-break-early" else words:
        x.writer.write(chunk(x.seen.model, word))
    await x.writer.drain()
    await asyncio.sleep(0.2)  # let the gateway relay what came before the break
    x.writer.transport.abort()


async def _slow_headers(x: Exchange) -> None:
    await x.hold(30)


async def _slow_body(x: Exchange) -> None:
    x.head(200, "application/json", 1000)
    x.writer.write(b'{"id": "')
    await x.writer.drain()
    await x.hold(30)


async def _redirect(x: Exchange) -> None:
    x.head(307, "text/plain", 0, Location=f"{x.upstream.url}/target/chat/completions")
    await x.writer.drain()


def _echo_text(x: Exchange) -> str:
    return (
        f"Invalid header 'Authorization: {x.bearer()}' sent to {x.upstream.url}/chat/completions "
        f"for model {x.seen.model}; another key: {SECRET_LOOKALIKE}"
    )


async def _echo_400(x: Exchange) -> None:
    error = {"message": _echo_text(x), "type": "invalid_request_error", "param": None, "code": x.bearer()}
    await x.json(400, {"error": error, "debug": {"authorization": x.bearer()}})


async def _echo_500(x: Exchange) -> None:
    await x.json(500, {"error": {"message": _echo_text(x), "type": "server_error"}})


async def _echo_text_400(x: Exchange) -> None:
    data = _echo_text(x).encode()
    x.head(400, "text/plain", len(data))
    x.writer.write(data)
    await x.writer.drain()


async def _auth(x: Exchange) -> None:
    status = 401 if x.seen.model == "auth-401" else 403
    message = f"Incorrect API key provided: {x.bearer()}. Your key is not allowed here."
    await x.json(
        status, {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}
    )


async def _nested(x: Exchange) -> None:
    value: Any = "bottom"
    for _ in range(NESTED_DEPTH):
        value = [value]
    body = completion(x.seen.model, {"prompt_tokens": 7, "completion_tokens": 2})
    body["extra"] = value
    await x.json(200, body)


BEHAVIOURS: dict[str, Callable[[Exchange], Awaitable[None]]] = {
    **dict.fromkeys(BAD_USAGE, _bad_usage),
    "tools-no-usage": _tools_no_usage,
    "long-no-usage": _long_no_usage,
    "huge-declared": _huge_declared,
    "huge-undeclared": _huge_undeclared,
    "huge-error": _huge_error,
    "sse-no-separator": _sse_no_separator,
    "sse-drip": _sse_drip,
    "sse-break": _sse_break,
    "sse-break-early": _sse_break,
    "slow-headers": _slow_headers,
    "slow-body": _slow_body,
    "redirect": _redirect,
    "echo-400": _echo_400,
    "echo-500": _echo_500,
    "echo-text-400": _echo_text_400,
    "auth-401": _auth,
    "auth-403": _auth,
    "nested": _nested,
}


@contextlib.contextmanager
def hostile_upstream() -> Iterator[Hostile]:
    upstream = Hostile()
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()
