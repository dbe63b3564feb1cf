"""Workers scaling (issue 16: ``headwater serve --workers 2`` ≥ 1.8× one worker), as far as 2 cores allow.

Two ``headwater serve`` processes, both with the Redis settings that ``--workers 2`` needs
(HEADWATER_REDIS_URL under a random prefix, deleted at the end) so that the only difference is the
number of workers: one with 1 worker, one with ``--workers 2``. Both answer an owner-less key (the
``headwater`` target: no policy, so no limiter call ever reaches Redis), non-stream, ``wrk -t1 -c32``
pinned to the load CPU with nginx. Three configurations, warmed up and then measured in rounds
interleaved across them (as the main run does):

* ``1 worker, CPU 0``: the 1-worker process pinned to the proxy CPU (its every thread, with
  ``sched_setaffinity``), as in the main table;
* ``1 worker, unpinned``: the same process allowed on every CPU;
* ``2 workers, unpinned``: the 2-worker process (two processes cannot share one pinned core fairly,
  and on 2 cores there is no second free one to pin the second worker to).

The ratio the verdict reads is 2 workers unpinned / 1 worker unpinned: the same scheduling freedom
and the same competition with nginx and wrk for CPU 1. On a 2-core machine this cannot reach 2×:
nginx and wrk need a large part of a core themselves. The CPU the proxy processes used per request
(all workers together, ``/proc/PID/stat``) tells whether a second worker costs extra per request or
only lacks a core; ``cores used`` is that CPU time over the load's wall time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    HEADWATER,
    HOST,
    MODES,
    PROXY_CPU,
    RESULTS,
    ROOT,
    ROUNDS,
    THROUGHPUT_CONNECTIONS,
    WARMUP_S,
    Failed,
    Processes,
    children,
    rss_mib,
)
from report import environment_lines
from targets import REDIS_URL, Headwater, redis_reachable, start_headwater, usage_events
from upstream import start_nginx
from wrk import WrkResult, combine, cpu_seconds, round_seconds, wrk

#: Two workers' req/s over one worker's that issue 16 asks for.
SCALING_GOAL = 1.8
PINNED, UNPINNED, TWO = "1 worker, CPU 0", "1 worker, unpinned", "2 workers, unpinned"
CONFIGS = (PINNED, UNPINNED, TWO)


@dataclass
class Config:
    name: str
    instance: Headwater
    cpus: set[int] | None  # the affinity of the 1-worker process during this config's load
    results: list[WrkResult] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def result(self) -> WrkResult | None:
        return combine(self.results) if self.results else None

    @property
    def cpu_us_per_request(self) -> float | None:
        requests = sum(r.requests for r in self.results)
        return 1e6 * self.cpu_s / requests if requests and self.cpu_s else None


def processes(instance: Headwater) -> list[int]:
    """The serving process and its children (the workers, with ``--workers`` above 1)."""
    pid = instance.entry.process.pid
    return [pid, *children(pid)]


def workers(instance: Headwater) -> list[int]:
    """The uvicorn worker processes: the serving process itself with 1 worker, else its children that
    run Headwater (multiprocessing's resource tracker, if any, is not one)."""
    pid = instance.entry.process.pid
    found = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found or [pid]


def set_affinity(pid: int, cpus: set[int]) -> None:
    """``cpus`` for every thread of ``pid`` (threads keep their own affinity)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), cpus)


def total_cpu(instance: Headwater) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in processes(instance))


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def scaling(procs: Processes, upstream: str, seconds: int) -> tuple[str, list[str], list[str], int]:
    """Measure the three configurations: the table, the verdicts, notes and the requests answered with
    an error in the measured rounds (raises Failed)."""
    if (why := redis_reachable()) is not None:
        return (
            "",
            [],
            [f"- workers scaling skipped: `--workers 2` needs Redis, none at {REDIS_URL} ({why})"],
            0,
        )
    every_cpu = set(range(os.cpu_count() or 1))
    print("scaling: starting headwater with 1 worker and with --workers 2 (Redis settings)", flush=True)
    one = start_headwater(procs, upstream, [HEADWATER], redis=True, pin=False, label="scaling-1-worker")
    two = start_headwater(
        procs, upstream, [HEADWATER], redis=True, workers=2, pin=False, label="scaling-2-workers"
    )
    if len(workers(two)) != 2:
        raise Failed(f"headwater --workers 2 runs {len(workers(two))} worker processes, not 2")
    configs = {
        PINNED: Config(PINNED, one, {int(PROXY_CPU)}),
        UNPINNED: Config(UNPINNED, one, every_cpu),
        TWO: Config(TWO, two, None),
    }
    mode = MODES[0]  # non-stream

    def load(config: Config, length: int, record: bool) -> None:
        if config.cpus is not None:
            set_affinity(config.instance.entry.process.pid, config.cpus)
        target = config.instance.targets[HEADWATER]
        before, started = total_cpu(config.instance), time.monotonic()
        result = wrk(target.url(mode), target.bodies[mode], target.key, THROUGHPUT_CONNECTIONS, length, False)
        if record:
            config.cpu_s += total_cpu(config.instance) - before
            config.wall_s += time.monotonic() - started
            config.results.append(result)
        elif result.errors:
            print(f"scaling: {config.name}: {result.errors} errors in the warm-up", flush=True)

    print(f"scaling: warm-up {WARMUP_S} s each", flush=True)
    for config in configs.values():
        load(config, WARMUP_S, record=False)
    length = round_seconds(seconds)
    for number in range(ROUNDS):
        order = list(configs.values()) if number % 2 == 0 else list(configs.values())[::-1]
        print(
            f"scaling: round {number + 1}/{ROUNDS}, {length} s each, -c{THROUGHPUT_CONNECTIONS}", flush=True
        )
        for config in order:
            load(config, length, record=True)
    set_affinity(one.entry.process.pid, every_cpu)

    rss = {name: [rss_mib(pid) for pid in workers(c.instance)] for name, c in configs.items()}
    base = configs[UNPINNED].result
    lines = [
        "| workers scaling (non-stream, owner-less key) | req/s (32 conn) | × 1 worker unpinned "
        "| CPU µs/req (all workers) | cores used | RSS MiB per worker | errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, config in configs.items():
        result = config.result
        rps = result.requests_per_s if result else None
        times = rps / base.requests_per_s if rps and base and base.requests_per_s else None
        cores = config.cpu_s / config.wall_s if config.wall_s else None
        per_worker = ", ".join(_fmt(r, 1) for r in rss[name])
        lines.append(
            f"| {name} | {_fmt(rps)} | {_fmt(times, 2)}× | {_fmt(config.cpu_us_per_request)} "
            f"| {_fmt(cores, 2)} | {per_worker} | {result.errors if result else '–'} |"
        )
    verdicts = []
    two_result, pinned_result = configs[TWO].result, configs[PINNED].result
    if two_result and base and base.requests_per_s:
        ratio = two_result.requests_per_s / base.requests_per_s
        verdicts.append(
            f"Verdict: --workers 2 {two_result.requests_per_s:,.0f} req/s = {ratio:.2f}× one worker "
            f"(unpinned, {base.requests_per_s:,.0f} req/s): {'MEETS' if ratio >= SCALING_GOAL else 'MISSES'} "
            f"the >= {SCALING_GOAL}× target (2 cores, nginx and wrk on one of them: see the docs)."
        )
        if pinned_result and pinned_result.requests_per_s:
            verdicts.append(
                f"         against one worker pinned to CPU {PROXY_CPU} "
                f"({pinned_result.requests_per_s:,.0f} req/s): "
                f"{two_result.requests_per_s / pinned_result.requests_per_s:.2f}×"
            )
    all_rss = [r for name in rss for r in rss[name] if r is not None]
    if all_rss:
        verdicts.append(
            f"Verdict: RSS per worker after the scaling load at most {max(all_rss):.1f} MiB "
            f"({max(all_rss) * 1.048576:.1f} MB): {'MEETS' if max(all_rss) * 1.048576 <= 150 else 'MISSES'} "
            "the <= 150 MB target (flatness: make bench --soak)."
        )
    notes = []
    for instance in (one, two):
        sent = sum(r.requests for c in configs.values() if c.instance is instance for r in c.results)
        recorded = usage_events(instance.base, instance.token)
        notes.append(
            f"- Scaling, {instance.entry.name}: usage events recorded "
            f"{'?' if recorded is None else f'{recorded:,}'} "
            f"(measured requests {sent:,}, plus warm-ups and checks)"
        )
    errors = sum(r.errors for c in configs.values() for r in c.results)
    return "\n".join(lines), verdicts, notes, errors


def scaling_section(
    procs: Processes, upstream: str, seconds: int, failures: list[str]
) -> tuple[str, list[str], list[str]]:
    """bench/scaling.py's table, verdicts and notes; a failure is noted, not raised."""
    try:
        report, lines, notes, errors = scaling(procs, upstream, seconds)
    except Failed as exc:
        print(f"\n!!! workers scaling: {exc}\n", file=sys.stderr, flush=True)
        failures.append(f"headwater workers scaling: {str(exc).splitlines()[0]}")
        return "", [], []
    if errors:
        failures.append(f"headwater workers scaling: {errors} requests answered with an error or not at all")
    return report, lines, notes


def benchmark_scaling(procs: Processes, seconds: int) -> int:
    """``--scaling``: the workers scaling alone, written to bench/results/scaling.md."""
    failures: list[str] = []
    _, nginx_port = start_nginx(procs)
    report, lines, notes = scaling_section(procs, f"http://{HOST}:{nginx_port}", seconds, failures)
    procs.stop_all()
    print("\n" + report + "\n\n" + "\n".join(lines))
    for failure in failures:
        print(f"\n!!! BENCHMARK FAILED: {failure} !!!", file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    text = [
        "# Headwater benchmark: workers scaling",
        "",
        *environment_lines(seconds)[:6],
        *notes,
        "",
        report,
        "",
    ]
    text += ["\n\n".join(lines), "", *[f"**FAILED:** {failure}\n" for failure in failures]]
    (RESULTS / "scaling.md").write_text("\n".join(text))
    print(f"\nwritten to {(RESULTS / 'scaling.md').relative_to(ROOT)}")
    return 1 if failures else 0
