"""The report: the table, the verdicts and the environment a run was measured in."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

from common import (
    HEADWATER,
    LOAD_CPU,
    OIDC,
    POLICY,
    POLICY_REDIS,
    PROXY_CPU,
    ROOT,
    ROUNDS,
    THROUGHPUT_CONNECTIONS,
    TRANSLATED,
    WARMUP_S,
    pinned,
)
from wrk import Row, latency_seconds, round_seconds

#: Issue 16: req/s as a share of the reference proxy's per target and mode (both modes).
ISSUE16_GOALS = {
    HEADWATER: {"non-stream": 90, "stream": 80},
    POLICY: {"non-stream": 80, "stream": 70},
    POLICY_REDIS: {"non-stream": 60, "stream": 60},
}
#: The earlier goals (non-stream only) of the targets issue 16 names no goal for: headwater+oidc
#: (headwater+policy with a token) and the translated paths (issue 14).
GOALS = {OIDC: 50, **dict.fromkeys(TRANSLATED, 50)}
#: Issue 16: latency at one connection the issue-16 targets may add over the reference (p50, p99).
ADDED_P50_GOAL_MS = 0.1
ADDED_P99_GOAL_MS = 1.0


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    def find(mode: str, target: str) -> Row | None:
        return next((r for r in rows if r.mode == mode and r.target == target), None)

    lines = [
        "| mode | target | req/s (32 conn) | % of reference | CPU µs/req | % of reference by CPU "
        "| p50 ms (1 conn) | p99 ms | added p50 ms | added p50 ms over reference "
        "| added p99 ms over reference | RSS MiB | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
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
        over = over_reference(row, reference)
        cpu = row.cpu_us_per_request
        reference_cpu = reference.cpu_us_per_request if reference else None
        by_cpu = 100 * reference_cpu / cpu if cpu and reference_cpu else None
        errors = str(row.errors) if row.throughput else "–"
        if row.note:
            errors += f" ({row.note})"
        lines.append(
            f"| {row.mode} | {row.target} | {fmt(rps, 0)} | {fmt(share, 0)}{'%' if share else ''} "
            f"| {fmt(cpu, 0)} | {fmt(by_cpu, 0)}{'%' if by_cpu else ''} "
            f"| {fmt(p50, 3)} | {fmt(row.latency.p99_ms if row.latency else None, 3)} "
            f"| {fmt(added, 3)} | {fmt(over[0], 3)} | {fmt(over[1], 3)} | {fmt(row.rss, 1)} | {errors} |"
        )
    return "\n".join(lines)


def over_reference(row: Row, reference: Row | None) -> tuple[float | None, float | None]:
    """The row's p50 and p99 at one connection minus the reference's (None where not measured)."""
    if reference is None or row is reference or row.target in ("direct", "reference"):
        return None, None
    mine, theirs = row.latency, reference.latency
    if mine is None or theirs is None:
        return None, None
    p50 = mine.p50_ms - theirs.p50_ms if mine.p50_ms is not None and theirs.p50_ms is not None else None
    p99 = mine.p99_ms - theirs.p99_ms if mine.p99_ms is not None and theirs.p99_ms is not None else None
    return p50, p99


def meets(ok: bool) -> str:
    return "MEETS" if ok else "MISSES"


def issue16_verdicts(rows: list[Row]) -> list[str]:
    """Issue 16: per target and mode, req/s (and CPU per request) against the reference vs its goal,
    and the p50 and p99 at one connection it adds over the reference."""

    def find(mode: str, target: str) -> Row | None:
        return next((r for r in rows if r.mode == mode and r.target == target), None)

    lines = []
    for target, goals in ISSUE16_GOALS.items():
        for mode, goal in goals.items():
            row, reference = find(mode, target), find(mode, "reference")
            if row is None or reference is None:
                continue
            rps = row.throughput.requests_per_s if row.throughput else None
            ref_rps = reference.throughput.requests_per_s if reference.throughput else None
            if rps is not None and ref_rps:
                share = 100 * rps / ref_rps
                lines.append(
                    f"Verdict: {target} {mode} {rps:,.0f} req/s = {share:.0f}% of the reference proxy "
                    f"({ref_rps:,.0f} req/s): {meets(share >= goal)} the >= {goal}% target."
                )
                mine, theirs = row.cpu_us_per_request, reference.cpu_us_per_request
                if mine and theirs:
                    efficiency = 100 * theirs / mine
                    lines.append(
                        f"         by CPU per request: {mine:,.0f} µs vs the reference's {theirs:,.0f} µs = "
                        f"{efficiency:.0f}% ({meets(efficiency >= goal)} the >= {goal}% target)"
                    )
            p50, p99 = over_reference(row, reference)
            if p50 is not None and p99 is not None:
                lines.append(
                    f"Verdict: {target} {mode} latency at 1 connection over the reference: p50 "
                    f"{p50:+.3f} ms ({meets(p50 <= ADDED_P50_GOAL_MS)} <= {ADDED_P50_GOAL_MS} ms), p99 "
                    f"{p99:+.3f} ms ({meets(p99 <= ADDED_P99_GOAL_MS)} <= {ADDED_P99_GOAL_MS} ms)."
                )
    return lines


def verdicts(rows: list[Row]) -> list[str]:
    """The issue-16 verdicts, then one line per other Headwater target measured: its non-stream req/s
    against the reference, MEETS or MISSES its goal."""

    def rps(target: str) -> float | None:
        row = next((r for r in rows if r.mode == "non-stream" and r.target == target), None)
        return row.throughput.requests_per_s if row and row.throughput else None

    def cpu(target: str) -> float | None:
        row = next((r for r in rows if r.mode == "non-stream" and r.target == target), None)
        return row.cpu_us_per_request if row else None

    reference = rps("reference")
    lines = issue16_verdicts(rows)
    if not reference:
        return lines
    for target, goal in GOALS.items():
        measured = rps(target)
        if measured is None:
            continue
        share = 100 * measured / reference
        lines.append(
            f"Verdict: {target} non-stream {measured:,.0f} req/s = {share:.0f}% of the reference proxy "
            f"({reference:,.0f} req/s): {'MEETS' if share >= goal else 'MISSES'} the >= {goal}% target."
        )
        mine, theirs = cpu(target), cpu("reference")
        if mine and theirs:
            efficiency = 100 * theirs / mine
            lines.append(
                f"         by CPU per request: {mine:,.0f} µs vs the reference's {theirs:,.0f} µs = "
                f"{efficiency:.0f}% ({'MEETS' if efficiency >= goal else 'MISSES'} the >= {goal}% target)"
            )
        plain = rps(HEADWATER)
        if target in TRANSLATED and plain:
            mine, theirs = cpu(target), cpu(HEADWATER)
            by_cpu = f", CPU per request {mine - theirs:+,.0f} µs" if mine and theirs else ""
            lines.append(
                f"         against {HEADWATER} (plain chat, the same process and kind of key): "
                f"{100 * measured / plain:.0f}% of its req/s{by_cpu}"
            )
        key = rps(POLICY)
        if target == OIDC and key:
            mine, theirs = cpu(OIDC), cpu(POLICY)
            by_cpu = f", CPU per request {mine - theirs:+,.0f} µs" if mine and theirs else ""
            lines.append(
                f"         against {POLICY} (the same user and policy, a key instead of a token): "
                f"{100 * measured / key:.0f}% of its req/s{by_cpu}"
            )
    return lines


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
        f"{round_seconds(seconds)} s per target ({round_seconds(seconds, short=True)} s for the translated "
        f"paths), interleaved across targets; p50/p99 from `wrk -t1 -c1 -d{latency_seconds(seconds)}s "
        f"--latency` ({latency_seconds(seconds, short=True)} s for the translated paths); every target "
        f"warmed up for {WARMUP_S} s",
        f"- Pinning: {pinning}",
    ]
