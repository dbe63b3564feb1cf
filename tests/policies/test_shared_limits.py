"""Limits across processes: two replicas on PostgreSQL + Redis, and Redis failing mid-test."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import (
    Sim,
    apply,
    cli,
    create_key,
    database,
    free_port,
    model_doc,
    redis_env,
    start_server,
    stop,
    wait_for,
)

pytestmark = pytest.mark.e2e
LIMIT = 37


def tier(requests: int) -> dict[str, object]:
    return {
        "apiVersion": "headwater/v1",
        "kind": "Policy",
        "metadata": {"name": "exact"},
        "spec": {"assets": {"models": "all"}, "targets": {"users": ["ann"]}, "limits": [
            {"requests": requests, "window": "1h", "scope": "user"}]},
    }  # fmt: skip


def ann() -> dict[str, object]:
    return {"apiVersion": "headwater/v1", "kind": "User", "metadata": {"name": "ann"}, "spec": {}}


async def _fire(urls: list[str], key: str, count: int) -> list[int]:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(
        timeout=60, limits=limits, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        responses = await asyncio.gather(
            *(client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=body) for i in range(count))
        )
    return [r.status_code for r in responses]


@pytest.mark.postgres
@pytest.mark.redis
def test_two_replicas_admit_exactly_the_limit(tmp_path: Path, sim: Sim) -> None:
    shared = redis_env()
    with database("postgres", tmp_path) as url:
        first = start_server(url, redis=shared)
        second = start_server(url, redis=shared)
        try:
            apply(first, ann(), model_doc("m", sim.url), tier(LIMIT))
            key = create_key(first, owner="user:ann")["key"]
            headers = {"Authorization": f"Bearer {key}"}
            wait_for(lambda: httpx.get(f"{second.v1}/models", headers=headers).status_code == 200, timeout=2)
            statuses = asyncio.run(_fire([first.url, second.url], key, 200))
        finally:
            stop(first.process)
            stop(second.process)
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == 200 - LIMIT


def test_several_workers_need_redis(tmp_path: Path) -> None:
    env = {"HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "HEADWATER_REDIS_URL": ""}
    result = cli("serve", "--workers", "2", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    assert "HEADWATER_REDIS_URL" in result.stderr and "Traceback" not in result.stderr


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


class OwnRedis:
    """A throw-away redis-server of this test's own (the shared one is never stopped)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["closed", "open"])
def test_redis_stopped_mid_test(mode: str, tmp_path: Path, sim: Sim, own_redis: OwnRedis) -> None:
    env = {"HEADWATER_REDIS_URL": f"redis://127.0.0.1:{own_redis.port}/0", "HEADWATER_LIMITS_FAIL": mode}
    with database("sqlite", tmp_path) as url:
        server = start_server(url, extra_env=env)
        try:
            apply(server, ann(), model_doc("m", sim.url), tier(1000))
            key = create_key(server, owner="user:ann")["key"]
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            with httpx.Client(
                base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=10
            ) as client:
                assert client.post("/chat/completions", json=body).status_code == 200
                own_redis.kill()
                during = client.post("/chat/completions", json=body)
                assert client.get("/models").status_code == 200  # never limited, never needs Redis
                if mode == "closed":
                    assert during.status_code == 503
                    assert during.json()["error"]["code"] == "limits_unavailable"
                    assert during.headers["retry-after"] == "1"
                else:
                    assert during.status_code == 200
                    assert metric(server.url, "headwater_limits_degraded") == 1
                    assert metric(server.url, "headwater_limits_degraded_calls_total") >= 1
                own_redis.start()
                wait_for(lambda: client.post("/chat/completions", json=body).status_code == 200, timeout=5)
                # recovery: the primary is probed again within the retry interval (1 s)
                wait_for(
                    lambda: (
                        client.post("/chat/completions", json=body).status_code == 200
                        and metric(server.url, "headwater_limits_degraded") == 0
                    ),
                    timeout=5,
                )
                recovered = client.post("/chat/completions", json=body)
                assert recovered.status_code == 200 and "x-ratelimit-remaining-requests" in recovered.headers
        finally:
            logged = stop(server.process)
    if mode == "open":
        assert logged.count("ERROR") >= 1  # entering the degraded state is logged …
        assert logged.count("unreachable") <= 2  # … once, not per request
