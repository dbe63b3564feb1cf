"""Disconnects, graceful shutdown under load, and several workers sharing one database."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import (
    Sim,
    apply,
    create_key,
    database,
    model_doc,
    start_server,
    start_sim,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[Sim]:
    """A simulator that streams 40 tokens per second, so a stream lasts about a second."""
    started = start_sim(tokens_per_second=40)
    yield started
    stop(started.process)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


def test_client_disconnect_cancels_the_stream_and_records_partial_usage(
    tmp_path_factory: pytest.TempPathFactory, slow_sim: Sim
) -> None:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        server = start_server(url)
        try:
            apply(server, model_doc("slow-chat", slow_sim.url))
            key = create_key(server)["key"]
            body = {
                "model": "slow-chat",
                "messages": [{"role": "user", "content": "a long answer please"}],
                "stream": True,
                "max_tokens": 40,
            }
            headers = {"Authorization": f"Bearer {key}", "X-Request-Id": "disconnect-1"}
            with (
                httpx.Client(timeout=10) as client,
                client.stream(
                    "POST", f"{server.v1}/chat/completions", json=body, headers=headers
                ) as response,
            ):
                lines = response.iter_lines()
                received = [
                    line for line, _ in zip(lines, range(6), strict=False) if line.startswith("data:")
                ]
            # leaving the block closed the connection mid-stream
            assert 1 <= len(received) < 40
            event = wait_for(
                lambda: next((e for e in usage_events(server) if e["request_id"] == "disconnect-1"), None),
                timeout=5,
            )
            assert event["status"] == "cancelled"
            assert event["estimated"] is True  # the upstream never got to send its usage
            assert 0 < event["completion_tokens"] < 40
            assert event["prompt_tokens"] > 0
        finally:
            stop(server.process)


def test_graceful_shutdown_loses_no_usage_event(db_url: str, slow_sim: Sim, sim: Sim) -> None:
    """Load running, SIGTERM: every answered request has its usage row, none more, none fewer."""
    server = start_server(db_url)
    apply(server, model_doc("fast", sim.url), model_doc("streamy", slow_sim.url))
    key = create_key(server)["key"]
    answered = 0
    lock = threading.Lock()
    stop_flag = threading.Event()

    def load(stream: bool) -> None:
        nonlocal answered
        body = {
            "model": "streamy" if stream else "fast",
            "messages": [{"role": "user", "content": "hello"}],
            "stream": stream,
            "max_tokens": 12,
        }
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
            while not stop_flag.is_set():
                try:
                    if stream:
                        with client.stream("POST", f"{server.v1}/chat/completions", json=body) as response:
                            text = "".join(response.iter_text())
                            complete = response.status_code == 200 and "[DONE]" in text
                    else:
                        response = client.post(f"{server.v1}/chat/completions", json=body)
                        complete = response.status_code == 200
                except httpx.HTTPError:
                    return  # the server stopped accepting
                if complete:
                    with lock:
                        answered += 1

    threads = [threading.Thread(target=load, args=(i % 3 == 0,)) for i in range(9)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    server.process.send_signal(signal.SIGTERM)
    # uvicorn drains, runs the shutdown (our usage flush), then re-raises the signal: -15 is normal
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    stop_flag.set()
    for thread in threads:
        thread.join(timeout=30)
    stop(server.process)
    assert answered > 20

    restarted = start_server(db_url)
    try:
        events = usage_events(restarted)
    finally:
        stop(restarted.process)
    successes = [e for e in events if e["status"] == "success"]
    assert len(successes) == answered, (len(successes), answered, len(events))
    assert len(events) == answered, [e for e in events if e["status"] != "success"]


def test_two_workers_share_a_coherent_snapshot(db_url: str, sim: Sim) -> None:
    server = start_server(db_url, workers=2)
    try:
        apply(server, model_doc("shared", sim.url))
        created = create_key(server)
        headers = {"Authorization": f"Bearer {created['key']}"}
        body = {"model": "shared", "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=10, headers=headers) as client:
            # fresh connections land on either worker; all must already know the key
            def all_ok() -> bool:
                results = []
                for _ in range(10):
                    with httpx.Client(timeout=10, headers=headers) as fresh:
                        results.append(fresh.post(f"{server.v1}/chat/completions", json=body).status_code)
                return all(status == 200 for status in results)

            assert wait_for(all_ok, timeout=2)
            with server.admin() as admin:
                admin.post(f"/keys/{created['id']}/revoke").raise_for_status()
            revoked_at = time.monotonic()

            def all_refused() -> bool:
                for _ in range(10):
                    with httpx.Client(timeout=10, headers=headers) as fresh:
                        if fresh.post(f"{server.v1}/chat/completions", json=body).status_code != 401:
                            return False
                return True

            wait_for(all_refused, timeout=1.0, interval=0.02)
            assert time.monotonic() - revoked_at < 1.0
            assert client.get(f"{server.v1}/models").status_code == 401
    finally:
        stop(server.process)
