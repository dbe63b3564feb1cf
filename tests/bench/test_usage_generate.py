"""bench/usage_generate.py: a generated year of usage is one Headwater reads as if it had written it.

A small year goes into a fresh PostgreSQL database. Its rollups are exactly the ones Headwater's own
rebuild computes from the generated events; the indexes are the migrations' own; the data has the
shape the bench claims (two currencies, asymmetric prices, skewed keys, weekdays busier); and a real
`headwater serve` on it answers the usage API with totals that reconcile with the events.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from headwater.storage.sql import migrate, rollups
from headwater.storage.sql.database import create_engine
from tests.support import PG_ADMIN_URL, Server, postgres_database, start_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "usage_generate.py"
SIZES = {"events": 6000, "keys": 60, "users": 30, "teams": 6, "cost-centers": 4, "days": 70}
ROLLUP_TABLES = ("usage_hourly", "usage_daily", "usage_monthly")


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain(url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(fetch(url, sql, *args))


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[str, dict[str, Any]]]:
    with postgres_database() as url:
        argv = [sys.executable, str(GENERATOR), "--database-url", url, "--keep", "--server", PG_ADMIN_URL]
        for name, value in SIZES.items():
            argv += [f"--{name}", str(value)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        yield url, json.loads(done.stdout.splitlines()[-1])


DIMENSIONS = {"bucket", "key_id", "principal", "model", "deployment", "provider", "cost_center"}
DIMENSIONS |= {"policy", "groups", "currency"}


FLOATS = ("latency_ms_sum", "ttft_ms_sum")  # summed in another order by a rebuild: equal to rounding


def rollup_rows(url: str) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Each table's rows by their dimensions."""
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for table in ROLLUP_TABLES:
        rows = [dict(row) for row in query(url, f"SELECT * FROM {table}")]  # noqa: S608
        dims = [name for name in rows[0] if name in DIMENSIONS]
        found[table] = {tuple(row[name] for name in dims): row for row in rows}
    return found


def test_every_event_is_written_and_the_rollups_are_what_headwater_computes(
    generated: tuple[str, dict[str, Any]],
) -> None:
    url, summary = generated
    assert summary["rows"]["usage_events"] == SIZES["events"]
    assert query(url, "SELECT count(*) FROM usage_events")[0][0] == SIZES["events"]
    for table in ROLLUP_TABLES:
        assert query(url, f"SELECT sum(requests) FROM {table}")[0][0] == SIZES["events"]  # noqa: S608
    made = rollup_rows(url)
    # Headwater's own rebuild, from the first whole month of events on (the partly covered first
    # month cannot be rebuilt: its rollups may hold events no longer stored, as far as it knows).
    oldest = query(url, "SELECT min(ts) FROM usage_events")[0][0]
    since = (oldest.replace(day=1) + timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rebuilt_events = query(url, "SELECT count(*) FROM usage_events WHERE ts >= $1", since)[0][0]

    async def rebuild() -> int:
        engine = create_engine(url)
        try:
            return await rollups.rebuild(engine, since)
        finally:
            await engine.dispose()

    assert asyncio.run(rebuild()) == rebuilt_events > SIZES["events"] // 3
    rebuilt = rollup_rows(url)
    for table in ROLLUP_TABLES:
        assert rebuilt[table].keys() == made[table].keys()
        for dims, row in rebuilt[table].items():
            mine = made[table][dims]
            assert {k: v for k, v in row.items() if k not in FLOATS} == {
                k: v for k, v in mine.items() if k not in FLOATS
            }
            assert all(row[k] == pytest.approx(mine[k], rel=1e-12) for k in FLOATS)


def test_the_indexes_are_the_migrations_own(generated: tuple[str, dict[str, Any]]) -> None:
    url, _ = generated
    sql = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"
    with postgres_database() as fresh:

        async def migrated() -> None:
            engine = create_engine(fresh)
            try:
                await migrate.upgrade(engine)
            finally:
                await engine.dispose()

        asyncio.run(migrated())
        expected = [tuple(row) for row in query(fresh, sql)]
    assert [tuple(row) for row in query(url, sql)] == expected


def test_the_year_has_the_shape_the_bench_claims(generated: tuple[str, dict[str, Any]]) -> None:
    url, _ = generated
    events = query(
        url, "SELECT ts, key_id, model, prompt_tokens, completion_tokens, cost, currency FROM usage_events"
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert all(today - timedelta(days=SIZES["days"]) <= e["ts"] < today for e in events)
    assert {e["currency"] for e in events} == {"USD", "EUR"}
    prices = {row["name"]: row for row in query(url, "SELECT * FROM models")}
    assert any(p["input_per_million"] != p["output_per_million"] for p in prices.values())
    for e in events:  # each cost is the model's price, input and output apart
        price = prices[e["model"]]
        expected = (
            e["prompt_tokens"] * price["input_per_million"]
            + e["completion_tokens"] * price["output_per_million"]
        ) / 1_000_000
        assert e["cost"] == expected and e["currency"] == price["currency"]
    calls = sorted(Counter(e["key_id"] for e in events).values(), reverse=True)
    assert sum(calls[: len(calls) // 10]) > 0.4 * len(events)  # a tenth of the keys: most calls
    per_weekday = Counter(e["ts"].weekday() for e in events)
    assert min(per_weekday[d] for d in range(5)) > 2 * max(per_weekday[5], per_weekday[6])
    keys = {row[0] for row in query(url, "SELECT id FROM api_keys")}
    assert {e["key_id"] for e in events} <= keys


def test_a_running_headwater_reports_the_generated_year(generated: tuple[str, dict[str, Any]]) -> None:
    url, _ = generated
    server: Server = start_server(url, extra_env={"HEADWATER_USAGE_RETENTION_DAYS": "400"})
    try:
        with server.admin() as admin:
            summary = admin.get("/usage/summary", params={"range": "1y", "by": "costCenter"})
            assert summary.status_code == 200, summary.text
            listed = admin.get("/usage/events", params={"limit": 5}).json()["items"]
    finally:
        stop(server.process)
    body = summary.json()
    assert body["totals"]["requests"] == SIZES["events"] and len(listed) == 5
    sums = query(url, "SELECT currency, sum(cost) FROM usage_events GROUP BY currency")
    assert {c["currency"]: Decimal(c["amount"]) for c in body["totals"]["costs"]} == {
        row["currency"]: row["sum"] for row in sums
    }
    assert len({row["dimensions"]["costCenter"] for row in body["rows"]}) >= 3
