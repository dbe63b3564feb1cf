"""Usage queries at scale, through the admin API of a real Headwater (issue 12, "scale").

    .venv/bin/python bench/usage_generate.py --keep        # prints the database URL
    .venv/bin/python bench/usage_queries.py --database-url postgresql+asyncpg://.../hw_usage_...

Starts ``headwater serve`` (one worker) on a database made by ``bench/usage_generate.py``, with an
admin token and retention long enough that nothing is pruned during the run, and times, over HTTP
with ``--runs`` runs each (after ``--warmup`` unmeasured ones), the three questions of the issue:

* **summary**: ``GET /api/v1/usage/summary?range=1y&by=group`` (target p95 ≤ 200 ms);
* **timeseries**: ``GET /api/v1/usage/timeseries?range=30d&key=<the busiest key>`` (p95 ≤ 200 ms);
* **report**: ``GET /api/v1/usage/report?period=<last month>&by=costCenter`` (p95 ≤ 1 s);

and, with ``--direct``, the same three through the storage module in this process
(:func:`headwater.storage.sql.usage_queries.collect` and :mod:`headwater.usage.answers`), to tell the
database's share from the HTTP layer's. Prints a JSON summary (p50, p95, max in milliseconds,
whether each target is met) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port
from bench.org_generate import sqlalchemy_url

from headwater.storage.sql import usage_queries
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import ROLLUPS
from headwater.usage import answers
from headwater.usage.query import Query, Tally
from headwater.usage.ranges import period as period_range
from headwater.usage.ranges import resolve
from headwater.usage.report import report

TARGETS_MS = {"summary": 200.0, "timeseries": 200.0, "report": 1000.0}


def last_month(now: datetime) -> str:
    first = now.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


async def busiest_key(url: str, since: datetime) -> str:
    engine = create_engine(url)
    try:
        hourly = ROLLUPS["hour"]
        query = (
            select(hourly.c.key_id)
            .where(hourly.c.bucket >= since)
            .group_by(hourly.c.key_id)
            .order_by(func.sum(hourly.c.requests).desc())
            .limit(1)
        )
        async with engine.connect() as conn:
            return str((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def time_http(client: httpx.Client, path: str, params: dict[str, str], runs: int, warmup: int) -> list[float]:
    samples = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if n >= warmup:
            samples.append(elapsed)
    return samples


async def time_direct(run: Callable[[], Awaitable[Any]], runs: int, warmup: int) -> list[float]:
    samples = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        await run()
        if n >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def direct(
    url: str, questions: dict[str, tuple[str, dict[str, str]]], runs: int, warmup: int
) -> dict[str, Any]:
    """The same questions without HTTP: the storage module's query and the answer built from it."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    key = questions["timeseries"][1]["key"]
    period = questions["report"][1]["period"]
    summary_range = resolve(now, "1y", None, None, None)
    series_range = resolve(now, "30d", None, None, None)
    report_range = period_range(period)

    async def summary() -> Any:
        query = Query(*summary_range, by=("group",))
        tally = Tally(query)
        tally.add(await usage_queries.collect(engine, query))
        return answers.summary(query, tally)

    async def series() -> Any:
        query = Query(*series_range, filters={"key": key}, step="1d")
        tally = Tally(query)
        tally.add(await usage_queries.collect(engine, query))
        return answers.timeseries(query, tally)

    async def chargeback() -> Any:
        query = Query(*report_range, by=("costCenter",))
        tally = Tally(query)
        tally.add(await usage_queries.collect(engine, query))
        return report(query, tally, period)

    made: dict[str, Callable[[], Awaitable[Any]]] = {
        "summary": summary,
        "timeseries": series,
        "report": chargeback,
    }
    try:
        return {name: percentiles(await time_direct(run, runs, warmup)) for name, run in made.items()}
    finally:
        await engine.dispose()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"headwater serve exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s")


def serve(url: str, token: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HEADWATER_DATABASE_URL": url,
        "HEADWATER_ADMIN_TOKEN": token,
        "HEADWATER_LOG_LEVEL": "warning",
        # a year and a bit of raw events: nothing is pruned while the queries are timed
        "HEADWATER_USAGE_RETENTION_DAYS": "400",
        "HEADWATER_ROLLUP_RETENTION_DAYS": "800",
    }
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "headwater", "serve", "--port", str(port), "--workers", "1"]
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = sqlalchemy_url(args.database_url)
    now = datetime.now(UTC)
    key = asyncio.run(busiest_key(url, now - timedelta(days=30)))
    questions = {
        "summary": ("/usage/summary", {"range": "1y", "by": "group"}),
        "timeseries": ("/usage/timeseries", {"range": "30d", "key": key}),
        "report": ("/usage/report", {"period": last_month(now), "by": "costCenter"}),
    }
    token, port = "bench-" + secrets.token_hex(16), free_port()
    log = Path(tempfile.mkdtemp(prefix="hw-usage-queries-")) / "serve.log"
    process = serve(url, token, port, log)
    results: dict[str, Any] = {"database_url": url, "key": key, "questions": questions}
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers=headers, timeout=60) as client:
            http = {
                name: percentiles(time_http(client, path, params, args.runs, args.warmup))
                for name, (path, params) in questions.items()
            }
            shapes = {
                name: len(client.get(path, params=params).content)
                for name, (path, params) in questions.items()
            }
    finally:
        process.terminate()
        process.wait(timeout=30)
    results["http_ms"] = http
    results["response_bytes"] = shapes
    results["targets_met"] = {name: http[name]["p95"] <= TARGETS_MS[name] for name in TARGETS_MS}
    if args.direct:
        results["direct_ms"] = asyncio.run(direct(url, questions, args.runs, args.warmup))
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--database-url", required=True, help="a database made by bench/usage_generate.py")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--direct", action="store_true", help="also time the storage module without HTTP")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    print(orjson.dumps(run(parse(argv))).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
