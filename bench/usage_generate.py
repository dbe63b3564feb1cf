"""A year of usage in PostgreSQL, with its rollups, written with COPY (issue 12, "scale").

    .venv/bin/python bench/usage_generate.py --events 10000000 --keys 10000 --keep

Creates a fresh database ``hw_usage_<random>`` on the server of ``--server`` (default
127.0.0.1:5432, trust authentication) unless ``--database-url`` names an existing empty one, runs
Headwater's migrations, writes the organisation of ``bench/usage_org.py`` (teams with cost centres,
users, service accounts, keys, models with their prices) and then ``--events`` usage events spread
over the ``--days`` whole days before today (UTC).

Events are made a day at a time, in time order, by ``--workers`` processes; each day's hourly and
daily rollup rows are computed with :func:`headwater.usage.rollup.fold` (the writer's own code) and
the monthly ones merged per month. Event ids are what a worker makes (a random prefix per day, then
a counter). Everything goes in by COPY, one transaction per day, as a bulk load is done: the
secondary indexes of the four tables are dropped first and built again at the end, from their own
definitions, and the load ends with ``VACUUM ANALYZE``. The database is dropped at the end unless
``--keep``. Prints a JSON summary (database URL, rows per table, seconds, events/s) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.org_generate import (
    DEFAULT_SERVER,
    create_database,
    drop_database,
    migrated,
    plain_url,
    sqlalchemy_url,
)
from bench.usage_org import GUILDS, MODELS, EventMaker, Org, Sizes, build_org, days_of

from headwater.storage.sql.rollups import dimensions
from headwater.storage.sql.tables import ROLLUPS
from headwater.usage.events import UsageEvent
from headwater.usage.rollup import BUCKETS, Grain, Measures, RollupKey, fold, groups_text

EVENT_COLUMNS = [
    "ts", "request_id", "key_id", "principal", "model", "deployment", "provider", "endpoint",
    "prompt_tokens", "completion_tokens", "cost", "currency", "status", "http_status", "latency_ms",
    "ttft_ms", "streamed", "estimated", "event_id", "groups", "cost_center", "policy",
]  # fmt: skip
MEASURE_COLUMNS = [
    "requests", "successes", "prompt_tokens", "completion_tokens", "cost_units", "latency_ms_sum",
    "ttft_count", "ttft_ms_sum", *(f"lat_{i:02d}" for i in range(BUCKETS)),
    *(f"ttft_{i:02d}" for i in range(BUCKETS)),
]  # fmt: skip
TABLES = {"hour": "usage_hourly", "day": "usage_daily", "month": "usage_monthly"}
LOADED = ("usage_events", *TABLES.values())


def event_record(e: UsageEvent) -> tuple[Any, ...]:
    """A row as SqlUsageStore writes it (costs at twelve decimals: the generated ones have fewer)."""
    return (
        datetime.fromtimestamp(e.ts, UTC), e.request_id, e.key_id, e.principal, e.model, e.deployment,
        e.provider, e.endpoint, e.prompt_tokens, e.completion_tokens, e.cost, e.currency, e.status,
        e.http_status, e.latency_ms, e.ttft_ms, e.streamed, e.estimated, e.event_id,
        groups_text(e.groups) or None, e.cost_center, e.policy,
    )  # fmt: skip


def rollup_records(grain: Grain, rows: dict[RollupKey, Measures]) -> list[tuple[Any, ...]]:
    names = dimensions(ROLLUPS[grain])
    records = []
    for key, m in rows.items():
        dims = tuple(getattr(key, name) for name in names)
        measures = (m.requests, m.successes, m.prompt_tokens, m.completion_tokens, Decimal(m.cost_units),
                    m.latency_ms_sum, m.ttft_count, m.ttft_ms_sum, *m.latency, *m.ttft)  # fmt: skip
        records.append(dims + measures)
    return records


def columns(grain: Grain) -> list[str]:
    return [*dimensions(ROLLUPS[grain]), *MEASURE_COLUMNS]


# ---- a worker process: one day at a time ---------------------------------------------------------
_worker: dict[str, Any] = {}


def _start_worker(org: Org, url: str, seed: int) -> None:
    loop = asyncio.new_event_loop()
    _worker.update(
        org=org, seed=seed, loop=loop, conn=loop.run_until_complete(asyncpg.connect(plain_url(url)))
    )


async def _copy_day(conn: asyncpg.Connection, events: list[UsageEvent]) -> dict[str, int]:
    records = {
        "usage_events": [event_record(e) for e in events],
        "usage_hourly": rollup_records("hour", fold(events, "hour")),
        "usage_daily": rollup_records("day", fold(events, "day")),
    }
    async with conn.transaction():
        await conn.copy_records_to_table(
            "usage_events", records=records["usage_events"], columns=EVENT_COLUMNS
        )
        for grain in ("hour", "day"):
            table = TABLES[grain]
            await conn.copy_records_to_table(table, records=records[table], columns=columns(grain))
    return {table: len(rows) for table, rows in records.items()}


def load_day(task: tuple[int, datetime, int]) -> tuple[dict[str, int], dict[RollupKey, Measures]]:
    """Makes and COPYs one day's events, hourly and daily rows; returns the counts and the day's
    monthly fold (merged per month by the parent)."""
    index, day, count = task
    maker = EventMaker(_worker["org"], random.Random(f"{_worker['seed']}:{index}"))
    events = maker.events(maker.times(day, count))
    counts = _worker["loop"].run_until_complete(_copy_day(_worker["conn"], events))
    return counts, fold(events, "month")


# ---- the parent --------------------------------------------------------------------------------
async def write_org(conn: asyncpg.Connection, org: Org, start: datetime) -> None:
    copy = conn.copy_records_to_table
    await copy(
        "groups",
        columns=["name", "description", "source", "cost_center", "created_at", "updated_at"],
        records=[(name, "", "local", center, start, start) for name, center in org.teams]
        + [(name, "", "local", None, start, start) for name in GUILDS],
    )
    await copy(
        "users",
        columns=["name", "email", "role", "status", "created_at", "updated_at"],
        records=[(name, f"{name}@example.com", "user", "active", start, start) for name in org.users],
    )
    await copy(
        "group_members",
        columns=["user_name", "group_name"],
        records=[(name, group) for name, (groups, _) in org.users.items() for group in groups],
    )
    accounts = sorted({(k.owner_name, k.groups[0]) for k in org.keys if k.owner_type == "serviceaccount"})
    await copy(
        "service_accounts",
        columns=["name", "group_name", "description", "status", "created_at", "updated_at", "admin_disabled"],
        records=[(name, group, "", "active", start, start, False) for name, group in accounts],
    )
    await copy(
        "models",
        columns=["name", "kind", "access", "description", "input_per_million", "output_per_million",
                 "currency", "status", "created_at", "updated_at"],
        records=[(m.name, "embedding" if m.endpoint == "embeddings" else "chat", "open", "",
                  m.input_per_million, m.output_per_million, m.currency, "active", start, start)
                 for m in MODELS],
    )  # fmt: skip
    await copy(
        "deployments",
        columns=["model_name", "position", "provider", "base_url", "upstream_model", "weight"],
        records=[(m.name, n, provider, "http://127.0.0.1:9/v1", m.name, 1)
                 for m in MODELS for n, (_, provider) in enumerate(m.deployments)],
    )  # fmt: skip
    await copy(
        "api_keys",
        columns=["id", "hash", "prefix", "name", "description", "owner_type", "owner_name", "status",
                 "created_by", "created_at", "updated_at"],
        records=[(k.id, k.hash, k.prefix, f"key-{n}", "", k.owner_type, k.owner_name, "active",
                  "admin:bootstrap", start, start) for n, k in enumerate(org.keys)],
    )  # fmt: skip


async def drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drops the loaded tables' indexes that back no constraint; their definitions, to build again."""
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = indexname) ORDER BY indexname",
        list(LOADED),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


