"""bench/httpclient.py and bench/ttfb.py: the chunked framing is read to its end on a keep-alive
connection (against a real uvicorn server, and byte by byte from a socket pair), the first byte and
the first body byte are timed apart, and the TTFB and issue-16 verdicts compare with the reference."""

from __future__ import annotations

import importlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench(module: str) -> Any:
    """A bench/ module by name (bench's modules import each other by name, not as a package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(module)


EVENTS = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


async def streaming_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An event stream in three ``more_body`` parts: uvicorn sends it chunked."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    for event in EVENTS:
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(streaming_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running.started
    yield f"http://127.0.0.1:{port}/stream"
    running.should_exit = True
    thread.join(10)


def test_a_real_servers_chunked_streams_are_read_to_the_end_on_one_connection(server: str) -> None:
    httpclient = bench("httpclient")
    connection = httpclient.Connection(server)
    raw = connection.post_bytes(b"{}", {"Content-Type": "application/json"})
    for _ in range(3):  # the same socket each time: each response was consumed exactly
        timing = connection.request(raw)
        assert timing.status == 200
        assert timing.headers["transfer-encoding"] == "chunked"
        assert timing.body == b"".join(EVENTS)
        assert timing.complete
        assert 0 < timing.first_byte_s <= timing.first_body_s <= timing.total_s
    assert connection.sock is not None
    connection.close()


def test_the_ttfb_sampler_measures_a_real_server(server: str) -> None:
    result = bench("ttfb").sample(server, "{}", "", 0.2)
    assert result["requests"] > 0 and result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["p50_ms"] <= result["body_p50_ms"]


def test_stop_after_ends_a_stream_early_and_closes_the_connection(server: str) -> None:
    httpclient = bench("httpclient")
    connection = httpclient.Connection(server)
    raw = connection.post_bytes(b"{}", {})
    timing = connection.request(raw, stop_after=lambda data: b"\n\n" in data)
    assert timing.body == EVENTS[0] and not timing.complete
    assert connection.sock is None  # a half-read response cannot be followed on the same socket


def test_chunk_framing_split_anywhere_with_extensions_and_trailers() -> None:
    """Headers, then (20 ms later) chunks cut mid-size-line and mid-data, a trailer, then a second
    response with Content-Length on the same connection."""
    httpclient = bench("httpclient")
    ours, theirs = socket.socketpair()
    first = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n",
        b"5;name=value\r\nhel",
        b"lo\r\n1",
        b"0\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"

    def serve() -> None:
        for response in (first, (second,)):
            theirs.recv(65536)
            for index, piece in enumerate(response):
                if index == 1:
                    time.sleep(0.02)
                theirs.sendall(piece)

    thread = threading.Thread(target=serve)
    thread.start()
    connection = httpclient.Connection("http://127.0.0.1:9/x")
    connection.sock, connection.reader = ours, httpclient.Reader(ours)
    timing = connection.request(b"GET / HTTP/1.1\r\n\r\n")
    assert timing.body == b"hello0123456789abcdef" and timing.complete
    assert timing.first_body_s - timing.first_byte_s >= 0.015
    again = connection.request(b"GET / HTTP/1.1\r\n\r\n")
    assert (again.status, again.body) == (200, b"abc")
    thread.join()
    ours.close()
    theirs.close()


def test_a_bad_chunk_size_line_is_a_protocol_error() -> None:
    httpclient = bench("httpclient")
    ours, theirs = socket.socketpair()
    theirs.sendall(b"zz\r\n")
    with pytest.raises(httpclient.ProtocolError):
        httpclient.read_chunked(httpclient.Reader(ours))
    ours.close()
    theirs.close()


def rows(rps: dict[str, float], p50: dict[str, float], p99: dict[str, float]) -> list[Any]:
    wrk = bench("wrk")
    return [
        wrk.Row(
            mode,
            name,
            throughput=wrk.WrkResult(requests=1000, requests_per_s=rps[name]),
            latency=wrk.WrkResult(requests=100, p50_ms=p50[name], p99_ms=p99[name]),
        )
        for mode in ("non-stream", "stream")
        for name in rps
    ]


def test_issue16_verdicts_per_target_and_mode() -> None:
    report = bench("report")
    lines = report.issue16_verdicts(
        rows(
            {"reference": 1000, "headwater": 900, "headwater+policy": 750},
            {"reference": 0.50, "headwater": 0.60, "headwater+policy": 0.65},
            {"reference": 1.00, "headwater": 2.00, "headwater+policy": 2.50},
        )
    )
    text = "\n".join(lines)
    assert (
        "headwater non-stream 900 req/s = 90% of the reference proxy (1,000 req/s): MEETS the >= 90%" in text
    )
    assert "headwater stream 900 req/s = 90% of the reference proxy (1,000 req/s): MEETS the >= 80%" in text
    assert "headwater+policy non-stream 750 req/s = 75% of the reference proxy (1,000 req/s): MISSES" in text
    assert (
        "headwater+policy stream 750 req/s = 75% of the reference proxy (1,000 req/s): MEETS the >= 70%"
        in text
    )
    # over the reference, not over direct: +0.100 ms meets <= 0.1 ms, +1.000 ms meets <= 1 ms
    assert "headwater non-stream latency at 1 connection over the reference: p50 +0.100 ms (MEETS" in text
    assert "p99 +1.000 ms (MEETS <= 1.0 ms)" in text
    assert "headwater+policy stream latency at 1 connection over the reference: p50 +0.150 ms (MISSES" in text
    assert "p99 +1.500 ms (MISSES <= 1.0 ms)" in text
    assert "headwater+policy+redis" not in text  # not measured: no verdict


def test_ttfb_verdict_against_the_reference() -> None:
    ttfb = bench("ttfb")
    results = [
        ttfb.Ttfb("reference", requests=10, p50_ms=0.30, p99_ms=0.5, body_p50_ms=0.31),
        ttfb.Ttfb("headwater", requests=10, p50_ms=0.45, p99_ms=1.0, body_p50_ms=0.60),
        ttfb.Ttfb("headwater+policy", requests=10, p50_ms=0.55, p99_ms=1.0),
        ttfb.Ttfb("messages→openai", requests=10, p50_ms=9.0, p99_ms=9.0),
    ]
    lines = ttfb.ttfb_verdicts(results)
    assert len(lines) == 2  # the translated path is shown in the table, without a verdict
    assert (
        "headwater stream TTFB p50 0.450 ms = +0.150 ms over the reference proxy (0.300 ms): MEETS"
        in lines[0]
    )
    assert "(to the first body byte: +0.290 ms)" in lines[0]
    assert "+0.250 ms" in lines[1] and "MISSES the <= 0.2 ms target" in lines[1]
    assert "| headwater | 10 | 0.450 | 1.000 | 0.150 |" in ttfb.ttfb_table(results)
