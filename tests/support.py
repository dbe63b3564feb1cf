"""Test support: real `headwater serve` / `headwater sim` processes and throw-away databases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PG_ADMIN_URL = os.environ.get("HEADWATER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def output(process: subprocess.Popen[bytes]) -> str:
    """Everything a process started by :func:`headwater` has printed so far."""
    log = getattr(process, "log_path", None)
    return Path(log).read_text(errors="replace") if log else ""


def wait_http(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{output(process)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def ready_or_stopped(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 200; a process that never gets there is stopped, never left running."""
    try:
        wait_http(url, process, timeout)
    except BaseException:
        stop(process, timeout=5.0)
        raise


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> str:
    """Stop a process (gracefully first) and return what it printed."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return output(process)


# ---- databases ----------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"hw_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_BASE.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{directory / f'hw-{uuid.uuid4().hex[:8]}.db'}"


# ---- processes ----------------------------------------------------------------------------------
LOG_DIR = Path(tempfile.mkdtemp(prefix="headwater-test-logs-"))


#: Every process :func:`headwater` started: :func:`stop_all` ends those a test or fixture left running
#: (a fixture that fails after starting a server never reaches its own ``stop``).
STARTED: list[subprocess.Popen[bytes]] = []


def headwater(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a `headwater` process; its output goes to a file (a pipe could fill up and block it)."""
    log_path = LOG_DIR / f"{args[0]}-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "headwater", *args],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path  # type: ignore[attr-defined]
    STARTED[:] = [p for p in STARTED if p.poll() is None]
    STARTED.append(process)
    return process


def stop_all() -> list[int]:
    """Stop every process :func:`headwater` started that is still running; their pids."""
    left = [process for process in STARTED if process.poll() is None]
    for process in left:
        stop(process, timeout=10.0)
    STARTED.clear()
    return [process.pid for process in left]


def cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
    )


@dataclass
class Sim:
    url: str  # .../v1
    process: subprocess.Popen[bytes]


def start_sim(**options: Any) -> Sim:
    port = free_port()
    args = ["sim", "--port", str(port), "--ttft-ms", "0", "--tokens-per-second", "0"]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    process = headwater(*args)
    ready_or_stopped(f"http://127.0.0.1:{port}/health", process)
    return Sim(f"http://127.0.0.1:{port}/v1", process)


@dataclass
class Server:
    url: str
    token: str
    database_url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"})

    def cli_env(self) -> dict[str, str]:
        return {"HEADWATER_URL": self.url, "HEADWATER_TOKEN": self.token}


REDIS_URL = os.environ.get("HEADWATER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_env(prefix: str | None = None) -> dict[str, str]:
    """Settings for the shared Redis, with a key prefix of this test's own."""
    return {
        "HEADWATER_REDIS_URL": REDIS_URL,
        "HEADWATER_REDIS_PREFIX": prefix or f"hwtest:{uuid.uuid4().hex[:10]}:",
    }


def start_server(
    database_url: str,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    redis: bool | dict[str, str] = False,
) -> Server:
    token = "test-admin-" + secrets.token_hex(8)
    env = {
        "HEADWATER_DATABASE_URL": database_url,
        "HEADWATER_ADMIN_TOKEN": token,
        "HEADWATER_LOG_LEVEL": "warning",
        **((redis if isinstance(redis, dict) else redis_env()) if redis or workers > 1 else {}),
        **(extra_env or {}),
    }
    attempts = 3
    for _ in range(attempts):
        port = free_port()
        process = headwater("serve", "--port", str(port), "--workers", str(workers), env=env)
        url = f"http://127.0.0.1:{port}"
        ready_or_stopped(f"{url}/readyz", process, timeout=60)
        # Between free_port() and the bind, another test's process may have taken the port (tests run
        # on several workers): then what answered is not ours, and it does not know our token.
        # (a test that makes the server generate its own admin token cannot tell: it is not checked)
        given = env["HEADWATER_ADMIN_TOKEN"]
        mine = process.poll() is None and (
            not given or httpx.get(f"{url}/api/v1/me", headers=_bearer(given), timeout=5).status_code == 200
        )
        if mine:
            return Server(url, token, database_url, process, env)
        stop(process, timeout=10)
    raise RuntimeError(f"headwater serve could not get a port of its own in {attempts} attempts")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def doc(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    """A resource document (``apiVersion``, ``kind``, ``metadata.name``, ``spec``) as ``apply`` takes it."""
    return {"apiVersion": "headwater/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def model_doc(
    name: str, base_url: str, *, kind: str = "chat", upstream: str | None = None, **spec: Any
) -> dict[str, Any]:
    deployment = {"provider": "openai", "base_url": base_url, "upstream_model": upstream or name}
    deployment.update(spec.pop("deployment", {}))
    return {
        "apiVersion": "headwater/v1",
        "kind": "Model",
        "metadata": {"name": name},
        "spec": {
            "kind": kind,
            "pricing": {"input_per_million": "0.20", "output_per_million": "0.60", "currency": "USD"},
            "deployments": [deployment],
            **spec,
        },
    }


def apply(server: Server, *documents: dict[str, Any]) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.post("/apply", json={"documents": list(documents)})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


def create_key(server: Server, **body: Any) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.post("/keys", json={"name": "test", **body})
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created


def usage_events(server: Server, **params: Any) -> list[dict[str, Any]]:
    """Every usage event matching ``params``, oldest first (follows the cursor)."""
    items: list[dict[str, Any]] = []
    cursor = None
    with server.admin() as admin:
        while True:
            query = {"order": "asc", "limit": 1000, **params}
            if cursor:
                query["cursor"] = cursor
            page = admin.get("/usage/events", params=query).json()
            items += page["items"]
            if len(page["items"]) < 1000:
                return items
            cursor = page["next"]


def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
