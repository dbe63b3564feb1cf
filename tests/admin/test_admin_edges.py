"""The admin API's edges against a real `headwater serve`: authentication before any body is read,
body size and time bounds, request ids, and the accounting metrics on /metrics.

The server runs with a 256 KiB admin body cap and a 1 s body timeout so that the bounds are cheap
to reach; what is checked does not depend on the database, so SQLite only.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support import Server, database, start_server, stop

pytestmark = pytest.mark.e2e

MAX_BODY = 256 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        env = {"HEADWATER_ADMIN_MAX_BODY_BYTES": str(MAX_BODY), "HEADWATER_BODY_TIMEOUT_S": "1"}
        started = start_server(url, extra_env=env)
        yield started
        stop(started.process)


# ---- raw HTTP, to send part of a body and see when the answer comes ------------------------------
def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def head(path: str, length: int, token: str | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: headwater", "Content-Type: application/json"]
    lines += [f"Content-Length: {length}"] + ([f"Authorization: Bearer {token}"] if token else [])
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (uvicorn may serve from a child)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total


# ---- authentication before the body --------------------------------------------------------------
def test_an_anonymous_50_mb_post_is_refused_before_its_body_is_read(server: Server) -> None:
    total = 50 * 1024 * 1024
    before = tree_rss_bytes(server.process.pid)
    with connect(server) as sock:
        sock.sendall(head("/api/v1/apply", total))
        sock.sendall(b"[" * 65536)
        status, headers, body = read_response(sock)  # while 50 MB are still to come
        assert status == 401
        assert list(orjson.loads(body)) == ["detail"]
        assert "sign in" in orjson.loads(body)["detail"]
        assert headers["www-authenticate"] == "Bearer"
        sent = 65536
        with contextlib.suppress(OSError):  # the server may close the connection meanwhile
            chunk = b" " * (1024 * 1024)
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    grown = tree_rss_bytes(server.process.pid) - before
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown} bytes"


def test_an_anonymous_post_with_invalid_json_is_401_not_422(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/keys", content=b'{"name": oops', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"detail"} and isinstance(response.json()["detail"], str)


def test_a_wrong_token_is_401_before_the_body(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/apply",
        json={"documents": "not a list"},
        headers={"Authorization": "Bearer nope"},
    )
    assert response.status_code == 401 and "loc" not in response.text


def test_the_openapi_document_and_sign_in_routes_need_no_bearer(server: Server) -> None:
    assert httpx.get(f"{server.url}/api/v1/openapi.json").status_code == 200
    login = httpx.get(f"{server.url}/auth/login")  # sign-in is not configured here: 404, not 401
    assert login.status_code == 404 and "not configured" in login.json()["detail"]


# ---- body size and time --------------------------------------------------------------------------
def test_a_declared_body_past_the_cap_is_413(server: Server) -> None:
    with server.admin() as admin:
        response = admin.post("/apply", content=b"[" + b" " * MAX_BODY + b"]")
    assert response.status_code == 413
    assert "HEADWATER_ADMIN_MAX_BODY_BYTES" in response.json()["detail"]
    assert str(MAX_BODY) in response.json()["detail"]


def test_a_chunked_body_past_the_cap_is_413(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"documents": ['
        for _ in range(100):
            yield b" " * 8192  # 800 KiB in all, no Content-Length
        yield b"]}"

    with server.admin() as admin:
        response = admin.post("/apply", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "HEADWATER_ADMIN_MAX_BODY_BYTES" in response.json()["detail"]


def test_a_body_under_the_cap_is_served(server: Server) -> None:
    with server.admin() as admin:
        response = admin.post("/apply", json={"documents": []}, headers={"X-Padding": "x"})
    assert response.status_code == 200, response.text


def test_a_stalled_body_is_408_after_the_body_timeout(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(head("/api/v1/apply", 100, server.token))
        sock.sendall(b'{"documents"')
        started = time.monotonic()
        status, _, body = read_response(sock)
        waited = time.monotonic() - started
    assert status == 408
    assert "HEADWATER_BODY_TIMEOUT_S" in orjson.loads(body)["detail"]
    assert 0.9 <= waited < 10  # the timeout is 1 s


# ---- request ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(A1)", "a b", "x" * 129, "é", "a\tb", "", ".dot-first"],
)
def test_an_insane_request_id_is_replaced_by_a_generated_one(server: Server, given: str) -> None:
    with server.admin() as admin:
        response = admin.get("/me", headers={b"X-Request-Id": given.encode()})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize("given", ["abc", "req-1.2_3:4", "A" * 128, "0"])
def test_a_sane_request_id_is_kept(server: Server, given: str) -> None:
    with server.admin() as admin:
        response = admin.get("/me", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] == given


def test_the_audit_trail_stores_the_replaced_request_id(server: Server) -> None:
    with server.admin() as admin:
        created = admin.post("/groups", json={"name": "rid-team"}, headers={"X-Request-Id": "=HYPERLINK(1)"})
        assert created.status_code == 201, created.text
        events = admin.get("/audit/events", params={"target": "rid-team"}).json()["items"]
    assert [event["request_id"] for event in events] == [created.headers["x-request-id"]]
    assert not events[0]["request_id"].startswith("=")


# ---- metrics -------------------------------------------------------------------------------------
def test_metrics_report_dead_letters_and_unaudited_sign_in_failures(server: Server) -> None:
    text = httpx.get(f"{server.url}/metrics").text
    for name in (
        "headwater_usage_dead_letters_total",
        "headwater_limit_events_dead_letters_total",
        "headwater_signin_failures_unaudited_total",
    ):
        assert re.search(rf"^{name} 0\.0$", text, re.MULTILINE), name
