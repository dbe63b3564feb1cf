"""The serving processes (issue 9, items 17 and 19): workers die with the serving process, and a
stream cut by shutdown ends with a terminal error event."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.hostile import Hostile, hostile_upstream
from tests.support import apply, create_key, database, model_doc, start_server, stop, wait_for

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc: parent ids)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # zombies are dead, waiting for a reaper
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.redis
def test_workers_exit_when_the_serving_process_is_killed(tmp_path_factory: pytest.TempPathFactory) -> None:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        server = start_server(url, workers=2)
        workers: set[int] = set()
        try:
            port = int(server.url.rsplit(":", 1)[1])
            workers |= wait_for(
                lambda: (found := descendants(server.process.pid)) and len(found) >= 2 and found
            )
            assert answers(port)
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            wait_for(lambda: not any(alive(pid) for pid in workers), timeout=15)
            assert not answers(port)
        finally:
            stop(server.process)
            for pid in workers:  # never leave one behind, even on failure
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def upstream() -> Iterator[Hostile]:
    with hostile_upstream() as started:
        yield started


def test_stream_cut_by_shutdown_ends_with_an_error_event(
    tmp_path_factory: pytest.TempPathFactory, upstream: Hostile
) -> None:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        server = start_server(url, extra_env={"HEADWATER_GRACEFUL_SHUTDOWN_S": "1"})
        try:
            apply(server, model_doc("drip", upstream.url, upstream="sse-drip"))
            key = create_key(server)["key"]
            body = {"model": "drip", "messages": [{"role": "user", "content": "hi"}], "stream": True}
            lines: list[str] = []
            with (
                httpx.Client(timeout=20) as client,
                client.stream(
                    "POST",
                    f"{server.v1}/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {key}"},
                ) as response,
            ):
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        lines.append(line)
                        if len(lines) == 2:  # the stream is flowing: stop the server under it
                            threading.Thread(
                                target=server.process.send_signal, args=(signal.SIGTERM,)
                            ).start()
            assert len(lines) > 2
            assert '"server_shutting_down"' in lines[-1]
            assert server.process.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        finally:
            stop(server.process)
