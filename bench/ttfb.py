"""Time to first byte of a stream at one connection (issue 16: headwater ≤ the reference + 0.2 ms).

``make bench`` runs this after the wrk latency runs, for every live target in stream mode: a child
process (``python bench/ttfb.py URL``, pinned to the load CPU with taskset, as wrk is) sends the
target's stream request on one keep-alive connection, one request at a time, for a few seconds
after a warm-up, and times each from just before the send to the first byte of the response (the
status line) and to the first byte of its body (the first event's chunk), reading every response to
its end (bench/httpclient.py parses the chunked framing up to the 0-length chunk) before the next
request. It prints the p50 and p99 of both as JSON; the parent turns them into a table and verdicts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from common import HEADWATER, LOAD_CPU, POLICY, POLICY_REDIS, Failed, pinned
from httpclient import Connection

if TYPE_CHECKING:  # not at run time: the pinned child process needs none of it
    from targets import Target

#: Headwater's stream TTFB p50 may exceed the reference proxy's by this much (issue 16).
TTFB_GOAL_MS = 0.2
#: The targets the TTFB goal applies to.
TTFB_TARGETS = (HEADWATER, POLICY, POLICY_REDIS)
WARMUP_REQUESTS = 100
MAX_REQUESTS = 20_000


@dataclass
class Ttfb:
    target: str
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None  # to the first byte of the response
    p99_ms: float | None = None
    body_p50_ms: float | None = None  # to the first byte of the body
    body_p99_ms: float | None = None
    note: str = ""


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def sample(url: str, body: str, key: str, seconds: float) -> dict[str, float | int]:
    """The measurement itself (in the pinned child): warm-up, then ``seconds`` of sequential requests."""
    connection = Connection(url)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    raw = connection.post_bytes(body.encode(), headers)
    first: list[float] = []
    first_body: list[float] = []
    errors = 0
    for _ in range(WARMUP_REQUESTS):
        connection.request(raw)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and len(first) < MAX_REQUESTS:
        timing = connection.request(raw)
        if timing.status != 200 or not timing.complete:
            errors += 1
            continue
        first.append(timing.first_byte_s)
        if timing.first_body_s is not None:
            first_body.append(timing.first_body_s)
    connection.close()
    result: dict[str, float | int] = {"requests": len(first), "errors": errors}
    if first:
        result |= {"p50_ms": 1e3 * percentile(first, 0.5), "p99_ms": 1e3 * percentile(first, 0.99)}
    if first_body:
        result |= {
            "body_p50_ms": 1e3 * percentile(first_body, 0.5),
            "body_p99_ms": 1e3 * percentile(first_body, 0.99),
        }
    return result


def measure_ttfb(name: str, url: str, body: str, key: str | None, seconds: float) -> Ttfb:
    """One target's TTFB, measured by a child process pinned to the load CPU."""
    argv = [sys.executable, os.path.abspath(__file__), url, "--seconds", str(seconds)]
    env = {**os.environ, "BENCH_BODY": body, "BENCH_KEY": key or ""}
    try:
        done = subprocess.run(
            pinned(LOAD_CPU, argv), env=env, capture_output=True, text=True, timeout=seconds + 60
        )
    except subprocess.TimeoutExpired:
        return Ttfb(name, note="FAILED: timed out")
    if done.returncode != 0:
        raise Failed(f"ttfb {name} failed (code {done.returncode}): {done.stderr.strip()[-500:]}")
    found = orjson.loads(done.stdout)
    return Ttfb(
        name,
        requests=int(found["requests"]),
        errors=int(found["errors"]),
        p50_ms=found.get("p50_ms"),
        p99_ms=found.get("p99_ms"),
        body_p50_ms=found.get("body_p50_ms"),
        body_p99_ms=found.get("body_p99_ms"),
    )


def ttfb_seconds(seconds: int) -> int:
    """Seconds of sequential stream requests per target for the TTFB (2 s at the default duration)."""
    return max(1, seconds // 4)


def run_ttfb(live: dict[str, Target], seconds: int, failures: list[str]) -> list[Ttfb]:
    """The stream TTFB of every live target, one at a time (bench/ttfb.py)."""
    results = []
    print(f"  stream: time to first byte, {ttfb_seconds(seconds)} s each, 1 connection", flush=True)
    for name, target in live.items():
        try:
            results.append(
                measure_ttfb(
                    name, target.url("stream"), target.bodies["stream"], target.key, ttfb_seconds(seconds)
                )
            )
        except Failed as exc:
            print(f"\n!!! {exc}\n", file=sys.stderr, flush=True)
            failures.append(str(exc).splitlines()[0])
            results.append(Ttfb(name, note="FAILED"))
    return results


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:,.3f}"


def ttfb_table(results: list[Ttfb]) -> str:
    reference = next((r for r in results if r.target == "reference"), None)
    lines = [
        "| target (stream, 1 conn) | requests | TTFB p50 ms | TTFB p99 ms | added p50 ms over reference "
        "| first body byte p50 ms | first body byte p99 ms | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        added = None
        if reference and reference.p50_ms is not None and r.p50_ms is not None and r is not reference:
            added = r.p50_ms - reference.p50_ms
        errors = f"{r.errors}" + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {r.target} | {r.requests:,} | {_fmt(r.p50_ms)} | {_fmt(r.p99_ms)} | {_fmt(added)} "
            f"| {_fmt(r.body_p50_ms)} | {_fmt(r.body_p99_ms)} | {errors} |"
        )
    return "\n".join(lines)


def ttfb_verdicts(results: list[Ttfb]) -> list[str]:
    """Each TTFB target's p50 minus the reference's against TTFB_GOAL_MS."""
    reference = next((r for r in results if r.target == "reference"), None)
    if reference is None or reference.p50_ms is None:
        return []
    lines = []
    for r in results:
        if r.target not in TTFB_TARGETS or r.p50_ms is None:
            continue
        added = r.p50_ms - reference.p50_ms
        body = ""
        if r.body_p50_ms is not None and reference.body_p50_ms is not None:
            body = f" (to the first body byte: {r.body_p50_ms - reference.body_p50_ms:+.3f} ms)"
        lines.append(
            f"Verdict: {r.target} stream TTFB p50 {r.p50_ms:.3f} ms = {added:+.3f} ms over the reference "
            f"proxy ({reference.p50_ms:.3f} ms): {'MEETS' if added <= TTFB_GOAL_MS else 'MISSES'} the "
            f"<= {TTFB_GOAL_MS} ms target{body}."
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description="TTFB at one connection (the body and key: BENCH_BODY, BENCH_KEY)"
    )
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    result = sample(args.url, os.environ["BENCH_BODY"], os.environ.get("BENCH_KEY", ""), args.seconds)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
