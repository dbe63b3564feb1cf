"""Headers a client sends are bounded in bytes as well as in time (a real `headwater serve`).

Before the bound, one connection sending header lines for 8 s made the server hold 3.6 GB.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.serving.protocol import MAX_HEADER_BYTES
from tests.support import Server, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory: Path = tmp_path_factory.mktemp("protocol")
    started = start_server(f"sqlite+aiosqlite:///{directory / 'hw.db'}")
    yield started
    stop(started.process)


def rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def connect(server: Server) -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def test_headers_past_the_bound_get_431_and_the_connection_closed(server: Server) -> None:
    before = rss_mib(server.process.pid)
    sent = 0
    with connect(server) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        line = b"X-Pad: " + b"a" * 8000 + b"\r\n"
        try:
            while sent < 50 * 1024 * 1024:  # 50 MB of header lines, unless the server stops us first
                client.sendall(line)
                sent += len(line)
                time.sleep(0.0005)
        except OSError:
            pass  # the server closed the connection: what we want
        answer = b""
        try:
            while chunk := client.recv(65536):
                answer += chunk
        except OSError:
            pass
    assert sent < 4 * 1024 * 1024, f"the server took {sent} bytes of headers"
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code":"headers_too_large"' in answer
    assert rss_mib(server.process.pid) - before < 30


def test_headers_under_the_bound_are_served_even_in_many_reads(server: Server) -> None:
    with connect(server) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        line = b"X-Pad: " + b"b" * 1000 + b"\r\n"
        for _ in range((MAX_HEADER_BYTES - 8 * 1024) // len(line)):  # 56 KiB in ~1 KiB reads
            client.sendall(line)
            time.sleep(0.001)
        client.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b'{"status":"ok"}')
