"""What one call's usage accounting costs on the event loop, and how long the usage flush stalls it.

    .venv/bin/python bench/usage_micro.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/usage_micro.py --backend sqlite --seconds 4

The stack is the one :class:`headwater.main.Headwater` builds: ``Call.record`` into a
:class:`~headwater.usage.fanout.FanOut` of the :class:`~headwater.usage.writer.BatchWriter` (with its
:class:`~headwater.usage.journal.Journal` of :data:`USAGE_CODEC`, over
:class:`~headwater.storage.sql.usage.SqlUsageStore` and the dead-letter store) and the
:class:`~headwater.request_metrics.RequestMetrics` sink, with the settings' batch size and flush
interval. SQLite lives in a temporary directory; PostgreSQL (``--pg``, default ``BENCH_PG`` or
``postgresql://postgres@127.0.0.1:5432/test``) gets a fresh migrated database ``hw_micro_<random>``,
dropped at the end. The event loop is uvloop's, as in ``headwater serve``.

Four figures per backend, each a real measurement:

- ``record_us``: wall and loop-thread CPU µs per ``Call.record`` (the event made, priced, journaled,
  buffered and handed to the metrics sink), timed over blocks of 100 calls with nothing flushing in
  between (median block);
- ``stall_*``: while calls are recorded at ``--rate`` per second (a burst every millisecond) and the
  writer flushes as it does in production, a ticker task sleeps 0.1 ms at a time and records how much
  later than asked it woke up: the longest and the 99th-percentile gap are the loop's stalls;
- ``flush_loop_cpu_ms`` and ``flush_wall_ms``: 100-event batches written straight through the store
  with nothing else running, loop-thread CPU and wall time per batch (the database's own work is in
  the wall time: aiosqlite's or the SQLite batch thread's, or PostgreSQL's);
- ``cpu_us_per_event``: in a second run of the same load without the ticker, process CPU (all
  threads: aiosqlite's included) and loop-thread CPU divided by the events written, so the flush's
  and the metrics fold's shares are in it (PostgreSQL's own work is another process's and is not).

At the end every event must be stored once and the hourly rollups must count each once; the run
fails otherwise. Prints one JSON line per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import DEFAULT_SERVER, create_database, drop_database, migrated

from headwater.clock import monotonic
from headwater.gateway.accounting import Call
from headwater.request_metrics import RequestMetrics
from headwater.settings import Settings
from headwater.snapshot import DeploymentView, KeyView, ModelView, Pricing
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.dead_letters import SqlDeadLetterStore
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from headwater.usage.fanout import FanOut
from headwater.usage.journal import Journal
from headwater.usage.journal_codec import USAGE_CODEC
from headwater.usage.journal_files import journal_directory
from headwater.usage.writer import BatchWriter

BLOCK = 100
TICK_S = 0.0001


def make_call() -> Call:
    """An admitted call as the gateway has it for the bench's priced chat model."""
    deployment = DeploymentView(
        id="bench-chat-0",
        provider="openai",
        base_url="http://127.0.0.1:1/v1",
        upstream_model="gpt-bench",
        credential=None,
        timeout_s=None,
        weight=1,
    )
    model = ModelView(
        name="bench-chat",
        kind="chat",
        access="public",
        status="active",
        pricing=Pricing(Decimal("0.15"), Decimal("0.60"), "USD"),
        deployments=(deployment,),
        created=0,
    )
    key = KeyView(
        id="k1bench00000001",
        hash="",
        name="bench",
        owner=None,
        models=None,
        status="active",
        expires_at=None,
    )
    return Call(
        request_id="req-bench",
        key=key,
        model=model,
        endpoint="chat",
        payload={"model": "bench-chat", "messages": [{"role": "user", "content": "hi"}]},
        started=monotonic(),
        streamed=False,
        deployment=deployment,
    )


USAGE = {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}


class Stack:
    """The usage sinks of one process, as the composition root wires them."""

    def __init__(self, engine: AsyncEngine, journal_root: Path, url: str) -> None:
        settings = Settings()
        self.journal = Journal(journal_directory(journal_root, url), USAGE_CODEC)
        self.store = SqlUsageStore(engine)
        self.writer = BatchWriter(
            self.store,
            flush_interval_s=settings.usage_flush_interval_s,
            batch_size=settings.usage_batch_size,
            buffer_limit=settings.usage_buffer_limit,
            dead_letters=SqlDeadLetterStore(engine),
            journal=self.journal,
        )
        self.metrics = RequestMetrics()
        self.sink: FanOut[UsageEvent] = FanOut(self.writer.emit, self.metrics.emit)

    def record(self, call: Call) -> None:
        call.record(self.sink, status="success", http_status=200, usage=USAGE)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def settle(stack: Stack) -> None:
    """Wait until the writer's own task has written every event recorded so far."""
    while stack.writer.written < stack.journal.count:
        await asyncio.sleep(0.001)


