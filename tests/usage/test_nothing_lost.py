"""Nothing lost: every answered call has its usage row, whatever happens to the server or the database.

Real ``headwater serve`` processes on PostgreSQL, the simulator upstream, many concurrent clients
counting the answers they received; then ``SELECT count(*)`` of the usage rows and the sum of the
hourly rollups. The database is cut off with a TCP proxy of this test's own between the server and
PostgreSQL (the shared PostgreSQL server itself is never stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    free_port,
    headwater,
    model_doc,
    postgres_database,
    ready_or_stopped,
    start_server,
    stop,
    wait_for,
)

pytestmark = pytest.mark.e2e


# ---- the database, seen and cut off --------------------------------------------------------------
def counts(url: str) -> tuple[int, int]:
    """Usage rows, and requests summed over the hourly rollups."""

    async def query() -> tuple[int, int]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetchval("SELECT count(*) FROM usage_events")
            requests = await conn.fetchval("SELECT coalesce(sum(requests), 0) FROM usage_hourly")
        finally:
            await conn.close()
        return int(rows), int(requests)

    return asyncio.run(query())


def settled_counts(url: str, quiet_s: float = 1.0, timeout_s: float = 30.0) -> tuple[int, int]:
    """The counts once they have stopped moving for ``quiet_s`` (a replay has finished)."""
    deadline = time.monotonic() + timeout_s
    last = counts(url)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = counts(url)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the usage counts were still moving after {timeout_s:g} s: {last}")


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to PostgreSQL; :meth:`cut` closes every connection and refuses
    new ones until :meth:`restore`."""

    def __init__(self, target_port: int = 5432) -> None:
        self.port = free_port()
        self._target = target_port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    def restore(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _forward(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            client_out.transport.abort()
            return
        self._writers |= {client_out, server_out}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(client_in, server_out), pipe(server_in, client_out))
        self._writers -= {client_out, server_out}


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    started = TcpProxy()
    started.restore()
    yield started
    started.close()


# ---- load ---------------------------------------------------------------------------------------
class Load:
    """Clients calling the gateway without pause, counting the calls answered in full."""

    def __init__(self, server: Server, key: str, threads: int = 12) -> None:
        self.answered = 0
        self.clients = threads
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(server.v1, key, i % 3 == 0)) for i in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, v1: str, key: str, stream: bool) -> None:
        body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
            while not self._stop.is_set():
                try:
                    if stream:
                        with client.stream("POST", f"{v1}/chat/completions", json=body) as response:
                            text = "".join(response.iter_text())
                            complete = response.status_code == 200 and "[DONE]" in text
                    else:
                        response = client.post(f"{v1}/chat/completions", json=body)
                        complete = response.status_code == 200
                except httpx.HTTPError:
                    return  # the server is gone
                if complete:
                    with self._lock:
                        self.answered += 1


def journal_env(directory: Path, **settings: str) -> dict[str, str]:
    env = {"HEADWATER_USAGE_JOURNAL_DIR": str(directory)}
    env.update({f"HEADWATER_{name.upper()}": value for name, value in settings.items()})
    return env


def leftover_segments(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.jnl"))


def scrape(server: Server, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name} ") or line.startswith(f"{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


# ---- the tests ----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_sigkill_under_load_loses_no_answered_call(sim: Sim, tmp_path: Path) -> None:
    # One flush a second, never by size: when the process is killed, its buffer holds events.
    env = journal_env(tmp_path / "journal", usage_flush_interval_s="1.0", usage_batch_size="1000000")
    with postgres_database() as url:
        server = start_server(url, extra_env=env)
        try:
            apply(server, model_doc("fast", sim.url))
            key = create_key(server)["key"]
            with Load(server, key) as load:
                # Kill half-way between two flushes: wait for one, then half the interval.
                first = wait_for(lambda: counts(url)[0], timeout=10, interval=0.02)
                wait_for(lambda: counts(url)[0] > first, timeout=10, interval=0.02)
                time.sleep(0.5)
                os.kill(server.process.pid, signal.SIGKILL)
                server.process.wait(10)
        finally:
            stop(server.process)
        answered = load.answered
        assert answered > 100
        assert counts(url)[0] < answered  # the buffer did hold answered calls' events

        restarted = start_server(url, extra_env=env)
        try:
            wait_for(lambda: counts(url)[0] >= answered, timeout=20, interval=0.1)
            rows, requests = settled_counts(url)
            # Every answered call is stored, once. A call is journaled as it ends, just before its
            # last bytes go out, so a call the kill cut in that instant is stored too (its upstream
            # tokens were spent) though its client saw no full answer: at most one per client.
            assert answered <= rows <= answered + load.clients
            assert requests == rows
        finally:
            stop(restarted.process)
        assert leftover_segments(tmp_path / "journal") == []


@pytest.mark.postgres
@pytest.mark.parametrize("buffer_limit", ["200000", "1000"], ids=["in-memory", "buffer-overflows"])
def test_database_cut_off_under_load_loses_no_answered_call(
    sim: Sim, tmp_path: Path, proxy: TcpProxy, buffer_limit: str
) -> None:
    env = journal_env(tmp_path / "journal", usage_buffer_limit=buffer_limit)
    with postgres_database() as url:
        server = start_server(url.replace(":5432/", f":{proxy.port}/"), extra_env=env)
        try:
            apply(server, model_doc("fast", sim.url))
            key = create_key(server)["key"]
            with Load(server, key) as load:
                time.sleep(1.0)
                proxy.cut()
                before = load.answered
                # Down long enough that the in-memory buffer alone could not have kept the events.
                wait_for(lambda: load.answered - before > 1500, timeout=20, interval=0.05)
                assert "the database is unreachable" in httpx.get(f"{server.url}/readyz").json()["problems"]
                assert scrape(server, "headwater_usage_journal_bytes") > 0
                proxy.restore()
                time.sleep(1.0)
            answered = load.answered
            wait_for(lambda: counts(url)[0] >= answered, timeout=25, interval=0.2)
            assert counts(url) == (answered, answered)
            assert httpx.get(f"{server.url}/readyz").status_code == 200
        finally:
            log = stop(server.process)
        assert "events dropped" not in log
        assert leftover_segments(tmp_path / "journal") == []


def test_an_unwritable_journal_is_reported_on_readyz_and_the_gateway_keeps_serving(
    sim: Sim, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    port = free_port()
    token = "test-admin-journal"
    env = {
        "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}",
        "HEADWATER_ADMIN_TOKEN": token,
        "HEADWATER_LOG_LEVEL": "warning",
        **journal_env(blocker / "journal"),
    }
    process = headwater("serve", "--port", str(port), env=env)
    server = Server(f"http://127.0.0.1:{port}", token, env["HEADWATER_DATABASE_URL"], process, env)
    try:
        ready_or_stopped(f"{server.url}/healthz", process)
        readyz = httpx.get(f"{server.url}/readyz")
        assert readyz.status_code == 503
        (problem,) = readyz.json()["problems"]
        assert problem.startswith(f"usage journal: cannot write to {blocker / 'journal'}")
        apply(server, model_doc("fast", sim.url))
        key = create_key(server)["key"]
        body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {key}"}
        reply = httpx.post(f"{server.v1}/chat/completions", json=body, headers=headers, timeout=10)
        assert reply.status_code == 200
        with server.admin() as admin:
            wait_for(lambda: admin.get("/usage/events").json()["items"], timeout=10)
        blocker.unlink()  # the directory can be made now: the journal is tried again
        wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200, timeout=10)
    finally:
        log = stop(process)
    assert log.count("cannot be written") == 1
