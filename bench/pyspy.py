"""``--profile``: Headwater (or the reference proxy) under py-spy while wrk drives non-stream load
(or ``BENCH_PROFILE_MODE=stream``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from common import (
    HOST,
    LOAD_CPU,
    OIDC,
    POLICY_REDIS,
    RESULTS,
    ROOT,
    THROUGHPUT_CONNECTIONS,
    VENV_BIN,
    WARMUP_S,
    Failed,
    Processes,
    log_tail,
    pinned,
)
from oidc import start_issuer
from report import environment_lines
from targets import check, start_headwater, start_reference
from upstream import start_nginx
from wrk import wrk

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
    "key authentication, verified cache (Authenticator.cached)": "cached (headwater/gateway/auth.py)",
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
        issuer = start_issuer(procs.directory, upstream) if which == OIDC else None
        headwater = start_headwater(procs, upstream, [which], redis=which == POLICY_REDIS, issuer=issuer)
        entry, target = headwater.entry, headwater.targets[which]
    if (verify := target.verify) is not None:
        verify()
    mode = os.environ.get("BENCH_PROFILE_MODE", "non-stream")
    check(target, mode)
    url, body = target.url(mode), target.bodies[mode]
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
    print(f"profiling {which} (pid {target.pid}) for {seconds} s under wrk -c32 {mode}", flush=True)
    result = wrk(url, body, target.key, THROUGHPUT_CONNECTIONS, seconds, latency=False)
    try:
        spy.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        procs.stop(spy)
    if not raw.exists():
        raise Failed(f"py-spy wrote no output:\n{log_tail(spy)}")
    summary = summarise_profile(raw, rate, seconds)
    header = [
        f"# {'Reference proxy' if which == 'reference' else which} profile (py-spy, {mode} load)",
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
