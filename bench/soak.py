"""``make bench --soak``: one Headwater worker over many requests — is its memory flat, does it leak
file descriptors or asyncio tasks? (issue 16: RSS ≤ 150 MB, flat within ±5% over 1,000,000 requests)

One ``headwater serve`` (1 worker on CPU 0, SQLite, the memory limiter) with the main run's models and
keys plus ``bench-slow-stream`` (nginx's slow stream, ~1 s for ~3 KB). The load, on CPU 1 with nginx:

* ``wrk -t1 -c32`` in segments of SEGMENT_S seconds, in turn non-stream and stream, with the owner-less
  key (no policy) and the policy's key (admission on the memory limiter), until ``--requests``
  requests were answered after a warm-up of ``--warmup`` requests;
* all the while bench/aborter.py: about ABORT_RATE streams a second on the slow model that it closes
  after their first event, so Headwater has to cancel the upstream call mid-stream.

Every SAMPLE_S seconds a thread samples the process: VmRSS (/proc/PID/status), its open file
descriptors (/proc/PID/fd, the sockets to nginx counted apart: the upstream connection pool may
legitimately grow and shrink), and the event loop's tasks (``headwater_asyncio_tasks`` on /metrics,
which also needs the scrape to run a task). The start and end samples are taken at quiet points: the
load (wrk and the aborter) stopped and QUIET_S seconds passed, so nothing in flight is counted. Writes
bench/results/soak.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from common import (
    BENCH,
    HEADWATER,
    HOST,
    LOAD_CPU,
    MODES,
    POLICY,
    REQUESTS,
    RESULTS,
    ROOT,
    Failed,
    Processes,
    pinned,
    rss_mib,
)
from report import environment_lines
from targets import Target, clean_env, start_headwater, usage_events
from upstream import start_nginx
from wrk import wrk

SLOW_MODEL = "bench-slow-stream"
SLOW_YAML = f"""\
apiVersion: headwater/v1
kind: Model
metadata: {{name: {SLOW_MODEL}}}
spec:
  kind: chat
  deployments:
    - {{provider: openai, baseUrl: "{{upstream}}/slow-stream/v1", upstreamModel: {SLOW_MODEL}}}
"""
SLOW_BODY = orjson.dumps({**orjson.loads(REQUESTS["stream"]), "model": SLOW_MODEL}).decode()
SEGMENT_S = 2
SAMPLE_S = 5.0
QUIET_S = 3.0
ABORT_RATE = 30.0
RSS_GOAL_MB = 150.0
DRIFT_GOAL_PCT = 5.0
TASKS_TOLERANCE = 2  # background tasks (a usage flush, a snapshot poll) may be running at a sample
MIB_TO_MB = 1.048576


@dataclass
class Sample:
    at_s: float
    requests: int
    rss_mib: float | None
    fds: int
    upstream_sockets: int
    tasks: float | None
    in_flight: float | None


def socket_inodes_to(port: int) -> set[str]:
    """Inodes of the TCP sockets connected to 127.0.0.1:``port`` (/proc/net/tcp)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[2].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def fd_counts(pid: int, upstream_port: int) -> tuple[int, int]:
    """Open file descriptors of ``pid``, and how many of them are sockets to the upstream."""
    upstream = socket_inodes_to(upstream_port)
    total = pooled = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        total += 1
        if link.startswith("socket:[") and link[8:-1] in upstream:
            pooled += 1
    return total, pooled


