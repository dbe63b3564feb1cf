"""The usage writer's throughput on PostgreSQL, rollups included (issue 12, "scale").

    .venv/bin/python bench/usage_writer.py --seconds 30

The production path, in one process as in a worker: :class:`headwater.usage.writer.BatchWriter`
over :class:`headwater.storage.sql.usage.SqlUsageStore` (each batch: the events, their hourly, daily
and monthly rollups and the keys' ``last_used_at``, in one transaction), with the batch size and
flush interval of the settings (``HEADWATER_USAGE_BATCH_SIZE``, default 100). A fresh database
``hw_usage_<random>`` gets the organisation of ``bench/usage_org.py`` (10,000 keys); the events its
keys make (Zipf-skewed, this hour) are made before the clock starts, then emitted as fast as the
writer takes them (the buffer kept at ``--backlog`` batches, never full: nothing is dropped).
After ``--warmup-s``, the events written during ``--seconds`` give the sustained rate. At the end
the stored events and the rollups' request counts are checked against what was written, and the
database is dropped (unless ``--keep``). Prints a JSON summary as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import DEFAULT_SERVER, create_database, drop_database, migrated, plain_url
from bench.usage_generate import write_org
from bench.usage_org import EventMaker, Sizes, build_org

from headwater.settings import Settings
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.dead_letters import SqlDeadLetterStore
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from headwater.usage.writer import BatchWriter


def make_events(count: int, keys: int, seed: int) -> list[UsageEvent]:
    """``count`` events of this hour, in time order (one worker's ids)."""
    org = build_org(Sizes(events=count, keys=keys), random.Random(seed))
    maker = EventMaker(org, random.Random(seed + 1))
    now = time.time()
    start = datetime.fromtimestamp(now - now % 3600, UTC)
    return maker.events(maker.times(start, count, span_s=3600.0))


async def feed(writer: BatchWriter[UsageEvent], events: list[UsageEvent], backlog: int, until: float) -> int:
    """Emits ``events`` as fast as the writer takes them, keeping ``backlog`` waiting; how many."""
    sent = 0
    while sent < len(events) and time.perf_counter() < until:
        room = backlog - writer.pending
        if room > 0:
            for event in events[sent : sent + room]:
                writer.emit(event)
            sent = min(sent + room, len(events))
        await asyncio.sleep(0.001)
    return sent


async def measure(url: str, args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    events = make_events(args.events, args.keys, args.seed)
    conn = await asyncpg.connect(plain_url(url))
    try:
        await write_org(conn, build_org(Sizes(keys=args.keys), random.Random(args.seed)), datetime.now(UTC))
    finally:
        await conn.close()
    engine = create_engine(url)
    batch = args.batch_size or settings.usage_batch_size
    writer = BatchWriter(
        SqlUsageStore(engine),
        flush_interval_s=settings.usage_flush_interval_s,
        batch_size=batch,
        buffer_limit=settings.usage_buffer_limit,
        dead_letters=SqlDeadLetterStore(engine),
    )
    writer.start()
    started = time.perf_counter()
    until = started + args.warmup_s + args.seconds
    feeding = asyncio.create_task(feed(writer, events, args.backlog * batch, until))
    await asyncio.sleep(args.warmup_s)
    written_at_start, cpu_at_start, mark = writer.written, time.process_time(), time.perf_counter()
    sent = await feeding
    elapsed = time.perf_counter() - mark
    written = writer.written - written_at_start
    cpu = time.process_time() - cpu_at_start
    await writer.close()
    try:
        async with engine.connect() as check:
            stored = (await check.execute(select(func.count()).select_from(usage_events))).scalar_one()
            rolled = [
                (await check.execute(select(func.coalesce(func.sum(table.c.requests), 0)))).scalar_one()
                for table in ROLLUPS.values()
            ]
    finally:
        await engine.dispose()
    if stored != sent or any(int(n) != sent for n in rolled) or writer.dropped or writer.dead_lettered:
        raise SystemExit(
            f"check failed: sent {sent}, stored {stored}, rollups {rolled}, dropped {writer.dropped}"
        )
    if sent == len(events) and time.perf_counter() < until:
        print(f"warning: all {sent} events written before the end: raise --events", file=sys.stderr)
    return {
        "batch_size": batch,
        "seconds": round(elapsed, 2),
        "events_written": written,
        "events_per_s": round(written / elapsed),
        "batches_per_s": round(written / batch / elapsed, 1),
        "process_cpu_share": round(cpu / elapsed, 2),
        "events_stored": int(stored),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the rate is measured")
    parser.add_argument("--warmup-s", type=float, default=3.0)
    parser.add_argument(
        "--events", type=int, default=600_000, help="events made beforehand (enough for the run)"
    )
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=0, help="default: HEADWATER_USAGE_BATCH_SIZE's")
    parser.add_argument("--backlog", type=int, default=20, help="batches kept waiting in the buffer")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="any database of the cluster to create in")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await create_database(args.server, prefix="hw_usage_writer_")
    try:
        await migrated(url)
        result = await measure(url, args, Settings())
    finally:
        if not args.keep:
            await drop_database(args.server, url)
    return {"database_url": url, **result}


def main(argv: list[str] | None = None) -> int:
    print(orjson.dumps(asyncio.run(run(parse(argv)))).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
