"""``make bench``: nginx + wrk, direct vs a reference Python proxy vs Headwater, in one run.

Targets, each measured non-streaming and streaming:

* direct     wrk straight at nginx, which serves static OpenAI-shaped responses (the upstream);
* reference  bench/refproxy.py, a bare ASGI + aiohttp relay: the ceiling for a Python proxy;
* headwater  ``headwater serve`` (1 worker, SQLite), key auth and usage accounting on.

Per target and mode: a 2 s warm-up, throughput (``wrk -t1 -c32``), then latency
(``wrk -t1 -c1 --latency``). The proxy under test runs on CPU 0, nginx and wrk on CPU 1.
Prints a Markdown table and writes it to bench/results/latest.md.

``--profile`` instead runs Headwater under ``py-spy record`` while wrk drives non-streaming load
and writes the samples plus a summary of the hottest frames to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

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
WARMUP_S = 2
ROUNDS = 2  # throughput rounds per target and mode, interleaved across targets

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
TARGETS = ("direct", "reference", "headwater")
UPSTREAM_PATHS = {"non-stream": "/v1/chat/completions", "stream": "/stream/v1/chat/completions"}
TOKENS = ["Hello", "!", " Nice", " to", " meet", " you", " today", ".", " Hi", "!"]


# ---------------------------------------------------------------- the upstream's responses


def chat_completion_body(created: int) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-bench0000000000000000000001",
            "object": "chat.completion",
            "created": created,
            "model": CHAT_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello there, nice to meet you!"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 14, "completion_tokens": 8, "total_tokens": 22},
        }
    )


def stream_body(created: int) -> bytes:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        data = {
            "id": "chatcmpl-bench0000000000000000000002",
            "object": "chat.completion.chunk",
            "created": created,
            "model": STREAM_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": choices,
            **extra,
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

    events = [chunk(delta({"role": "assistant", "content": TOKENS[0]}))]
    events += [chunk(delta({"content": token})) for token in TOKENS[1:]]
    events.append(chunk(delta({}, "stop")))
    usage = {"prompt_tokens": 14, "completion_tokens": len(TOKENS), "total_tokens": 14 + len(TOKENS)}
    events.append(chunk([], usage=usage))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def nginx_string(body: bytes) -> str:
    """A body as the inside of a single-quoted nginx string (nginx turns \\n back into newlines)."""
    text = body.decode()
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def render_nginx_conf(directory: Path, port: int) -> Path:
    created = int(time.time())
    values = {
        "@USER_LINE@": "user root;" if os.geteuid() == 0 else "",  # workers must reach the 0700 temp dir
        "@DIR@": str(directory),
        "@PORT@": str(port),
        "@CHAT_BODY@": nginx_string(chat_completion_body(created)),
        "@STREAM_BODY@": nginx_string(stream_body(created)),
    }
    text = (BENCH / "nginx.conf.template").read_text()
    for name, value in values.items():
        text = text.replace(name, value)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: str, argv: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *argv]
    return argv


class Failed(Exception):
    """A step of the benchmark failed; the message says which and why."""


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Processes:
    """Everything the benchmark starts, stopped again however the run ends."""

    directory: Path
    started: list[Started] = field(default_factory=list)

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


# ---------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    requests: int = 0
    requests_per_s: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    non_2xx: int = 0
    socket_errors: int = 0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$")


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult()
    if match := re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE):
        result.requests_per_s = float(match.group(1))
    if match := re.search(r"^\s*(\d+) requests in", output, re.MULTILINE):
        result.requests = int(match.group(1))
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        result.socket_errors = sum(int(n) for n in match.groups())
    in_distribution = False
    for line in output.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        if in_distribution:
            match = PERCENTILE.match(line)
            if match is None:
                break
            value = float(match.group(2)) * UNITS_MS[match.group(3)]
            if match.group(1) == "50":
                result.p50_ms = value
            elif match.group(1) == "99":
                result.p99_ms = value
    return result


def wrk(url: str, body: str, key: str | None, connections: int, seconds: int, latency: bool) -> WrkResult:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA)]
    if latency:
        argv.append("--latency")
    env = {**os.environ, "BENCH_BODY": body, "BENCH_KEY": key or ""}
    done = subprocess.run(
        pinned(LOAD_CPU, [*argv, url]), env=env, capture_output=True, text=True, timeout=seconds + 30
    )
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise Failed(f"wrk failed (code {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    base: str
    key: str | None = None
    pid: int | None = None  # whose RSS is reported
    paths: dict[str, str] = field(default_factory=lambda: dict(UPSTREAM_PATHS))

    def url(self, mode: str) -> str:
        return self.base + self.paths[mode]


def check(target: Target, mode: str, attempts: int = 1) -> None:
    """One request by hand: the right status and a plausible body, or Failed."""
    headers = {"Content-Type": "application/json"}
    if target.key:
        headers["Authorization"] = f"Bearer {target.key}"
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.25)
        try:
            response = httpx.post(target.url(mode), content=REQUESTS[mode], headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        text = response.text
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}: {text[:500]}"
        elif mode == "stream" and not text.rstrip().endswith("data: [DONE]"):
            problem = f"the stream did not end with data: [DONE]: {text[-300:]!r}"
        elif mode == "non-stream" and not orjson.loads(text).get("choices"):
            problem = f"no choices in the response: {text[:300]}"
        else:
            return
    raise Failed(f"{target.name} {mode}: {problem}")


@dataclass
class Row:
    mode: str
    target: str
    throughput: WrkResult | None = None
    latency: WrkResult | None = None
    rss: float | None = None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # req/s of each throughput round

    @property
    def errors(self) -> int:
        return sum(r.errors for r in (self.throughput, self.latency) if r is not None)


def round_seconds(seconds: int) -> int:
    """wrk takes whole seconds."""
    return max(1, seconds // ROUNDS)


def latency_seconds(seconds: int) -> int:
    return max(1, seconds // 2)


def combine(results: list[WrkResult]) -> WrkResult:
    """Rounds of equal length as one: the mean rate and the summed counts."""
    return WrkResult(
        requests=sum(r.requests for r in results),
        requests_per_s=sum(r.requests_per_s for r in results) / len(results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


def measure(live: dict[str, Target], mode: str, seconds: int, failures: list[str]) -> list[Row]:
    """Warm up every live target, then throughput in interleaved rounds, then latency.

    Rounds alternate the order (A B C, C B A, ...) so that slow drift in the machine's speed, and
    other work on it, weighs on every target alike.
    """
    body = REQUESTS[mode]
    rows = {name: Row(mode, name) for name in live}
    throughput: dict[str, list[WrkResult]] = {name: [] for name in live}

    def load(name: str, connections: int, length: int, latency: bool) -> WrkResult | None:
        target = live.get(name)
        if target is None:
            return None
        try:
            return wrk(target.url(mode), body, target.key, connections, length, latency)
        except Failed as exc:
            print(f"\n!!! {name} {mode}: {exc}\n", file=sys.stderr, flush=True)
            failures.append(f"{name} {mode}: {str(exc).splitlines()[0]}")
            rows[name].note = "FAILED"
            del live[name]
            return None

    order = list(live)
    print(f"  {mode}: warm-up {WARMUP_S} s each: {', '.join(order)}", flush=True)
    for name in order:
        warm = load(name, THROUGHPUT_CONNECTIONS, WARMUP_S, latency=False)
        if warm is not None and warm.errors:
            rows[name].note = f"{warm.errors} errors in the warm-up"
    length = round_seconds(seconds)
    for number in range(ROUNDS):
        sequence = order if number % 2 == 0 else order[::-1]
        print(f"  {mode}: throughput round {number + 1}/{ROUNDS}, {length:g} s each, -c32", flush=True)
        for name in sequence:
            result = load(name, THROUGHPUT_CONNECTIONS, length, latency=False)
            if result is not None:
                throughput[name].append(result)
                rows[name].rounds.append(result.requests_per_s)
    print(f"  {mode}: latency, {latency_seconds(seconds)} s each, -c1", flush=True)
    for name in order:
        rows[name].latency = load(name, 1, latency_seconds(seconds), latency=True)
        if throughput[name] and rows[name].note != "FAILED":
            rows[name].throughput = combine(throughput[name])
    return list(rows.values())


def start_nginx(procs: Processes) -> tuple[Started, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (procs.directory / sub).mkdir(exist_ok=True)
    conf = render_nginx_conf(procs.directory, port)
    entry = procs.start(
        "nginx",
        pinned(LOAD_CPU, [nginx, "-p", str(procs.directory), "-c", str(conf), "-e", "stderr"]),
    )
    wait_http(f"http://{HOST}:{port}/health", entry, timeout=15)
    return entry, port


def start_reference(procs: Processes, upstream: str) -> tuple[Started, Target]:
    port = free_port()
    argv = [sys.executable, str(BENCH / "refproxy.py"), "--port", str(port), "--upstream", upstream]
    entry = procs.start("refproxy", pinned(PROXY_CPU, argv))
    base = f"http://{HOST}:{port}"
    _wait_listening(port, entry)
    return entry, Target("reference", base, pid=entry.process.pid)


def _wait_listening(port: int, entry: Started, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if entry.process.poll() is not None:
            raise Failed(f"{entry.name} exited with code {entry.process.returncode}:\n{log_tail(entry)}")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise Failed(f"{entry.name} did not listen on {port} within {timeout:.0f} s:\n{log_tail(entry)}")


MODELS_YAML = """\
apiVersion: headwater/v1
kind: Model
metadata: {{name: {chat}}}
spec:
  kind: chat
  pricing: {{input_per_million: "0.20", output_per_million: "0.60", currency: USD}}
  deployments:
    - {{provider: openai, base_url: "{upstream}/v1", upstream_model: {chat}}}
