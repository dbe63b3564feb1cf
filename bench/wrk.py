"""wrk: running it, parsing its output, and measuring live targets in interleaved rounds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

from common import LOAD_CPU, LUA, ROUNDS, SHORT, THROUGHPUT_CONNECTIONS, WARMUP_S, Failed, pinned
from targets import Target


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


@dataclass
class Row:
    mode: str
    target: str
    throughput: WrkResult | None = None
    latency: WrkResult | None = None
    rss: float | None = None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # req/s of each throughput round
    cpu_s: float = 0.0  # CPU time the proxy process used during the throughput rounds
    cpu_requests: int = 0  # requests answered during those rounds

    @property
    def cpu_us_per_request(self) -> float | None:
        """Steadier than req/s on a shared machine: what one request costs the proxy's CPU."""
        return 1e6 * self.cpu_s / self.cpu_requests if self.cpu_requests and self.cpu_s else None

    @property
    def errors(self) -> int:
        return sum(r.errors for r in (self.throughput, self.latency) if r is not None)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (``/proc/PID/stat``), or None."""
    if pid is None:
        return None
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def round_seconds(seconds: int, short: bool = False) -> int:
    """wrk takes whole seconds. ``short`` (the translated targets, common.SHORT): half as long."""
    return max(1, seconds // ROUNDS // (2 if short else 1))


def latency_seconds(seconds: int, short: bool = False) -> int:
    return max(1, seconds // (4 if short else 2))


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
    rows = {name: Row(mode, name) for name in live}
    throughput: dict[str, list[WrkResult]] = {name: [] for name in live}

    def load(name: str, connections: int, length: int, latency: bool) -> WrkResult | None:
        target = live.get(name)
        if target is None:
            return None
        try:
            return wrk(target.url(mode), target.bodies[mode], target.key, connections, length, latency)
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
    length, short = round_seconds(seconds), round_seconds(seconds, short=True)
    for number in range(ROUNDS):
        sequence = order if number % 2 == 0 else order[::-1]
        lengths = f"{length:g} s each" + (
            f" ({short:g} s: {', '.join(SHORT & set(order))})" if SHORT & set(order) else ""
        )
        print(f"  {mode}: throughput round {number + 1}/{ROUNDS}, {lengths}, -c32", flush=True)
        for name in sequence:
            pid = live[name].pid if name in live and name != "direct" else None
            before = cpu_seconds(pid)
            result = load(name, THROUGHPUT_CONNECTIONS, short if name in SHORT else length, latency=False)
            after = cpu_seconds(pid)
            if result is not None:
                throughput[name].append(result)
                rows[name].rounds.append(result.requests_per_s)
                if before is not None and after is not None:
                    rows[name].cpu_s += after - before
                    rows[name].cpu_requests += result.requests
    print(f"  {mode}: latency, {latency_seconds(seconds)} s each, -c1", flush=True)
    for name in order:
        rows[name].latency = load(name, 1, latency_seconds(seconds, name in SHORT), latency=True)
        if throughput[name] and rows[name].note != "FAILED":
            rows[name].throughput = combine(throughput[name])
    return list(rows.values())
