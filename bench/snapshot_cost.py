"""What a change costs a worker's snapshot at organisation scale, measured in one process.

Generates the organisation (``bench/org_generate.py``) in PostgreSQL, builds the snapshot in full
(time, and the longest stretch the event loop was held, sampled by a task sleeping 1 ms), settles
the garbage collector as ``headwater serve`` does once ready, then makes
``--changes`` key changes (creations, and revocations of the keys created) the way the unit of work
does at the storage level (the row and ``bump_revision`` with its target, one transaction each) and
brings the snapshot up to date after each: the time of each update, the longest loop stall, and the
process's RSS before and after (memory must stay flat); last, a full rebuild in the running worker.
Not a test; figures for docs/benchmarks.md.

    .venv/bin/python bench/snapshot_cost.py [--keys 100000 ...] [--changes 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import DEFAULT_SERVER, Sizes, drop_database, generate

from headwater.clock import utcnow
from headwater.keys.secret import new_key
from headwater.serving.garbage import settle_garbage_collector
from headwater.snapshot_delta import apply
from headwater.storage.sql import snapshot_source
from headwater.storage.sql.database import bump_revision, create_engine
from headwater.storage.sql.snapshot_source import SqlSnapshotSource
from headwater.storage.sql.tables import api_keys


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class Pauses:
    """The longest garbage collection (a loop stall the snapshot's code does not cause)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)


class Stalls:
    """The longest time the loop was held, sampled by a task that sleeps 1 ms."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, time.perf_counter() - began - 0.001)

    def start(self) -> None:
        self.longest = 0.0
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.longest


APPLIED: list[float] = []


def timed_apply(*args: Any) -> Any:
    """The delta applied (the part of an update that holds the loop: the rest awaits the database)."""
    began = time.perf_counter()
    try:
        return apply(*args)
    finally:
        APPLIED.append(time.perf_counter() - began)


async def run(sizes: Sizes, changes: int) -> None:
    snapshot_source.apply = timed_apply  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as scratch:
        generated = await generate(sizes, "http://127.0.0.1:9/v1", Path(scratch) / "keys.jsonl")
    engine = create_engine(generated.database_url)
    source = SqlSnapshotSource(engine)
    try:
        stalls = Stalls()
        base = rss_mib()
        stalls.start()
        began = time.perf_counter()
        snapshot = await source.load()
        built, held = time.perf_counter() - began, await stalls.stop()
        print(
            f"full build: {built:.2f} s, longest loop stall {1000 * held:.1f} ms, keys {len(snapshot.keys)}"
        )
        print(f"RSS: {base:.0f} MiB before the build, {rss_mib():.0f} MiB with the snapshot")
        settle_garbage_collector()  # as headwater serve does once it is ready
        before = rss_mib()
        gc_pause = Pauses()
        gc.callbacks.append(gc_pause)
        times: list[float] = []
        created: list[str] = []
        stalls.start()
        for number in range(changes):
            async with engine.begin() as conn:
                if number % 2 == 0 or not created:
                    made = new_key()
                    now = utcnow()
                    row = {"id": made.id, "hash": made.hash, "prefix": made.prefix, "name": f"c{number}"}
                    await conn.execute(
                        insert(api_keys).values(
                            **row, status="active", created_by="bench", created_at=now, updated_at=now
                        )
                    )
                    created.append(made.id)
                    target = made.id
                else:
                    target = created.pop(0)
                    values = {"status": "revoked", "revoked_at": utcnow(), "updated_at": utcnow()}
                    await conn.execute(update(api_keys).where(api_keys.c.id == target).values(**values))
                await bump_revision(conn, [("key", target)])
            began = time.perf_counter()
            snapshot = await source.update(snapshot)
            times.append(time.perf_counter() - began)
        held = await stalls.stop()
        after = rss_mib()
        times.sort()
        print(
            f"{changes} changes: update p50 {1000 * statistics.median(times):.2f} ms, "
            f"p99 {1000 * times[int(0.99 * (len(times) - 1))]:.2f} ms, max {1000 * times[-1]:.2f} ms; "
            f"longest loop stall {1000 * held:.1f} ms "
            f"(garbage collections: longest {1000 * gc_pause.longest:.1f} ms); "
            f"deltas {source.deltas}, full builds {source.full_builds}"
        )
        APPLIED.sort()
        print(
            f"applying a delta: p50 {1e6 * statistics.median(APPLIED):.0f} us, "
            f"p99 {1e6 * APPLIED[int(0.99 * (len(APPLIED) - 1))]:.0f} us, max {1e6 * APPLIED[-1]:.0f} us"
        )
        change = 100 * (after - before) / before
        print(f"RSS across the changes: {before:.0f} -> {after:.0f} MiB ({change:+.1f} %)")
        stalls.start()
        began = time.perf_counter()
        await source.load()
        built, held = time.perf_counter() - began, await stalls.stop()
        print(f"full rebuild while serving: {built:.2f} s, longest loop stall {1000 * held:.1f} ms")
    finally:
        await source.close()
        await engine.dispose()
        await drop_database(DEFAULT_SERVER, generated.database_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("keys", 100_000), ("users", 20_000), ("groups", 2_000), ("policies", 1_000)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--changes", type=int, default=10_000)
    args = parser.parse_args()
    sizes = Sizes(args.keys, args.users, args.groups, args.policies, args.models, sample=10)
    asyncio.run(run(sizes, args.changes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
