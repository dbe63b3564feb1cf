"""What a worker's periodic tasks hold the event loop for, each measured alone in one process.

    .venv/bin/python bench/loop_micro.py [--polls 500] [--pg URL]

- ``poll``: the snapshot refresher's poll when nothing changed (``SqlSnapshotSource.update``, four
  times a second by default): loop-thread CPU and wall µs per poll, on a SQLite file and on
  PostgreSQL (a fresh migrated database ``hw_micro_<random>``, dropped at the end; skipped with
  ``--pg ''``). The event loop is uvloop's, as in ``headwater serve``;
- ``fold``: one slice of the metrics task's fold (``RequestMetrics.fold(SLICE)``, every second):
  how long it holds the loop, in µs, median of ``--folds`` slices of priced chat events.

Prints one JSON line. Not a test; figures for docs/benchmarks.md (issue 16).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import DEFAULT_SERVER, create_database, drop_database, migrated
from bench.usage_micro import USAGE, make_call

from headwater.request_metrics import SLICE, RequestMetrics
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.snapshot_source import SqlSnapshotSource
from headwater.usage.events import UsageEvent
from headwater.usage.fanout import FanOut


async def poll_cost(url: str, polls: int, *, fresh: bool) -> dict[str, float]:
    engine = create_engine(url)
    if fresh:
        await migrate.upgrade(engine)
    source = SqlSnapshotSource(engine)
    try:
        snapshot = await source.load()
        for _ in range(50):  # warm: statements compiled, connections open
            assert await source.update(snapshot) is snapshot
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(polls):
            await source.update(snapshot)
        return {
            "poll_loop_cpu_us": (time.thread_time() - cpu) / polls * 1e6,
            "poll_wall_us": (time.perf_counter() - wall) / polls * 1e6,
        }
    finally:
        if (close := getattr(source, "close", None)) is not None:  # an older checkout's has none
            await close()
        await engine.dispose()


def fold_cost(folds: int) -> float:
    metrics = RequestMetrics()
    sink: FanOut[UsageEvent] = FanOut(metrics.emit)
    call = make_call()
    for _ in range(SLICE * (folds + 1)):
        call.record(sink, status="success", http_status=200, usage=USAGE)
    metrics.fold(SLICE)  # the first fold creates the labelled series
    times = []
    for _ in range(folds):
        start = time.perf_counter()
        metrics.fold(SLICE)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"fold_slice": SLICE, "fold_slice_us": fold_cost(args.folds)}
    with tempfile.TemporaryDirectory(prefix="hw-loop-") as tmp:
        sqlite = await poll_cost(f"sqlite+aiosqlite:///{tmp}/headwater.db", args.polls, fresh=True)
    result.update({f"sqlite_{key}": value for key, value in sqlite.items()})
    if args.pg:
        url = await create_database(args.pg, prefix="hw_micro_")
        try:
            await migrated(url)
            postgres = await poll_cost(url, args.polls, fresh=False)
        finally:
            await drop_database(args.pg, url)
        result.update({f"postgres_{key}": value for key, value in postgres.items()})
    return {key: round(value, 1) if isinstance(value, float) else value for key, value in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--folds", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", DEFAULT_SERVER), help="'' to skip")
    args = parser.parse_args()
    print(json.dumps(uvloop.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