---
apiVersion: headwater/v1
kind: Model
metadata: {{name: {stream}}}
spec:
  kind: chat
  deployments:
    - {{provider: openai, base_url: "{upstream}/stream/v1", upstream_model: {stream}}}
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's HEADWATER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(extra)
    return env


def start_headwater(procs: Processes, upstream: str) -> tuple[Started, Target, dict[str, str]]:
    port = free_port()
    token = "hwadm_" + secrets.token_urlsafe(32)
    env = clean_env(
        HEADWATER_DATABASE_URL=f"sqlite+aiosqlite:///{procs.directory / 'bench.db'}",
        HEADWATER_DATA_DIR=str(procs.directory / "data"),
        HEADWATER_ADMIN_TOKEN=token,
        HEADWATER_LOG_LEVEL="warning",
    )
    headwater = str(VENV_BIN / "headwater")
    entry = procs.start(
        "headwater", pinned(PROXY_CPU, [headwater, "serve", "--host", HOST, "--port", str(port)]), env
    )
    base = f"http://{HOST}:{port}"
    wait_http(f"{base}/readyz", entry, timeout=60)

    cli_env = clean_env(HEADWATER_URL=base, HEADWATER_TOKEN=token)
    models = procs.directory / "models.yaml"
    models.write_text(MODELS_YAML.format(chat=CHAT_MODEL, stream=STREAM_MODEL, upstream=upstream))
    for argv in (
        [headwater, "apply", "-f", str(models)],
        [headwater, "keys", "create", "--name", "bench", "--json"],
    ):
        done = subprocess.run(argv, env=cli_env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise Failed(
                f"`{' '.join(argv[1:3])}` failed (code {done.returncode}):\n{done.stdout}{done.stderr}"
            )
    key = orjson.loads(done.stdout)["key"]
    target = Target("headwater", base, key=key, pid=entry.process.pid)
    target.paths = {"non-stream": "/v1/chat/completions", "stream": "/v1/chat/completions"}
    for mode in MODES:  # the new models and key reach the gateway within a snapshot poll
        check(target, mode, attempts=40)
    return entry, target, cli_env


def usage_events(base: str, token: str) -> int | None:
    """The id of the newest usage event (ids count up from 1): how many calls were accounted."""
    try:
        response = httpx.get(
            f"{base}/api/v1/usage/events",
            params={"limit": 1, "order": "desc"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        items = response.json()["items"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return int(items[0]["id"]) if items else 0


# ---------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    def find(mode: str, target: str) -> Row | None:
        return next((r for r in rows if r.mode == mode and r.target == target), None)

    lines = [
        "| mode | target | req/s (32 conn) | % of reference | p50 ms (1 conn) | p99 ms | added p50 ms "
        "| RSS MiB | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        reference, direct = find(row.mode, "reference"), find(row.mode, "direct")
        rps = row.throughput.requests_per_s if row.throughput else None
        p50 = row.latency.p50_ms if row.latency else None
        share = added = None
        if rps is not None and reference and reference.throughput and reference.throughput.requests_per_s:
            share = 100 * rps / reference.throughput.requests_per_s
        base = direct.latency.p50_ms if direct and direct.latency and row.target != "direct" else None
        if p50 is not None and base is not None:
            added = p50 - base
        errors = str(row.errors) if row.throughput else "–"
        if row.note:
            errors += f" ({row.note})"
        lines.append(
            f"| {row.mode} | {row.target} | {fmt(rps, 0)} | {fmt(share, 0)}{'%' if share else ''} "
            f"| {fmt(p50, 3)} | {fmt(row.latency.p99_ms if row.latency else None, 3)} "
            f"| {fmt(added, 3)} | {fmt(row.rss, 1)} | {errors} |"
        )
    return "\n".join(lines)


def verdict(rows: list[Row]) -> str | None:
    def rps(target: str) -> float | None:
        row = next((r for r in rows if r.mode == "non-stream" and r.target == target), None)
        return row.throughput.requests_per_s if row and row.throughput else None

    headwater, reference = rps("headwater"), rps("reference")
    if headwater is None or not reference:
        return None
    share = 100 * headwater / reference
    met = "MEETS" if share >= 50 else "DOES NOT MEET"
    return (
        f"Verdict: Headwater non-stream {headwater:,.0f} req/s = {share:.0f}% of the reference proxy "
        f"({reference:,.0f} req/s): {met} the >= 50% target."
    )


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


LOADAVG = loadavg()


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} CPUs)"


def tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "?"


def environment_lines(seconds: int) -> list[str]:
    pinning = (
        f"proxy under test on CPU {PROXY_CPU}, nginx and wrk on CPU {LOAD_CPU} (taskset)"
        if pinned("0", []) == ["taskset", "-c", "0"]
        else "none (no taskset or a single CPU)"
    )
    return [
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"- Commit: {git_commit()}",
        f"- CPU: {cpu_model()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- nginx: {tool_version(['nginx', '-v']).removeprefix('nginx version: ')}; "
        f"wrk: {' '.join(tool_version(['wrk', '--version']).split()[:2])}",
        f"- Load average before the run (other work on this machine adds noise): {LOADAVG}",
        f"- Load: req/s from `wrk -t1 -c{THROUGHPUT_CONNECTIONS}`, {ROUNDS} rounds of "
        f"{round_seconds(seconds)} s per target, interleaved across targets; p50/p99 from "
        f"`wrk -t1 -c1 -d{latency_seconds(seconds)}s --latency`; every target warmed up for {WARMUP_S} s",
        f"- Pinning: {pinning}",
    ]


# ---------------------------------------------------------------- main flows


def benchmark(procs: Processes, targets: list[str], seconds: int) -> int:
    rows: list[Row] = []
    failures: list[str] = []
    notes: list[str] = []
    nginx, nginx_port = start_nginx(procs)
    upstream = f"http://{HOST}:{nginx_port}"
    workers = children(nginx.process.pid)
    print(f"nginx upstream on {upstream} (temp dir {procs.directory})", flush=True)

    live: dict[str, Target] = {}
    admin_token = ""
    for name in targets:
        try:
            if name == "direct":
                target = Target("direct", upstream, pid=workers[0] if workers else nginx.process.pid)
            elif name == "reference":
                _, target = start_reference(procs, upstream)
            else:
                _, target, cli_env = start_headwater(procs, upstream)
                admin_token = cli_env["HEADWATER_TOKEN"]
            for mode in MODES:
                check(target, mode)
            live[name] = target
            print(f"{name} ready on {target.base}", flush=True)
        except Failed as exc:
            print(f"\n!!! {name}: {exc}\n", file=sys.stderr, flush=True)
            failures.append(f"{name}: {str(exc).splitlines()[0]}")
            rows += [Row(mode, name, note="FAILED") for mode in MODES]

    for mode in MODES:
        if live:
            rows += measure(live, mode, seconds, failures)
        rows += [
            Row(mode, name, note="FAILED")
            for name in targets
            if not any(r.mode == mode and r.target == name for r in rows)
        ]
    for name, target in live.items():
        rss = rss_mib(target.pid) if target.pid else None
        for row in rows:
            if row.target == name:
                row.rss = rss
    if "headwater" in live:
        time.sleep(1.5)  # one usage flush interval and then some
        sent = sum(
            r.requests
            for row in rows
            if row.target == "headwater"
            for r in (row.throughput, row.latency)
            if r is not None
        )
        recorded = usage_events(live["headwater"].base, admin_token)
        notes.append(
            f"- Headwater usage events recorded: {recorded if recorded is not None else '?'} "
            f"(measured requests {sent:,}, plus warm-ups and checks)"
        )
    errors = sum(row.errors for row in rows if row.target == "headwater")
    if errors:
        failures.append(f"Headwater answered {errors} requests with an error or not at all")
    procs.stop_all()
    for row in rows:
        if len(row.rounds) > 1:
            rounds = ", ".join(f"{r:,.0f}" for r in row.rounds)
            notes.append(f"- Throughput rounds, {row.mode} {row.target}: {rounds} req/s")

    rows.sort(key=lambda r: (MODES.index(r.mode), TARGETS.index(r.target)))
    report = table(rows)
    summary = verdict(rows)
    print()
    print(report)
    print()
    if summary:
        print(summary)
    for failure in failures:
        warning = f"!!! BENCHMARK FAILED: {failure} !!!"
        print("\n" + "!" * len(warning) + "\n" + warning + "\n" + "!" * len(warning), file=sys.stderr)

    RESULTS.mkdir(exist_ok=True)
    text = ["# Headwater benchmark: latest run", "", *environment_lines(seconds), *notes, "", report, ""]
    if summary:
        text += [summary, ""]
    text += [f"**FAILED:** {failure}\n" for failure in failures]
    (RESULTS / "latest.md").write_text("\n".join(text))
    print(f"\nwritten to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    headwater_failed = any(f.startswith(("Headwater", "headwater")) for f in failures)
    return 1 if headwater_failed else 0


SUBSYSTEMS = {
    "upstream call, aiohttp client (ClientSession._request)": "ClientSession._request (aiohttp/client.py)",
    "response to the client, uvicorn (RequestResponseCycle.send)": (
        "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py)"
    ),
    "client request parsing, uvicorn (HttpToolsProtocol.data_received)": (
        "HttpToolsProtocol.data_received (uvicorn/protocols/http/httptools_impl.py)"
    ),
    "upstream response parsing, aiohttp (ResponseHandler.data_received)": (
        "ResponseHandler.data_received (aiohttp/client_proto.py)"
    ),
    "key authentication (authenticate)": "authenticate (headwater/gateway/auth.py)",
    "usage event per call (Call.record)": "Call.record (headwater/gateway/accounting.py)",
    "usage batch inserts, SQLAlchemy in a greenlet (Connection.execute)": (
        "Connection.execute (sqlalchemy/engine/base.py)"
    ),
}


def summarise_profile(raw: Path, rate: int, seconds: int, top: int = 15) -> str:
    """The event-loop thread's top frames by self time, by package, and Headwater's frames by total time.

    Other threads (aiosqlite's worker, anyio's thread pool) are counted apart: they mostly block in
    queue waits, which py-spy often reports as busy.
    """
    self_time: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    others: Counter[str] = Counter()
    inclusive_of: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        leaf = frames[-1]
        if frames[0].startswith("Thread._bootstrap"):
            others[leaf] += count
            continue
        total += count
        self_time[leaf] += count
        where = leaf.rpartition("(")[2].rstrip(")")
        packages[where.split("/")[0].removesuffix(".py") or "?"] += count
        for frame in set(frames):
            inclusive_of[frame] += count
            if "headwater/" in frame:
                inclusive[frame] += count
    subsystems = Counter({label: inclusive_of[frame] for label, frame in SUBSYSTEMS.items()})
    if not total:
        return "no samples of the event-loop thread (is the process busy? try a longer --duration)"

    def section(title: str, what: str, counts: Counter[str], limit: int) -> list[str]:
        entries = [(frame, n) for frame, n in counts.most_common(limit) if n]
        if not entries:
            return []
        out = [f"### {title}", "", f"| % | samples | {what} |", "|--:|--:|---|"]
        out += [f"| {100 * n / total:.1f} | {n} | `{frame}` |" for frame, n in entries]
        return [*out, ""]

    expected = rate * seconds
    other = ", ".join(f"`{frame}` {n}" for frame, n in others.most_common(4))
    return "\n".join(
        [
            f"{total} samples of the event-loop (main) thread at {rate} Hz over {seconds} s: busy "
            f"~{min(100, round(100 * total / expected))}% of the time. Percentages below are of these "
            "samples; time in C code (uvloop, httptools, socket calls, orjson) counts as self time of "
            "the Python frame that called it.",
            "",
            f"Other threads, not counted: {sum(others.values())} samples, mostly idle waits ({other})."
            if others
            else "No other threads were sampled.",
            "",
            *section("Top frames by self time", "frame", self_time, top),
            *section("Self time by package / module", "package", packages, 12),
            *section("Selected parts by total (inclusive) time", "part", subsystems, len(SUBSYSTEMS)),
            *section("Headwater frames by total (inclusive) time", "frame", inclusive, 25),
        ]
    )


def profile(procs: Processes, seconds: int, rate: int, which: str) -> int:
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(py_spy).exists():
        print(
            "py-spy is not installed. Install it into the virtualenv for profiling only:\n"
            "    .venv/bin/python -m pip install py-spy\n"
            "(it is deliberately not part of the lock files).",
            file=sys.stderr,
        )
        return 2
    _, nginx_port = start_nginx(procs)
    upstream = f"http://{HOST}:{nginx_port}"
    if which == "reference":
        entry, target = start_reference(procs, upstream)
    else:
        entry, target, _ = start_headwater(procs, upstream)
    check(target, "non-stream")
    url, body = target.url("non-stream"), REQUESTS["non-stream"]
    print(f"warming up {which} for {WARMUP_S} s", flush=True)
    wrk(url, body, target.key, THROUGHPUT_CONNECTIONS, WARMUP_S, latency=False)

    RESULTS.mkdir(exist_ok=True)
    raw = RESULTS / f"profile-{which}.txt"
    argv = [py_spy, "record", "--pid", str(target.pid), "--rate", str(rate)]
    argv += ["--duration", f"{seconds}", "--format", "raw", "--output", str(raw)]
    spy = procs.start("py-spy", pinned(LOAD_CPU, argv))
    time.sleep(1.0)  # py-spy attaches before the load starts
    if spy.process.poll() is not None:
        raise Failed(f"py-spy exited with code {spy.process.returncode}:\n{log_tail(spy)}")
    print(f"profiling {which} (pid {target.pid}) for {seconds} s under wrk -c32 non-stream", flush=True)
    result = wrk(url, body, target.key, THROUGHPUT_CONNECTIONS, seconds, latency=False)
    try:
        spy.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        procs.stop(spy)
    if not raw.exists():
        raise Failed(f"py-spy wrote no output:\n{log_tail(spy)}")
    summary = summarise_profile(raw, rate, seconds)
    header = [
        f"# {'Headwater' if which == 'headwater' else 'Reference proxy'} profile (py-spy, non-stream load)",
        "",
        *environment_lines(seconds)[:5],
        f"- Load while sampling: wrk -t1 -c{THROUGHPUT_CONNECTIONS} -d{seconds}s -> "
        f"{result.requests_per_s:,.0f} req/s (slowed by the sampler), {result.errors} errors",
        f"- Samples: {raw.relative_to(ROOT)} (collapsed stacks: open in https://www.speedscope.app "
        "or render with flamegraph.pl)",
        "",
    ]
    out = RESULTS / f"profile-{which}.md"
    out.write_text("\n".join(header) + "\n" + summary + "\n")
    print("\n" + summary)
    print(f"\nwritten to {out.relative_to(ROOT)} and {raw.relative_to(ROOT)}")
    procs.stop(entry)
    return 0


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    try:
        yield directory
    finally:
        if keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of throughput load per target and mode (10)"
    )
    parser.add_argument("--only", choices=TARGETS, help="measure one target only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    parser.add_argument(
        "--profile", action="store_true", help="profile Headwater (or --only reference) with py-spy instead"
    )
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (100)")
    args = parser.parse_args(argv)
    if args.duration < ROUNDS:
        parser.error(f"--duration must be at least {ROUNDS} seconds")
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed (Debian: apt-get install nginx-light wrk)", file=sys.stderr)
            return 2

    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    with workdir(args.keep) as directory:
        procs = Processes(directory)
        out: IO[str] = sys.stderr
        try:
            if args.profile:
                if args.only == "direct":
                    parser.error("--profile profiles headwater (default) or reference")
                return profile(procs, args.duration, args.rate, args.only or "headwater")
            return benchmark(procs, [args.only] if args.only else list(TARGETS), args.duration)
        except Failed as exc:
            print(f"\n!!! benchmark failed: {exc}", file=out)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted; stopping everything", file=out)
            return 130
        finally:
            procs.stop_all()
            print(f"({time.monotonic() - started:.0f} s)", file=out)


if __name__ == "__main__":
    sys.exit(main())