def gauges(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    wanted = {"headwater_asyncio_tasks", "headwater_requests_in_flight"}
    return {f.name: f.samples[0].value for f in text_string_to_metric_families(text) if f.name in wanted}


class Sampler:
    def __init__(self, pid: int, base: str, upstream_port: int) -> None:
        self.pid, self.base, self.upstream_port = pid, base, upstream_port
        self.started = time.monotonic()
        self.requests = 0  # answered so far (set by the load loop)
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> Sample:
        fds, pooled = fd_counts(self.pid, self.upstream_port)
        try:
            found = gauges(self.base)
        except httpx.HTTPError:
            found = {}
        sample = Sample(
            time.monotonic() - self.started,
            self.requests,
            rss_mib(self.pid),
            fds,
            pooled,
            found.get("headwater_asyncio_tasks"),
            found.get("headwater_requests_in_flight"),
        )
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.take()


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def soak(procs: Processes, total: int, warmup: int) -> int:
    _, nginx_port = start_nginx(procs)
    upstream = f"http://{HOST}:{nginx_port}"
    instance = start_headwater(procs, upstream, [HEADWATER, POLICY])
    pid = instance.entry.process.pid
    yaml = procs.directory / "soak-slow.yaml"
    yaml.write_text(SLOW_YAML.replace("{upstream}", upstream))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "headwater"), "apply", "-f", str(yaml)],
        env=clean_env(HEADWATER_URL=instance.base, HEADWATER_TOKEN=instance.token),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise Failed(f"applying {SLOW_MODEL} failed: {done.stdout}{done.stderr}")
    keys = [t.key or "" for t in instance.targets.values()]
    print(f"soak: headwater (pid {pid}) on {instance.base}, nginx on {upstream}", flush=True)
    segments = [(name, mode) for mode in MODES for name in (HEADWATER, POLICY)]
    counts = {"wrk": 0, "wrk_errors": 0, "segments": 0, "aborted": 0, "abort_started": 0, "abort_errors": 0}

    def run_until(goal: int, sampler: Sampler | None) -> None:
        answered, started = 0, time.monotonic()
        while answered < goal:
            name, mode = segments[counts["segments"] % len(segments)]
            counts["segments"] += 1
            target: Target = instance.targets[name]
            result = wrk(target.url(mode), target.bodies[mode], target.key, 32, SEGMENT_S, latency=False)
            answered += result.requests
            counts["wrk"] += result.requests
            counts["wrk_errors"] += result.errors
            if sampler is not None:
                sampler.requests = answered
                last = sampler.samples[-1] if sampler.samples else None
                rate = answered / (time.monotonic() - started)
                seen = (
                    f"RSS {_f(last.rss_mib)} MiB, fds {last.fds}, tasks {_f(last.tasks, 0)}" if last else "–"
                )
                print(
                    f"soak: {answered:,}/{goal:,} requests ({rate:,.0f}/s, {counts['wrk_errors']} errors); "
                    f"last sample: {seen}",
                    flush=True,
                )

    def aborter_start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "BENCH_BODY": SLOW_BODY, "BENCH_KEYS": ",".join(keys)}
        argv = [sys.executable, str(BENCH / "aborter.py"), f"{instance.base}/v1/chat/completions"]
        entry = procs.start("aborter", pinned(LOAD_CPU, [*argv, "--rate", str(ABORT_RATE)]), env)
        return entry.process

    def aborter_stop() -> None:
        entry = next(e for e in procs.started if e.name == "aborter")
        procs.stop(entry)
        lines = entry.log.read_text().strip().splitlines()
        found = orjson.loads(lines[-1]) if lines else {}
        counts["abort_started"] += int(found.get("started", 0))
        counts["aborted"] += int(found.get("aborted", 0))
        counts["abort_errors"] += int(found.get("errors", 0))

    sampler = Sampler(pid, instance.base, nginx_port)
    print(f"soak: warm-up, {warmup:,} requests with aborted streams", flush=True)
    aborter_start()
    run_until(warmup, None)
    aborter_stop()
    time.sleep(QUIET_S)
    start = sampler.take()
    print(f"soak: start (quiet): RSS {_f(start.rss_mib)} MiB, fds {start.fds}, tasks {_f(start.tasks, 0)}")
    began = time.monotonic()
    aborter_start()
    sampler.thread.start()
    run_until(total, sampler)
    sampler.stop.set()
    sampler.thread.join()
    aborter_stop()
    time.sleep(QUIET_S)
    end = sampler.take()
    elapsed = time.monotonic() - began
    time.sleep(1.5)  # the usage writer's last flush
    recorded = usage_events(instance.base, instance.token)
    procs.stop_all()

    rss_values = [s.rss_mib for s in sampler.samples if s.rss_mib is not None]
    peak = max(rss_values) if rss_values else None
    drift = 100 * (end.rss_mib - start.rss_mib) / start.rss_mib if end.rss_mib and start.rss_mib else None
    other_start, other_end = start.fds - start.upstream_sockets, end.fds - end.upstream_sockets
    max_tasks = max((s.tasks for s in sampler.samples if s.tasks is not None), default=None)
    rows = [
        "| | start (quiet, after the warm-up) | max | end (quiet) |",
        "|---|--:|--:|--:|",
        f"| RSS MiB | {_f(start.rss_mib)} | {_f(peak)} | {_f(end.rss_mib)} |",
        f"| open fds (of them sockets to nginx) | {start.fds} ({start.upstream_sockets}) "
        f"| {max(s.fds for s in sampler.samples)} | {end.fds} ({end.upstream_sockets}) |",
        f"| asyncio tasks | {_f(start.tasks, 0)} | {_f(max_tasks, 0)} | {_f(end.tasks, 0)} |",
    ]
    verdicts = []
    if peak is not None and drift is not None:
        peak_mb = peak * MIB_TO_MB
        verdicts.append(
            f"Verdict: RSS max {peak_mb:.1f} MB: {'MEETS' if peak_mb <= RSS_GOAL_MB else 'MISSES'} "
            f"the <= {RSS_GOAL_MB:.0f} MB target; end vs start {drift:+.1f}%: "
            f"{'MEETS' if abs(drift) <= DRIFT_GOAL_PCT else 'MISSES'} the ±{DRIFT_GOAL_PCT:.0f}% target."
        )
    verdicts.append(
        f"Verdict: open fds besides the upstream pool {other_start} → {other_end}: "
        f"{'MEETS' if other_end <= other_start else 'MISSES'} (no growth); sockets to nginx "
        f"{start.upstream_sockets} → {end.upstream_sockets} (the pool, reported only)."
    )
    if start.tasks is not None and end.tasks is not None:
        verdicts.append(
            f"Verdict: asyncio tasks {start.tasks:.0f} → {end.tasks:.0f}: "
            f"{'MEETS' if end.tasks <= start.tasks + TASKS_TOLERANCE else 'MISSES'} "
            f"(no growth beyond {TASKS_TOLERANCE} background tasks)."
        )
    answered = counts["wrk"]
    events = f"{recorded:,}" if recorded is not None else "?"
    verdicts.append(
        f"Usage events recorded {events} for {answered:,} requests answered to wrk (warm-up included) and "
        f"{counts['abort_started']:,} aborted streams started ({counts['aborted']:,} closed after the "
        f"first event, {counts['abort_errors']} errors), plus the start-up checks: "
        + (
            "every answered request has its event."
            if recorded is not None and recorded >= answered
            else "FEWER events than answered requests."
        )
    )
    series = ["| s | requests | RSS MiB | fds (to nginx) | tasks | in flight |", "|--:|--:|--:|--:|--:|--:|"]
    series += [
        f"| {s.at_s:.0f} | {s.requests:,} | {_f(s.rss_mib)} | {s.fds} ({s.upstream_sockets}) "
        f"| {_f(s.tasks, 0)} | {_f(s.in_flight, 0)} |"
        for s in sampler.samples
    ]
    header = [
        "# Headwater soak (make bench --soak)",
        "",
        *environment_lines(SEGMENT_S * 2)[:6],
        f"- Load: {total:,} requests after a warm-up of {warmup:,} ({elapsed:.0f} s, "
        f"{total / elapsed if elapsed else 0:,.0f} req/s): wrk -t1 -c32 segments of {SEGMENT_S} s, "
        "non-stream and stream in turn, the owner-less and the policy key; aborted streams at "
        f"~{ABORT_RATE:.0f}/s throughout (bench/aborter.py); Headwater on CPU 0, the load on CPU 1",
        f"- wrk errors: {counts['wrk_errors']}",
        "",
    ]
    text = "\n".join([*header, *rows, "", *verdicts, "", "Samples:", "", *series, ""])
    print("\n" + "\n".join([*rows, "", *verdicts]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.md").write_text(text)
    print(f"\nwritten to {(RESULTS / 'soak.md').relative_to(ROOT)}")
    return 1 if counts["wrk_errors"] else 0  # a MISSES is a result; an error makes the numbers void