def _merge(total: dict[RollupKey, Measures], part: dict[RollupKey, Measures]) -> None:
    for key, measures in part.items():
        found = total.get(key)
        if found is None:
            total[key] = measures
        else:
            found.merge(measures)


def _tasks(sizes: Sizes, end: datetime) -> Iterator[tuple[int, datetime, int]]:
    for index, (day, count) in enumerate(days_of(sizes, end)):
        yield index, day, count


async def load(
    conn: asyncpg.Connection, url: str, sizes: Sizes, org: Org, seed: int, end: datetime, workers: int
) -> dict[str, int]:
    counts = dict.fromkeys(LOADED, 0)
    month: dict[RollupKey, Measures] = {}

    async def flush_month() -> None:
        records = rollup_records("month", month)
        await conn.copy_records_to_table("usage_monthly", records=records, columns=columns("month"))
        counts["usage_monthly"] += len(records)
        month.clear()

    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(org, url, seed)
    ) as pool:
        results = pool.map(load_day, _tasks(sizes, end))  # in day order
        while (done := await loop.run_in_executor(None, next, results, None)) is not None:
            day_counts, day_month = done
            if month and day_month and next(iter(day_month)).bucket != next(iter(month)).bucket:
                await flush_month()
            _merge(month, day_month)
            for table, count in day_counts.items():
                counts[table] += count
    if month:
        await flush_month()
    return counts