async def record_cost(stack: Stack, call: Call, blocks: int) -> dict[str, float]:
    """Median wall and loop-thread CPU µs per record over blocks of BLOCK calls."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(blocks):
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(BLOCK):
            stack.record(call)
        walls.append((time.perf_counter() - wall) / BLOCK * 1e6)
        cpus.append((time.thread_time() - cpu) / BLOCK * 1e6)
        stack.metrics.fold()  # as the metrics task does, outside the timed block
        await settle(stack)  # the writer's task writes the block, outside the timed block
    return {"record_wall_us": statistics.median(walls), "record_cpu_us": statistics.median(cpus)}


async def load(stack: Stack, call: Call, rate: int, seconds: float) -> int:
    """Records ``rate`` calls a second (a burst every millisecond) for ``seconds``, then waits until
    the writer has written them all; how many."""
    begin = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - begin < seconds:
        due = int((now - begin) * rate)
        while sent < due:
            stack.record(call)
            sent += 1
        await asyncio.sleep(0.001)
    await settle(stack)  # a batch in flight is no longer pending: wait for it to be written
    return sent


async def stalls(stack: Stack, call: Call, rate: int, seconds: float) -> dict[str, float]:
    """The loop's stalls under load: a ticker asks for 0.1 ms sleeps and records the time between
    its wake-ups (uvloop runs a timer under 1 ms at its next iteration: each gap is one loop pass)."""
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    sent = await load(stack, call, rate, seconds)
    running = False
    await task
    ms = [gap * 1000.0 for gap in gaps]
    return {
        "events": sent,
        "stall_max_ms": max(ms),
        "stall_p99_ms": percentile(ms, 0.99),
        "stall_p999_ms": percentile(ms, 0.999),
        "gaps_over_1ms": sum(1 for gap in ms if gap > 1.0),
    }


async def cpu_per_event(stack: Stack, call: Call, rate: int, seconds: float) -> dict[str, float]:
    """CPU per event, flush and metrics fold included, in a run of the same load without the
    ticker (whose spinning would be counted)."""
    written = stack.writer.written
    cpu, loop_cpu = time.process_time(), time.thread_time()
    sent = await load(stack, call, rate, seconds)
    stack.metrics.fold()
    cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
    count = stack.writer.written - written
    assert count == sent, (count, sent)
    return {
        "cpu_events": sent,
        "cpu_us_per_event": cpu / count * 1e6,
        "loop_cpu_us_per_event": loop_cpu / count * 1e6,
    }


async def flush_cost(engine: AsyncEngine, call: Call, batches: int) -> dict[str, float]:
    """Loop-thread CPU and wall ms per 100-event batch written straight through the store, with
    nothing else running (median of three runs of ``batches`` batches)."""
    store = SqlUsageStore(engine)
    events: list[UsageEvent] = []
    sink: FanOut[UsageEvent] = FanOut(events.append)
    for _ in range(BLOCK * batches * 3):
        call.record(sink, status="success", http_status=200, usage=USAGE)
    cpus: list[float] = []
    walls: list[float] = []
    try:
        for run in range(3):
            part = events[run * BLOCK * batches : (run + 1) * BLOCK * batches]
            wall, cpu = time.perf_counter(), time.thread_time()
            for start in range(0, len(part), BLOCK):
                await store.write(part[start : start + BLOCK])
            cpus.append((time.thread_time() - cpu) / batches * 1e3)
            walls.append((time.perf_counter() - wall) / batches * 1e3)
    finally:
        if (close := getattr(store, "close", None)) is not None:  # the store of an older checkout has none
            await close()
    return {"flush_loop_cpu_ms": statistics.median(cpus), "flush_wall_ms": statistics.median(walls)}


async def check(engine: AsyncEngine, expected: int) -> None:
    """Every event stored once, every one counted once in the hourly rollups."""
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(usage_events))).scalar_one()
        distinct = (await conn.execute(select(func.count(usage_events.c.event_id.distinct())))).scalar_one()
        counted = (await conn.execute(select(func.sum(ROLLUPS["hour"].c.requests)))).scalar()
    if not stored == distinct == int(counted or 0) == expected:
        raise SystemExit(f"mismatch: {stored} stored, {distinct} ids, {counted} in rollups, {expected} sent")


async def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hw-micro-") as tmp:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/headwater.db"
            engine = create_engine(url)
            await migrate.upgrade(engine)
        else:
            url = await create_database(args.pg, prefix="hw_micro_")
            await migrated(url)
            engine = create_engine(url)
        try:
            stack = Stack(engine, Path(tmp) / "journal", url)
            stack.writer.start()
            call = make_call()
            for _ in range(3):  # warm up: statements compiled and prepared, pages mapped
                stack.record(call)
            await settle(stack)
            result: dict[str, Any] = {"backend": backend}
            result.update(await record_cost(stack, call, args.blocks))
            result.update(await stalls(stack, call, args.rate, args.seconds))
            result.update(await cpu_per_event(stack, call, args.rate, args.seconds))
            await stack.writer.close()
            if (close := getattr(stack.store, "close", None)) is not None:
                await close()
            result.update(await flush_cost(engine, call, args.batches))
            written = 3 + args.blocks * BLOCK + result["events"] + result["cpu_events"]
            await check(engine, written + BLOCK * args.batches * 3)
            return {
                key: round(value, 2) if isinstance(value, float) else value for key, value in result.items()
            }
        finally:
            await engine.dispose()
            if backend != "sqlite":
                await drop_database(args.pg, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the stall run")
    parser.add_argument("--rate", type=int, default=2000, help="calls per second in the stall run")
    parser.add_argument("--blocks", type=int, default=200, help="blocks of 100 calls timed")
    parser.add_argument("--batches", type=int, default=100, help="100-event batches written per flush run")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", DEFAULT_SERVER))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        print(json.dumps(uvloop.run(run(backend, args))), flush=True)


if __name__ == "__main__":
    main()
