"""Bad and slow input against a real ``headwater serve`` (issue 9, items 13, 18 and 20).

JSON nested too deep, too many embedding inputs, and clients that send their headers or body too
slowly (raw sockets, since an HTTP client would not misbehave on purpose).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import Server, Sim, apply, create_key, database, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT_S = 1
BODY_TIMEOUT_S = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        started = start_server(
            url,
            extra_env={
                "HEADWATER_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
                "HEADWATER_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            },
        )
        # an upstream name of its own: the gateway writes the body back with orjson
        apply(
            started,
            model_doc("chat", sim.url, upstream="chat-upstream"),
            model_doc("embed", sim.url, kind="embedding"),
        )
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return str(create_key(server, name="bad-input")["key"])


@pytest.fixture
def http(server: Server, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=20) as client:
        yield client


def deep_chat(levels: int) -> bytes:
    """A chat body whose deepest value sits ``levels`` arrays below ``metadata`` (2 levels down)."""
    deep = b"[" * levels + b'"x"' + b"]" * levels
    return (
        b'{"model": "chat", "messages": [{"role": "user", "content": "hi"}], "metadata": {"deep": '
        + deep
        + b"}}"
    )


# ---- 20: depth ----------------------------------------------------------------------------------
def test_json_at_the_depth_limit_is_served(http: httpx.Client) -> None:
    response = http.post("/chat/completions", content=deep_chat(126))  # 1 + 1 + 126 = 128 levels
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("levels", [127, 300, 1000])
def test_json_nested_too_deep_is_400(http: httpx.Client, levels: int) -> None:
    response = http.post("/chat/completions", content=deep_chat(levels))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("nesting_too_deep", "invalid_request_error")
    assert "128" in error["message"]


def test_json_past_the_parser_limit_is_invalid_json(http: httpx.Client) -> None:
    response = http.post("/chat/completions", content=deep_chat(1100))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


# ---- 13: embedding inputs -----------------------------------------------------------------------
def test_embeddings_take_at_most_2048_inputs(http: httpx.Client) -> None:
    assert http.post("/embeddings", json={"model": "embed", "input": ["a"] * 2048}).status_code == 200
    response = http.post("/embeddings", json={"model": "embed", "input": ["a"] * 2049})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("too_many_inputs", "input")
    assert "2049" in error["message"] and "2048" in error["message"]
    # one input given as token ids is one input, however long
    assert http.post("/embeddings", json={"model": "embed", "input": [1] * 3000}).status_code == 200


# ---- 18: slow clients ---------------------------------------------------------------------------
def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``sock`` (sending ``trickle`` every 0.2 s meanwhile)."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:
                    return time.monotonic() - started
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"the connection was still open after {seconds} s")


def test_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with connect(server) as sock:
        assert closed_within(sock, 8) >= HEADER_TIMEOUT_S * 0.9


def test_headers_sent_slowly_are_cut(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: headwater\r\n")
        # a header line every 0.2 s: bytes keep coming, the headers never end (slowloris)
        assert closed_within(sock, 8, trickle=b"X-Slow: yes\r\n") < HEADER_TIMEOUT_S + 4


def test_body_that_stalls_is_408(server: Server, key: str) -> None:
    with connect(server) as sock:
        head = (
            "POST /v1/chat/completions HTTP/1.1\r\nHost: headwater\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"model": ')  # 10 of the 100 bytes, then nothing
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        elapsed = time.monotonic() - started
    assert BODY_TIMEOUT_S * 0.9 <= elapsed < BODY_TIMEOUT_S + 5
    head_part, _, body = received.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in head_part.lower()
    error = json.loads(body)["error"]
    assert (error["code"], error["type"]) == ("request_timeout", "invalid_request_error")


def test_a_request_sent_in_pieces_within_the_bounds_is_served(server: Server, key: str) -> None:
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: headwater\r\nConnection: close\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(server) as sock:
        for piece in (head[:20], head[20:], body[:10], body[10:]):
            sock.sendall(piece)
            time.sleep(0.3)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
