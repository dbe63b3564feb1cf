"""What every part of ``make bench`` shares: constants, the requests, and the processes it starts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LUA = BENCH / "post.lua"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

PROXY_CPU = "0"  # the proxy under test
LOAD_CPU = "1"  # nginx and wrk
THROUGHPUT_CONNECTIONS = 32
WARMUP_S = 1
ROUNDS = 2  # throughput rounds per target and mode, interleaved across targets
DEFAULT_DURATION_S = 8  # seconds of throughput load per target and mode

CHAT_MODEL = "bench-chat"
STREAM_MODEL = "bench-stream"
PROMPT = [{"role": "user", "content": "Say hello in five words."}]
REQUESTS = {
    "non-stream": orjson.dumps({"model": CHAT_MODEL, "messages": PROMPT, "max_tokens": 16}).decode(),
    "stream": orjson.dumps(
        {"model": STREAM_MODEL, "messages": PROMPT, "max_tokens": 16, "stream": True}
    ).decode(),
}
MODES = ("non-stream", "stream")
HEADWATER = "headwater"
POLICY = "headwater+policy"
OIDC = "headwater+oidc"
POLICY_REDIS = "headwater+policy+redis"

# Issue 14, the translated paths: one client API in, another wire protocol out, on the headwater
# process with an owner-less key (so the rows compare with headwater's plain chat row).
CLAUDE_MODEL = "bench-claude"  # provider: anthropic, nginx's canned Messages JSON
CLAUDE_STREAM_MODEL = "bench-claude-stream"  # provider: anthropic, nginx's canned Messages SSE
MESSAGES_OPENAI = "messages→openai"  # POST /v1/messages, an openai deployment (translated both ways)
CHAT_ANTHROPIC = "chat→anthropic"  # POST /v1/chat/completions, an anthropic deployment
RESPONSES_OPENAI = "responses→openai"  # POST /v1/responses, an openai deployment (chat upstream)
TRANSLATED = (MESSAGES_OPENAI, CHAT_ANTHROPIC, RESPONSES_OPENAI)
TARGETS = ("direct", "reference", HEADWATER, POLICY, OIDC, POLICY_REDIS, *TRANSLATED)
#: The translated targets get rounds (and a latency run) of half the length: the run stays ~3.5 min.
SHORT = frozenset(TRANSLATED)
#: Which client API each target speaks (the body wrk sends and what a check expects back).
API = {MESSAGES_OPENAI: "messages", CHAT_ANTHROPIC: "chat", RESPONSES_OPENAI: "responses"}
UPSTREAM_PATHS = {"non-stream": "/v1/chat/completions", "stream": "/stream/v1/chat/completions"}


def _bodies(model: str, stream_model: str, **fields: object) -> dict[str, str]:
    """A non-stream and a stream body: ``model`` or ``stream_model`` and ``fields``."""
    return {
        "non-stream": orjson.dumps({"model": model, **fields}).decode(),
        "stream": orjson.dumps({"model": stream_model, **fields, "stream": True}).decode(),
    }


#: The translated targets' request bodies per mode (the others send REQUESTS). Every body asks for the
#: same answer (one user message, at most 16 tokens); the Responses body leaves ``store`` out, as the
#: SDKs do, so every call is also stored (the default: HEADWATER_RESPONSE_STORE_DAYS=30).
BODIES = {
    MESSAGES_OPENAI: _bodies(CHAT_MODEL, STREAM_MODEL, messages=PROMPT, max_tokens=16),
    CHAT_ANTHROPIC: _bodies(CLAUDE_MODEL, CLAUDE_STREAM_MODEL, messages=PROMPT, max_tokens=16),
    RESPONSES_OPENAI: _bodies(CHAT_MODEL, STREAM_MODEL, input=PROMPT[0]["content"], max_output_tokens=16),
}
#: The Headwater path each client API is measured on.
API_PATHS = {"chat": "/v1/chat/completions", "messages": "/v1/messages", "responses": "/v1/responses"}


class Failed(Exception):
    """A step of the benchmark failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: str, argv: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *argv]
    return argv


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Processes:
    """Everything the benchmark starts, stopped again however the run ends.

    ``cleanups`` run once, after every process has stopped (e.g. deleting the bench's Redis keys).
    """

    directory: Path
    started: list[Started] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Started:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                start_new_session=True,
            )
        entry = Started(name, process, log)
        self.started.append(entry)
        return entry

    def stop(self, entry: Started) -> None:
        process = entry.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if entry in self.started:
            self.started.remove(entry)

    def stop_all(self) -> None:
        for entry in reversed(list(self.started)):
            self.stop(entry)
        while self.cleanups:
            cleanup = self.cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # a cleanup must not hide the run's result
                print(f"cleanup failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def log_tail(entry: Started, lines: int = 40) -> str:
    try:
        text = entry.log.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def wait_http(url: str, entry: Started, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if entry.process.poll() is not None:
            raise Failed(
                f"{entry.name} exited with code {entry.process.returncode}; its output:\n{log_tail(entry)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise Failed(
        f"{entry.name} was not ready at {url} within {timeout:.0f} s; its output:\n{log_tail(entry)}"
    )


def wait_listening(port: int, entry: Started, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if entry.process.poll() is not None:
            raise Failed(f"{entry.name} exited with code {entry.process.returncode}:\n{log_tail(entry)}")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise Failed(f"{entry.name} did not listen on {port} within {timeout:.0f} s:\n{log_tail(entry)}")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == pid:
                        found.append(int(status.parent.name))
                    break
    return found
