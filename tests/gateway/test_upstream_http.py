"""Headwater's own HTTP/1.1 client for ``http://`` upstreams (gateway/upstream_http.py, upstream_pool.py).

Each test runs a real asyncio server on 127.0.0.1 that writes the bytes the test wants (a framing, a
hang, a lie) and counts its connections; the client's behaviour through the whole gateway is covered
by the gateway's tests, which reach their upstreams through it.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from yarl import URL

from headwater.gateway import upstream_pool
from headwater.gateway.upstream_http import HIGH_WATER, MAX_HEAD_BYTES, UpstreamBroken
from headwater.gateway.upstream_pool import Pool

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
Handler = Callable[[Reader, Writer, "Upstream"], Awaitable[None]]
Serve = Callable[[Handler], Awaitable["Upstream"]]
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer upstream-credential"}


@dataclass
class Upstream:
    handler: Handler
    port: int = 0
    connections: int = 0
    closed: int = 0
    requests: list[bytes] = field(default_factory=list)

    def url(self, path: str = "/v1/chat/completions") -> URL:
        return URL(f"http://127.0.0.1:{self.port}{path}")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.startswith(b"Content-Length")
                )
                self.requests.append(head + await reader.readexactly(length))
                await self.handler(reader, writer, self)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed += 1
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> Upstream:
        upstream = Upstream(handler)
        server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
        upstream.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return upstream

    yield start
    for server in servers:
        server.close()


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    made = Pool(limit=10, connect_timeout_s=2)
    yield made
    made.close()


def answer(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json; charset=utf-8", *extra]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def ok(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(answer(b'{"n": %d}' % len(upstream.requests), "X-Upstream: yes"))
    await writer.drain()


async def test_a_whole_answer_and_its_connection_kept_for_the_next(pool: Pool, serve: Serve) -> None:
    upstream = await serve(ok)
    for n in (1, 2, 3):
        response = await pool.post(upstream.url("/v1/chat/completions?api-version=2"), HEADERS, b"{}", 5)
        assert response.status == 200
        assert response.content_type == "application/json"
        assert response.content_length == len(b'{"n": 1}')
        assert response.headers["x-upstream"] == "yes" and "Content-Type" in response.headers
        assert await response.read() == b'{"n": %d}' % n
        response.release()
    assert upstream.connections == 1 and pool.open == 1
    head, body = upstream.requests[0].split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions?api-version=2 HTTP/1.1"
    assert f"Host: 127.0.0.1:{upstream.port}" in lines
    assert {
        "Authorization: Bearer upstream-credential",
        "Content-Length: 2",
        "Accept-Encoding: identity",
    } <= set(lines)
    assert body == b"{}"


async def test_a_chunked_stream_comes_as_it_is_sent(pool: Pool, serve: Serve) -> None:
    async def chunked(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for part in (b"data: 1\n\n", b"data: 2\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")

    upstream = await serve(chunked)
    response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    assert response.content_type == "text/event-stream" and response.content_length is None
    parts = [part async for part in response.content.iter_any()]
    assert b"".join(parts) == b"data: 1\n\ndata: 2\n\n" and len(parts) == 2
    response.release()
    again = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    assert b"".join([part async for part in again.content.iter_any()]) == b"data: 1\n\ndata: 2\n\n"
    assert upstream.connections == 1


@pytest.mark.parametrize(
    ("reply", "body"),
    [
        (
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"a": 1}',
            b'{"a": 1}',
        ),
        (answer(b"{}", "Connection: close"), b"{}"),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", b"{}"),
    ],
    ids=["ended-by-closing", "connection-close", "http-1.0"],
)
async def test_a_connection_the_server_ends_is_never_reused(
    pool: Pool, serve: Serve, reply: bytes, body: bytes
) -> None:
    async def once(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(reply)
        await writer.drain()
        writer.close()

    upstream = await serve(once)
    for _ in range(2):
        response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        assert await response.read() == body
        response.release()
    assert upstream.connections == 2


async def test_a_connection_closed_by_the_server_while_idle_is_replaced(pool: Pool, serve: Serve) -> None:
    async def then_close(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(answer(b"{}"))  # says keep-alive, closes anyway (a server's idle timeout)
        await writer.drain()
        writer.close()

    upstream = await serve(then_close)
    first = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    assert await first.read() == b"{}"
    first.release()
    await asyncio.sleep(0.1)  # the close reaches the pool
    assert pool.open == 0
    second = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    assert await second.read() == b"{}" and upstream.connections == 2


async def test_an_idle_connection_is_not_reused_after_the_keepalive(
    pool: Pool,
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(upstream_pool, "KEEPALIVE_S", 0.1)
    upstream = await serve(ok)
    for _ in range(2):
        response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        await response.read()
        response.release()
        await asyncio.sleep(0.2)
    assert upstream.connections == 2


async def cut_body(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    writer.close()


async def cut_headers(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")
    await writer.drain()
    writer.close()


async def garbage(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


async def huge_headers(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for n in range(MAX_HEAD_BYTES // 1000 + 2):
        writer.write(b"X-Padding-%d: %s\r\n" % (n, b"x" * 1000))
        await writer.drain()


async def compressed(reader: Reader, writer: Writer, upstream: Upstream) -> None:
    writer.write(answer(gzip.compress(b"{}"), "Content-Encoding: gzip"))


async def test_a_body_cut_short_is_an_error(pool: Pool, serve: Serve) -> None:
    upstream = await serve(cut_body)
    response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    with pytest.raises(UpstreamBroken, match="body ended"):
        await response.read()
    response.close()


@pytest.mark.parametrize(
    ("handler", "why"),
    [
        (cut_headers, "headers ended"),
        (garbage, "not a valid HTTP response"),
        (huge_headers, f"over {MAX_HEAD_BYTES} bytes"),
        (compressed, "compressed"),
    ],
    ids=["cut-headers", "not-http", "huge-headers", "gzip"],
)
async def test_a_response_that_is_not_one_is_refused(
    pool: Pool, serve: Serve, handler: Handler, why: str
) -> None:
    upstream = await serve(handler)
    with pytest.raises(UpstreamBroken, match=why):
        await pool.post(upstream.url(), HEADERS, b"{}", 5)
    await asyncio.sleep(0.05)
    assert pool.open == 0  # closed, never pooled


async def test_an_interim_answer_is_skipped(pool: Pool, serve: Serve) -> None:
    async def early_hints(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + answer(b"{}"))

    upstream = await serve(early_hints)
    response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    assert response.status == 200 and "link" not in response.headers
    assert await response.read() == b"{}"


async def test_silence_is_a_timeout_at_the_headers_and_between_reads(pool: Pool, serve: Serve) -> None:
    async def stall(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        if len(upstream.requests) == 2:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await asyncio.sleep(10)

    upstream = await serve(stall)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await pool.post(upstream.url(), HEADERS, b"{}", 0.2)
    assert 0.2 <= loop.time() - started < 2
    response = await pool.post(upstream.url(), HEADERS, b"{}", 0.2)
    parts = response.content.iter_any()
    assert await anext(parts) == b"hello"
    with pytest.raises(TimeoutError):
        await anext(parts)
    response.close()


async def test_connecting_to_nothing_is_an_os_error(pool: Pool, serve: Serve) -> None:
    url = (await serve(ok)).url()
    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await pool.post(url.with_port(port), HEADERS, b"{}", 5)
    assert pool.open == 0


@pytest.mark.parametrize("value", ["x\r\nX-Injected: 1", "x\nEvil: 1", "x\x00"])
async def test_a_header_that_would_split_the_request_is_refused_unsent(
    pool: Pool, serve: Serve, value: str
) -> None:
    upstream = await serve(ok)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        await pool.post(upstream.url(), {**HEADERS, "X-Custom": value}, b"{}", 5)
    assert upstream.connections == 0


async def test_callers_beyond_the_limit_wait_for_a_connection(serve: Serve) -> None:
    upstream = await serve(ok)
    pool = Pool(limit=1, connect_timeout_s=2)
    try:
        first = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        second = asyncio.create_task(pool.post(upstream.url(), HEADERS, b"{}", 5))
        await asyncio.sleep(0.1)
        assert not second.done()  # the only connection is still in use
        await first.read()
        first.release()
        response = await asyncio.wait_for(second, 2)
        assert await response.read() == b'{"n": 2}'
        assert upstream.connections == 1
    finally:
        pool.close()


async def test_a_body_nobody_reads_stops_the_reading_not_the_memory(pool: Pool, serve: Serve) -> None:
    size = 16 * 1024 * 1024
    sent = asyncio.Event()

    async def huge(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"x" * 65536
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()
        sent.set()

    upstream = await serve(huge)
    response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    await asyncio.sleep(0.5)
    assert not sent.is_set()  # the upstream is held back by TCP, not buffered here
    assert response._buffered <= HIGH_WATER + 256 * 1024
    assert len(await response.read()) == size
    response.release()
    assert pool.open == 1


async def test_closing_a_released_response_leaves_its_connection_to_the_next(
    pool: Pool, serve: Serve
) -> None:
    upstream = await serve(ok)
    first = await pool.post(upstream.url(), HEADERS, b"{}", 5)
    await first.read()
    first.release()
    second = await pool.post(upstream.url(), HEADERS, b"{}", 5)  # the same connection
    first.close()  # late: must not close the connection that now serves the second
    assert await second.read() == b'{"n": 2}'
    second.release()
    assert upstream.connections == 1 and pool.open == 1


async def test_a_caller_cancelled_while_waiting_for_a_connection_leaves_no_trace(serve: Serve) -> None:
    upstream = await serve(ok)
    pool = Pool(limit=1, connect_timeout_s=2)
    try:
        first = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        cancelled = asyncio.create_task(pool.post(upstream.url(), HEADERS, b"{}", 5))
        waiting = asyncio.create_task(pool.post(upstream.url(), HEADERS, b"{}", 5))
        await asyncio.sleep(0.05)
        await first.read()
        first.release()  # wakes the first waiter ...
        cancelled.cancel()  # ... which is cancelled before it runs: the turn passes on
        response = await asyncio.wait_for(waiting, 2)
        assert await response.read() == b'{"n": 2}'
        assert cancelled.cancelled() and upstream.connections == 1
    finally:
        pool.close()


async def test_a_full_pool_closes_one_idle_connection_for_another_upstream(serve: Serve) -> None:
    first, other = await serve(ok), await serve(ok)
    pool = Pool(limit=2, connect_timeout_s=2)
    try:
        both = await asyncio.gather(*(pool.post(first.url(), HEADERS, b"{}", 5) for _ in range(2)))
        for response in both:
            await response.read()
            response.release()
        assert first.connections == 2 and pool.open == 2  # both idle now
        response = await asyncio.wait_for(pool.post(other.url(), HEADERS, b"{}", 5), 2)
        assert await response.read() == b'{"n": 1}'
        response.release()
        await asyncio.sleep(0.05)
        assert first.closed == 1 and pool.open == 2  # one made room, the other is still pooled
        again = await pool.post(first.url(), HEADERS, b"{}", 5)
        await again.read()
        assert first.connections == 2  # the one left was reused
    finally:
        pool.close()


async def test_a_second_response_nobody_asked_for_is_ignored_and_its_connection_dropped(
    pool: Pool, serve: Serve
) -> None:
    async def twice(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(answer(b"{}") + b"HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nwrong")

    upstream = await serve(twice)
    for _ in range(2):
        response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        assert response.status == 200 and "content-length" in response.headers
        assert await response.read() == b"{}"
        assert response.content_length == 2 and len(response.raw_headers) == 2
        response.release()
    assert upstream.connections == 2  # the first connection was not reused


async def test_a_chunked_bodys_trailers_are_read_and_dropped_however_many(pool: Pool, serve: Serve) -> None:
    async def trailers(reader: Reader, writer: Writer, upstream: Upstream) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        writer.write(b"2\r\n{}\r\n0\r\n")
        for n in range(2000):  # 2 MB of trailers: far past what response headers may take
            writer.write(b"X-Trailer-%d: %s\r\n" % (n, b"t" * 1000))
            await writer.drain()
        writer.write(b"\r\n")

    upstream = await serve(trailers)
    for _ in range(2):
        response = await pool.post(upstream.url(), HEADERS, b"{}", 5)
        assert await response.read() == b"{}"
        assert len(response.raw_headers) == 2 and "x-trailer-0" not in response.headers
        response.release()
    assert upstream.connections == 1  # read to its end: the connection is reused
