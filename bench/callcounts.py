"""Python calls per request in ``headwater serve``: exact counts, whatever else the machine does.

Runs ``headwater serve`` (an owner-less key, the upstream nginx of ``make bench``) under cProfile
(``BENCH_CPROFILE`` of bench/ablation/sitecustomize.py) twice: once for ``--requests`` sequential
requests, once for twice as many. The difference between the two runs' call counts is what
``--requests`` requests cost, start-up and shut-down cancelled out. Prints the functions (Python ones
and the built-ins they call) by calls per request, and who calls the ones named with ``--callers``.
Counts, not time: cProfile's own cost per call would swamp the timings.

    .venv/bin/python bench/callcounts.py [--mode non-stream|stream] [--requests 2000] [--top 60]
        [--callers "builtins.getattr" ...]
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import HEADWATER, HOST, MODES, Failed, Processes
from instructions import requests
from targets import start_headwater
from upstream import start_nginx

Key = tuple[str, int, str]


def profiled_run(directory: Path, mode: str, count: int) -> dict[Key, Any]:
    """cProfile's stats of one ``headwater serve`` that answered ``count`` requests."""
    stats = directory / f"calls-{count}.prof"
    procs = Processes(directory / f"run-{count}")
    procs.directory.mkdir()
    os.environ["BENCH_CPROFILE"] = str(stats)
    try:
        _, port = start_nginx(procs)
        headwater = start_headwater(procs, f"http://{HOST}:{port}", names=[HEADWATER])
        requests(headwater.targets[HEADWATER], mode, count)
        # SIGINT: after a SIGTERM uvicorn re-raises it once shut down, which ends the process
        # before its atexit handlers (cProfile's dump) run
        headwater.entry.process.send_signal(signal.SIGINT)
        headwater.entry.process.wait(60)
    finally:
        procs.stop_all()
    if not stats.exists():
        raise Failed(f"headwater serve wrote no profile to {stats}")
    return pstats.Stats(str(stats)).stats  # type: ignore[attr-defined,no-any-return]


def name(key: Key) -> str:
    path, line, function = key
    path = path.split("site-packages/")[-1].split("/src/")[-1]
    return f"{path}:{line}({function})" if path != "~" else function


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--mode", choices=MODES, default="non-stream")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument(
        "--callers", nargs="*", default=[], help="substrings of functions whose callers to show"
    )
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parent / "ablation"), os.environ.get("PYTHONPATH")])
    )
    directory = Path(tempfile.mkdtemp(prefix="headwater-calls-"))
    try:
        fewer = profiled_run(directory, args.mode, args.requests)
        more = profiled_run(directory, args.mode, 2 * args.requests)
    except Failed as exc:
        print(f"!!! failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    per_request = {key: (value[1] - fewer.get(key, (0, 0))[1]) / args.requests for key, value in more.items()}
    ranked = sorted(per_request.items(), key=lambda item: -item[1])
    print(f"{args.mode}: {sum(per_request.values()):.1f} calls per request (Python functions and built-ins)")
    for key, calls in ranked[: args.top]:
        print(f"{calls:8.2f}  {name(key)}")
    for wanted in args.callers:
        for key, value in more.items():
            if wanted not in name(key):
                continue
            before = fewer.get(key, (0, 0, 0, 0, {}))[4]
            callers = {
                caller: (counts[1] - before.get(caller, (0, 0))[1]) / args.requests
                for caller, counts in value[4].items()
            }
            print(f"callers of {name(key)}:")
            for caller, calls in sorted(callers.items(), key=lambda item: -item[1])[:12]:
                if calls > 0:
                    print(f"{calls:8.2f}  {name(caller)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
