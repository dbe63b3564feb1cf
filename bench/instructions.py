"""Instructions per request, Headwater against the reference proxy: a measure no noisy VM disturbs.

On a shared 2-vCPU VM the reference proxy's own CPU per request moves by ±25% from run to run, so
``make bench`` cannot resolve a change worth a few percent. Valgrind's callgrind counts the
instructions a process executes, whatever else the machine does: the same code and the same requests
give the same count to a fraction of a percent. It is not time (a cache miss or a system call costs
no more than an instruction here, and the kernel's work is not counted), so it complements the CPU
µs of ``make bench``; it does not replace them.

Each proxy (the reference, then ``headwater serve`` with an owner-less key and a key under the bench
policy) runs under ``valgrind --tool=callgrind --instr-atstart=no`` on the upstream nginx of
``make bench``. Per target and mode: a warm-up; callgrind counts over ``--idle`` seconds without
requests; then from zero over ``--requests`` sequential requests on one keep-alive connection
(bench/httpclient.py) and the seconds after them that write their usage. What a process does without
requests (uvicorn's tick, Headwater's deadline sweepers and metrics) runs by the clock, and under
callgrind a request takes ~50× longer, so the idle rate times the counted window is subtracted: what
remains is per request. The snapshot poll runs once a minute here
(``HEADWATER_SNAPSHOT_POLL_INTERVAL_S=60``) and the event-loop lag sampler not at all (``looplag`` of
bench/ablation/sitecustomize.py: 100 wake-ups a second, fewer while the loop is busy, ~0.4 µs per
request at full load), so that little is subtracted; ``BENCH_ABLATE`` may switch off more.
A usage batch is written every 100 events or after ``HEADWATER_USAGE_FLUSH_INTERVAL_S``: at full
load by size, here by time; with the longest interval (1 s) about 30 events a batch, so the flush's
fixed cost per batch weighs about three times as much per request as at full load.

    .venv/bin/python bench/instructions.py [--requests 2000] [--idle 5] [--keep]

Prints a Markdown table (also bench/results/instructions.md). Needs valgrind (Debian: valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import HEADWATER, HOST, MODES, POLICY, RESULTS, Failed, Processes
from httpclient import Connection
from targets import Target, start_headwater, start_reference
from upstream import start_nginx

#: A usage batch is written every 100 events or after a flush interval: at full load by size, under
#: callgrind (~30 requests a second) by time. The longest interval keeps batches closest to full load's.
#: The snapshot poll (4 a second by default) runs by the clock too: once a minute here, so that what
#: runs without requests is little beside what is measured.
QUIET = {"HEADWATER_USAGE_FLUSH_INTERVAL_S": "1.0", "HEADWATER_SNAPSHOT_POLL_INTERVAL_S": "60"}
#: After the counted requests, long enough for their last usage batch to be written.
SETTLE_S = 2.0
TARGETS = ("reference", HEADWATER, POLICY)
TOTALS = re.compile(rb"^(?:totals|summary): (\d+)", re.MULTILINE)


class Counted:
    """One process under callgrind: instrumentation switched on, counts zeroed and dumped."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out  # the --callgrind-out-file prefix
        self._dumps = 0

    def control(self, *args: str) -> None:
        done = subprocess.run(
            ["callgrind_control", *args, str(self.pid)], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise Failed(f"callgrind_control {' '.join(args)} failed: {done.stdout}{done.stderr}")

    def zero(self) -> None:
        self.control("-z")

    def dump(self) -> int:
        """Instructions since the last zero."""
        self.control("-d")
        self._dumps += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for path in self.out.parent.glob(f"{self.out.name}.{self.pid}.{self._dumps}*"):
                if found := TOTALS.search(path.read_bytes()):
                    return int(found.group(1))
            time.sleep(0.2)
        raise Failed(f"no callgrind dump {self._dumps} of process {self.pid} in {self.out.parent}")


def requests(target: Target, mode: str, count: int) -> None:
    connection = Connection(target.url(mode), timeout=60)
    headers = {"Content-Type": "application/json"}
    if target.key:
        headers["Authorization"] = f"Bearer {target.key}"
    raw = connection.post_bytes(target.bodies[mode].encode(), headers)
    try:
        for _ in range(count):
            timing = connection.request(raw)
            if timing.status != 200 or not timing.complete:
                raise Failed(f"{target.name} {mode}: HTTP {timing.status}: {timing.body[:300]!r}")
    finally:
        connection.close()


def per_request(counted: Counted, target: Target, mode: str, count: int, idle_s: float) -> float:
    """Instructions per request, the idle rate subtracted; says what it subtracted."""
    requests(target, mode, max(20, count // 10))  # warm-up (instrumented: its code paths are translated)
    time.sleep(SETTLE_S)  # the warm-up's usage written
    counted.zero()
    time.sleep(idle_s)
    idle = counted.dump() / idle_s
    counted.zero()
    started = time.monotonic()
    requests(target, mode, count)
    time.sleep(SETTLE_S)  # the requests' last usage batch written
    window = time.monotonic() - started
    busy = counted.dump()
    print(
        f"  {target.name} {mode}: {count} requests in {window:.1f} s, {busy / count:,.0f} instructions "
        f"each, less idle {idle / 1e6:.2f} M/s = {idle * window / count:,.0f} each",
        flush=True,
    )
    return (busy - idle * window) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="counted requests per target and mode")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds of idle counting per target and mode"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, dumps)")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated, of {', '.join(TARGETS)} (all); the table needs the reference",
    )
    args = parser.parse_args()
    wanted = [name for name in args.targets.split(",") if name]
    if not wanted or set(wanted) - set(TARGETS):
        parser.error(f"--targets: some of {', '.join(TARGETS)}")
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
            return 2
    directory = Path(tempfile.mkdtemp(prefix="headwater-instr-"))
    procs = Processes(directory)
    rows: dict[tuple[str, str], float] = {}
    try:
        _, nginx_port = start_nginx(procs)
        upstream = f"http://{HOST}:{nginx_port}"

        # the loop-lag sampler off (bench/ablation/sitecustomize.py), whatever else BENCH_ABLATE says
        parts = [part for part in os.environ.get("BENCH_ABLATE", "").split(",") if part]
        os.environ["BENCH_ABLATE"] = ",".join({*parts, "looplag"})
        ablation = str(Path(__file__).resolve().parent / "ablation")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [ablation, os.environ.get("PYTHONPATH")]))

        def wrap(name: str) -> list[str]:
            out = directory / f"callgrind.{name}"
            return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]

        if "reference" in wanted:
            entry, reference = start_reference(procs, upstream, wrap=wrap("reference"), ready_s=300)
            counted = Counted(entry.process.pid, directory / "callgrind.reference")
            counted.control("-i", "on")
            for mode in MODES:
                rows[("reference", mode)] = per_request(counted, reference, mode, args.requests, args.idle)
                print(f"reference {mode}: {rows[('reference', mode)]:,.0f} instructions/request", flush=True)
            procs.stop(entry)
        measured = [name for name in (HEADWATER, POLICY) if name in wanted]
        if measured:
            headwater = start_headwater(
                procs,
                upstream,
                names=measured,
                wrap=wrap("headwater"),
                ready_s=600,
                more_settings=QUIET,
            )
            counted = Counted(headwater.entry.process.pid, directory / "callgrind.headwater")
            counted.control("-i", "on")
            for name in measured:
                for mode in MODES:
                    rows[(name, mode)] = per_request(
                        counted, headwater.targets[name], mode, args.requests, args.idle
                    )
                    print(f"{name} {mode}: {rows[(name, mode)]:,.0f} instructions/request", flush=True)
    except Failed as exc:
        print(f"\n!!! failed: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    lines = [
        "| mode | target | instructions per request | reference / target |",
        "|---|---|--:|--:|",
    ]
    for mode in MODES:
        base = rows.get(("reference", mode))
        for name in TARGETS:
            if (value := rows.get((name, mode))) is not None:
                share = f"{100 * base / value:.0f}%" if base else "–"
                lines.append(f"| {mode} | {name} | {value:,.0f} | {share} |")
    lines.append("")
    lines.append(
        f"{args.requests} counted requests per target and mode, idle rate subtracted ({args.idle:g} s)."
    )
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "instructions.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
