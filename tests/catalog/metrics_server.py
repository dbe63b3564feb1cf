"""A hostile model server's ``/metrics`` for tests: ``GET /<behaviour>/metrics`` misbehaves on demand.

A :class:`tests.raw_server.RawServer`. A deployment's ``base_url`` is
``<url>/<behaviour>/v1``, so Headwater scrapes ``/<behaviour>/metrics``. Every request's path and
headers are recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from tests.raw_server import RawServer, Seen

VALID = (
    b"# TYPE vllm:num_requests_running gauge\n"
    b'vllm:num_requests_running{model_name="m",engine="0"} 2.0\n'
    b'vllm:num_requests_waiting{model_name="m",engine="0"} 1.0\n'
)
#: Values no server should report: they are ignored, never shown.
ODD = (
    b'vllm:num_requests_running{model_name="m",engine="0"} NaN\n'
    b'vllm:num_requests_waiting{model_name="m",engine="0"} -3\n'
    b'vllm:kv_cache_usage_perc{model_name="m",engine="0"} +Inf\n'
    b'vllm:prompt_tokens_total{model_name="m",engine="0"} 1000\n'
    b'vllm:generation_tokens_total{model_name="m",engine="0"} NaN\n'
    b'vllm:time_to_first_token_seconds_bucket{model_name="m",engine="0",le="-Inf"} 4\n'
)
HUGE = 6 * 1024 * 1024


@dataclass
class MetricsServer(RawServer):
    redirect_to: str = ""

    def base_url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/v1"

    def requests_for(self, behaviour: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == f"/{behaviour}/metrics"]

    async def answer(self, path: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        behaviour = BEHAVIOURS.get(path.removesuffix("/metrics").strip("/"), _not_found)
        await behaviour(self, writer)


def _head(writer: asyncio.StreamWriter, status: int, *extra: str) -> None:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: text/plain; version=0.0.4", "Connection: close", *extra]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())


async def _body(writer: asyncio.StreamWriter, status: int, body: bytes, *extra: str) -> None:
    _head(writer, status, f"Content-Length: {len(body)}", *extra)
    writer.write(body)
    await writer.drain()


async def _not_found(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 404, b"404 page not found")


async def _not_vllm(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(
        writer, 200, b'# TYPE python_gc_objects_collected counter\npython_gc_objects_collected{g="0"} 5\n'
    )


async def _junk(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 200, bytes(range(256)) * 64)


async def _garbage(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 200, b'vllm:num_requests_running{model_name="m" 1 2 3\n')


async def _huge(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    _head(writer, 200)  # no length: the body ends when the connection does
    line = b"# " + b"x" * 1021 + b"\n"
    for _ in range(HUGE // len(line)):
        writer.write(line * 64)
        await writer.drain()


async def _declared(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    _head(writer, 200, "Content-Length: 100000000")
    writer.write(VALID)
    await writer.drain()
    await asyncio.sleep(30)


async def _slow(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    _head(writer, 200)
    for byte in VALID * 100:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.1)


async def _hang(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def _many(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    lines = b"".join(b'vllm:num_requests_running{model_name="m%d"} 1\n' % n for n in range(12_000))
    await _body(writer, 200, lines)


async def _odd(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 200, ODD)


async def _failing(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 503, b"overloaded")


async def _redirect(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 302, b"", f"Location: {server.redirect_to}")


async def _gzip(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 200, gzip.compress(VALID), "Content-Encoding: gzip")


async def _valid(server: MetricsServer, writer: asyncio.StreamWriter) -> None:
    await _body(writer, 200, VALID)


BEHAVIOURS: dict[str, Callable[[MetricsServer, asyncio.StreamWriter], Awaitable[None]]] = {
    "notfound": _not_found,
    "notvllm": _not_vllm,
    "junk": _junk,
    "garbage": _garbage,
    "huge": _huge,
    "declared": _declared,
    "slow": _slow,
    "hang": _hang,
    "many": _many,
    "odd": _odd,
    "failing": _failing,
    "redirect": _redirect,
    "gzip": _gzip,
    "valid": _valid,
}


@contextlib.contextmanager
def metrics_server() -> Iterator[MetricsServer]:
    server = MetricsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
