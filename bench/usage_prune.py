"""Retention on a generated year (issue 12): one pruning pass, timed, with the event loop watched.

    .venv/bin/python bench/usage_generate.py --keep        # prints the database URL
    .venv/bin/python bench/usage_prune.py --database-url postgresql+asyncpg://.../hw_usage_...

Runs :class:`headwater.storage.sql.retention.SqlRetention` as ``headwater serve`` does (batches of
5,000 rows, a 50 ms pause between them) with ``--usage-days`` and ``--rollup-days``, while a task
sleeping 10 ms at a time records how late it wakes (the longest stall a serving worker would see).
**Destructive**: it deletes what is past retention in that database. Prints a JSON summary (rows
deleted per table, batches, seconds, rows/s, the loop's p99 and longest stall) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import sqlalchemy_url

from headwater.storage.sql.database import create_engine
from headwater.storage.sql.retention import SqlRetention


async def watch(stop: asyncio.Event, stalls: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - started - 0.01)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(sqlalchemy_url(args.database_url))
    stop, stalls = asyncio.Event(), [0.0]
    watcher = asyncio.create_task(watch(stop, stalls))
    try:
        retention = SqlRetention(engine, usage_days=args.usage_days, rollup_days=args.rollup_days)
        pruned = await retention.prune()
    finally:
        stop.set()
        await watcher
        await engine.dispose()
    return {
        "usage_days": args.usage_days,
        "rollup_days": args.rollup_days,
        "rows": {str(table): count for table, count in pruned.rows.items()},
        "batches": pruned.batches,
        "seconds": round(pruned.seconds, 1),
        "rows_per_s": round(pruned.total / pruned.seconds) if pruned.seconds else None,
        "loop_stall_p99_ms": round(sorted(stalls)[int(0.99 * (len(stalls) - 1))] * 1000, 1),
        "longest_loop_stall_ms": round(max(stalls) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--database-url", required=True, help="a database made by bench/usage_generate.py")
    parser.add_argument("--usage-days", type=int, default=90)
    parser.add_argument("--rollup-days", type=int, default=180)
    print(orjson.dumps(asyncio.run(run(parser.parse_args(argv)))).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
