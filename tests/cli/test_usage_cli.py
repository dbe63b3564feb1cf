"""`headwater usage summary | timeseries | top | report | rebuild` against a real server and database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import delete, func, select

from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import ROLLUPS, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from tests.support import Server, Sim, apply, cli, create_key, doc, model_doc, wait_for
from tests.support import usage_events as events_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim) -> Iterator[Server]:
    apply(
        server,
        doc("Group", "sales", costCenter="CC-SALES"),
        doc("User", "sid", groups=["sales"]),
        doc("User", "ola"),
        model_doc("cli-model", sim.url, pricing={"input_per_million": "1.5", "output_per_million": "4.25"}),
    )
    for owner, times in (("user:sid", 3), ("user:ola", 1)):
        key = create_key(server, name="cli", owner=owner)
        client = openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0)
        for _ in range(times):
            client.chat.completions.create(model="cli-model", messages=[{"role": "user", "content": "hi"}])
    wait_for(lambda: len(events_of(server, model="cli-model")) == 4, timeout=15)
    yield server


def run(world: Server, *args: str) -> Any:
    done = cli("usage", *args, env=world.cli_env())
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def as_json(world: Server, *args: str) -> Any:
    return json.loads(run(world, *args, "--json").stdout)


def test_summary(world: Server) -> None:
    answer = as_json(world, "summary", "--by", "user,costCenter", "--model", "cli-model")
    rows = {(r["dimensions"]["user"], r["dimensions"]["costCenter"]): r["requests"] for r in answer["rows"]}
    assert rows == {("sid", "CC-SALES"): 3, ("ola", "unassigned"): 1}
    shown = run(world, "summary", "--by", "user", "--model", "cli-model", "--range", "1h").stdout
    assert "sid" in shown and "ola" in shown and "USD" in shown and "total" in shown
    only = as_json(world, "summary", "--cost-center", "CC-SALES", "--model", "cli-model")
    assert only["totals"]["requests"] == 3


def test_timeseries_and_top(world: Server) -> None:
    series = as_json(world, "timeseries", "--range", "1h", "--step", "5m", "--model", "cli-model")
    assert series["step"] == "5m" and len(series["series"][0]["points"]) in (12, 13)
    assert sum(p["requests"] for p in series["series"][0]["points"]) == 4
    assert "Time" in run(world, "timeseries", "--range", "24h", "--by", "user").stdout
    top = as_json(world, "top", "--dimension", "user", "--metric", "requests", "--model", "cli-model")
    assert [(item["name"], item["value"]) for item in top["items"]] == [("sid", 3), ("ola", 1)]
    assert "sid" in run(world, "top", "--dimension", "user", "--metric", "cost").stdout


def test_report_in_every_format(world: Server, tmp_path: Path) -> None:
    month = datetime.now(UTC).strftime("%Y-%m")
    answer = as_json(world, "report", "--period", month, "--by", "costCenter", "--format", "json")
    wanted = sum(Decimal(e["cost"]) for e in events_of(world) if e["time"].startswith(month))
    assert sum(Decimal(t["cost"]) for t in answer["totals"]) == wanted
    target = tmp_path / "chargeback.csv"
    out = run(
        world, "report", "--period", month, "--by", "costCenter,model", "--format", "csv", "-o", str(target)
    )
    assert "wrote" in out.stdout
    lines = list(csv.DictReader(io.StringIO(target.read_text())))
    assert {"costCenter", "model", "cost", "currency"} <= set(lines[0])
    assert sum(Decimal(line["cost"]) for line in lines) == wanted
    saved = tmp_path / "report.json"
    run(world, "report", "--period", month, "--format", "json", "-o", str(saved))
    assert json.loads(saved.read_text())["totals"] == answer["totals"]
    table = run(world, "report", "--period", month).stdout
    assert "CC-SALES" in table and "totals" in table
    refused = cli("usage", "report", "--period", month, "-o", str(target), env=world.cli_env())
    assert refused.returncode == 1 and "--format csv" in refused.stderr
    bad = cli("usage", "report", "--period", "2026-13", env=world.cli_env())
    assert bad.returncode == 1 and "period" in bad.stderr and "Traceback" not in bad.stderr


def _event(when: datetime) -> UsageEvent:
    return UsageEvent(
        ts=when.timestamp(),
        request_id=f"at-{when:%Y%m%d}",
        key_id="kold",
        principal="user:sid",
        model="cli-model",
        deployment="d",
        provider="openai",
        endpoint="chat",
        prompt_tokens=10,
        completion_tokens=5,
        cost=Decimal("0.000123"),
        currency="USD",
        status="success",
        http_status=200,
        latency_ms=12.0,
        ttft_ms=None,
        streamed=False,
        estimated=False,
        event_id=f"cli-{when:%Y%m%d}",
    )


def test_rebuild(world: Server) -> None:
    env = {"HEADWATER_DATABASE_URL": world.database_url}
    this_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    old = this_month - timedelta(days=45)

    async def counts() -> tuple[int, int]:
        engine = create_engine(world.database_url)
        try:
            async with engine.connect() as conn:
                since = usage_events.c.ts >= this_month
                events = (await conn.execute(select(func.count()).where(since))).scalar_one()
                hourly = ROLLUPS["hour"]
                summed = select(func.sum(hourly.c.requests)).where(hourly.c.bucket >= this_month)
                rolled = (await conn.execute(summed)).scalar_one()
                return int(events), int(rolled or 0)
        finally:
            await engine.dispose()

    async def write(*events: UsageEvent) -> None:
        engine = create_engine(world.database_url)
        try:
            await SqlUsageStore(engine).write(events)
        finally:
            await engine.dispose()

    async def prune_old_events() -> None:  # as retention would: the rollups stay
        engine = create_engine(world.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(delete(usage_events).where(usage_events.c.ts < this_month))
        finally:
            await engine.dispose()

    asyncio.run(write(_event(this_month)))  # the oldest event: rebuilding from its month loses nothing
    events, rolled = asyncio.run(counts())
    done = cli("usage", "rebuild", "--from", this_month.strftime("%Y-%m-%d"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{events} events folded" in done.stdout
    assert asyncio.run(counts()) == (events, rolled) == (events, events)
    asyncio.run(write(_event(old)))
    asyncio.run(prune_old_events())
    refused = cli("usage", "rebuild", "--from", old.isoformat(), env=env)
    assert refused.returncode == 1, refused.stdout
    assert "no longer stored" in refused.stderr and "Traceback" not in refused.stderr
    bad = cli("usage", "rebuild", "--from", "yesterday", env=env)
    assert bad.returncode == 1 and "--from" in bad.stderr
