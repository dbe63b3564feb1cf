"""/metrics with `headwater serve --workers 2`: whichever worker answers a scrape, it reports the calls
of both; a worker that dies leaves its counts in and its live gauges out; the metrics directory is
private and goes with the server."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support import Server, Sim, apply, create_key, database, model_doc, start_server, stop, wait_for
from tests.usage.scrape import scrape

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

BODY = {"model": "w-chat", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def server(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        started = start_server(url, workers=2)
        try:
            apply(started, model_doc("w-chat", sim.url))
            yield started
        finally:
            stop(started.process)


def workers(supervisor: int) -> list[int]:
    """The uvicorn workers of a serving process (not the multiprocessing resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == supervisor and fields[0] != "Z" and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def metrics_dir(worker: int) -> Path:
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    value = next(item for item in environ if item.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    return Path(value.split(b"=", 1)[1].decode())


def requests_of(directory: Path, pid: int) -> float:
    """The calls one worker counted: its own counter file, read alone."""
    with tempfile.TemporaryDirectory() as alone:
        source = directory / f"counter_{pid}.db"
        if not source.exists():
            return 0.0
        shutil.copy(source, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, alone)  # type: ignore[no-untyped-call]
        return sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "headwater_requests_total"
        )


def call(server: Server, key: str) -> int:
    """One call on a new connection (any worker may take it); its status."""
    with httpx.Client(timeout=20) as client:
        response = client.post(
            f"{server.v1}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {key}"}
        )
    return response.status_code


def total(server: Server) -> float:
    return scrape(server.url).value("headwater_requests_total", model="w-chat")


def settle(server: Server, expected: float) -> None:
    wait_for(lambda: total(server) == expected, timeout=10)


def test_every_scrape_counts_the_calls_of_every_worker(server: Server) -> None:
    key = create_key(server)["key"]
    pids = wait_for(lambda: len(found := workers(server.process.pid)) == 2 and found, timeout=30)
    directory = metrics_dir(pids[0])
    assert metrics_dir(pids[1]) == directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    made = attempts = 0
    # until both workers have served calls (each new connection goes to whichever accepts it first)
    while made < 20 or min(requests_of(directory, pid) for pid in pids) == 0:
        attempts += 1
        assert attempts < 400, "one worker took every connection"
        if call(server, key) != 200:  # a worker may not know the model yet: 404, not counted
            continue
        made += 1
        if made % 10 == 0:  # both workers have folded their calls
            settle(server, made)

    settle(server, made)
    assert [total(server) for _ in range(12)] == [made] * 12
    assert sum(requests_of(directory, pid) for pid in pids) == made


def test_a_dead_workers_counts_stay_and_its_gauges_go(server: Server) -> None:
    key = create_key(server)["key"]
    start = total(server)  # what the test before left, settled
    made = sum(call(server, key) == 200 for _ in range(10))
    before = start + made
    settle(server, before)
    pids = workers(server.process.pid)
    directory = metrics_dir(pids[0])
    victim = max(pids, key=lambda pid: requests_of(directory, pid))
    assert requests_of(directory, victim) > 0
    assert list(directory.glob(f"gauge_live*_{victim}.db"))

    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(
        lambda: len(found := workers(server.process.pid)) == 2 and victim not in found and found, timeout=30
    )
    wait_for(lambda: not list(directory.glob(f"gauge_live*_{victim}.db")), timeout=10)
    assert (directory / f"counter_{victim}.db").exists()
    wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200, timeout=30)
    assert [total(server) for _ in range(6)] == [before] * 6  # the dead worker's calls still count
    assert scrape(server.url).value("headwater_requests_in_flight") == 0
    assert all(metrics_dir(pid) == directory for pid in replaced)


def test_the_metrics_directory_goes_with_the_server(sim: Sim, tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        started = start_server(url, workers=2)
        try:
            pids = wait_for(lambda: len(found := workers(started.process.pid)) == 2 and found, timeout=30)
            directory = metrics_dir(pids[0])
            assert directory.is_dir()
        finally:
            stop(started.process)
    assert started.process.returncode == 0
    assert not directory.exists()