@dataclass
class Generated:
    database_url: str
    sizes: Sizes
    workers: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    created_database: bool = False

    def summary(self) -> dict[str, Any]:
        copy_s = self.seconds.get("copy", 0.0)
        with_indexes = copy_s + self.seconds.get("indexes", 0.0)
        return {
            **asdict(self),
            "events_per_s_copy": round(self.sizes.events / copy_s) if copy_s else None,
            "events_per_s_with_indexes": round(self.sizes.events / with_indexes) if with_indexes else None,
            "total_s": round(sum(self.seconds.values()), 2),
        }


async def generate(
    sizes: Sizes,
    *,
    database_url: str | None = None,
    server: str = DEFAULT_SERVER,
    seed: int = 0,
    workers: int = 2,
) -> Generated:
    started = time.perf_counter()
    created = database_url is None
    url = (
        await create_database(server, prefix="hw_usage_")
        if database_url is None
        else sqlalchemy_url(database_url)
    )
    result = Generated(url, sizes, workers, created_database=created)
    try:
        await migrated(url)
        end = datetime.now(UTC)
        org = build_org(sizes, random.Random(seed))
        conn = await asyncpg.connect(plain_url(url))
        try:
            await write_org(conn, org, end - timedelta(days=sizes.days + 1))
            definitions = await drop_secondary_indexes(conn)
            result.seconds["create_migrate_org"] = round(time.perf_counter() - started, 2)
            mark = time.perf_counter()
            result.rows = await load(conn, url, sizes, org, seed, end, workers)
            result.seconds["copy"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            await conn.execute("SET maintenance_work_mem = '512MB'")
            for definition in definitions:
                await conn.execute(definition)
            result.seconds["indexes"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            await conn.execute("VACUUM ANALYZE")
            result.seconds["vacuum_analyze"] = round(time.perf_counter() - mark, 2)
        finally:
            await conn.close()
    except BaseException:
        if created:
            await drop_database(server, url)
        raise
    return result


SIZE_OPTIONS = ("events", "keys", "users", "teams", "cost_centers", "days")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    sizes = Sizes()
    for name in SIZE_OPTIONS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(sizes, name))
    parser.add_argument("--workers", type=int, default=2, help="processes making and copying days")
    parser.add_argument(
        "--database-url", help="an existing empty database (default: create hw_usage_<random>)"
    )
    parser.add_argument("--server", default=DEFAULT_SERVER, help="any database of the cluster to create in")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the database (default: drop it at the end)")
    args = parser.parse_args(argv)
    for name in (*SIZE_OPTIONS, "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.database_url and not args.keep:
        parser.error("--database-url names a database of yours: add --keep (it is never dropped)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = Sizes(*(getattr(args, name) for name in SIZE_OPTIONS))
    result = asyncio.run(
        generate(
            sizes, database_url=args.database_url, server=args.server, seed=args.seed, workers=args.workers
        )
    )
    if not args.keep:
        asyncio.run(drop_database(args.server, result.database_url))
    print(orjson.dumps(result.summary()).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
