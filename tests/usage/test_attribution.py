"""Attribution frozen at call time: groups, cost center (one precedence rule) and the admitting policy.

Driven through the admin API and real calls with the OpenAI SDK; the events are read back through
``/api/v1/usage/events`` and the rollups from the database the server writes to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import func, select, text

from headwater.storage.sql import migrate, rollups
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import ROLLUPS, usage_events
from tests.support import Server, Sim, apply, create_key, database, doc, model_doc, wait_for
from tests.support import usage_events as events_of

pytestmark = pytest.mark.e2e


def policy(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "headwater/v1", "kind": "Policy", "metadata": {"name": name}, "spec": spec}


def web_tier(cost_center: str) -> dict[str, Any]:
    return policy(
        "web-tier", assets={"models": "all"}, targets={"groups": ["web"]}, costCenter=cost_center, priority=5
    )


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim) -> Iterator[Server]:
    apply(
        server,
        doc("Group", "ml", costCenter="CC-ML"),
        doc("Group", "web"),  # no cost center of its own
        doc("Group", "ops", costCenter="CC-OPS"),
        doc("User", "ada", groups=["ml", "web"], costCenter="CC-ADA"),  # her own wins
        doc("User", "bo", groups=["ops", "web"]),  # the group the policy targets: web has none → ops
        doc("User", "cy", groups=["ml", "ops"]),  # policy targets ops → CC-OPS (before ml by name)
        doc("User", "di", groups=["web"]),  # no group cost center → the policy's
        doc("User", "ed"),  # nothing anywhere → unassigned
        doc("ServiceAccount", "etl", group="ml", costCenter="CC-ETL"),
        doc("ServiceAccount", "bot", group="ml"),
        model_doc("attr-model", sim.url),
        policy(
            "web-tier", assets={"models": "all"}, targets={"groups": ["web"]}, costCenter="CC-WEB", priority=5
        ),
        policy("ops-tier", assets={"models": "all"}, targets={"groups": ["ops"]}, priority=10),
        policy("ml-tier", assets={"models": "all"}, targets={"groups": ["ml"]}, priority=1),
    )
    yield server


def _call(server: Server, owner: str) -> str:
    key = create_key(server, name="attr", owner=owner)
    client = openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0)
    response = client.chat.completions.with_raw_response.create(
        model="attr-model", messages=[{"role": "user", "content": "hello"}]
    )
    return response.headers["x-request-id"]


def _event(server: Server, request_id: str) -> dict[str, Any]:
    found = wait_for(lambda: [e for e in events_of(server) if e["request_id"] == request_id], timeout=10)
    assert len(found) == 1
    event: dict[str, Any] = found[0]
    return event


@pytest.mark.parametrize(
    ("owner", "groups", "cost_center", "tier"),
    [
        ("user:ada", ["ml", "web"], "CC-ADA", "web-tier"),
        ("user:bo", ["ops", "web"], "CC-OPS", "ops-tier"),
        ("user:cy", ["ml", "ops"], "CC-OPS", "ops-tier"),
        ("user:di", ["web"], "CC-WEB", "web-tier"),
        ("user:ed", [], None, None),
        ("serviceaccount:etl", ["ml"], "CC-ETL", "ml-tier"),
        ("serviceaccount:bot", ["ml"], "CC-ML", "ml-tier"),
        ("group:ops", ["ops"], "CC-OPS", "ops-tier"),
    ],
)
def test_precedence(
    world: Server, owner: str, groups: list[str], cost_center: str | None, tier: str | None
) -> None:
    """The caller's own cost center, then the targeted group's, then its other groups' by name, then
    the admitting policy's; none at all is recorded as none (reported as unassigned)."""
    event = _event(world, _call(world, owner))
    assert (event["groups"], event["cost_center"], event["policy"]) == (groups, cost_center, tier)


def test_membership_changes_do_not_rewrite_history(world: Server) -> None:
    apply(world, doc("User", "fay", groups=["ml"]))
    before = _call(world, "user:fay")
    first = _event(world, before)
    apply(world, doc("User", "fay", groups=["ops"], costCenter="CC-FAY"))
    after = _call(world, "user:fay")
    assert _event(world, before) == first  # the earlier call keeps what it was charged to
    assert (first["groups"], first["cost_center"], first["policy"]) == (["ml"], "CC-ML", "ml-tier")
    second = _event(world, after)
    assert (second["groups"], second["cost_center"], second["policy"]) == (["ops"], "CC-FAY", "ops-tier")


def test_policy_cost_center_change_applies_to_new_calls_only(world: Server) -> None:
    apply(world, doc("User", "gus", groups=["web"]))
    before = _event(world, _call(world, "user:gus"))
    apply(
        world,
        policy(
            "web-tier",
            assets={"models": "all"},
            targets={"groups": ["web"]},
            costCenter="CC-WEB2",
            priority=5,
        ),
    )
    after = _event(world, _call(world, "user:gus"))
    assert (before["cost_center"], after["cost_center"]) == ("CC-WEB", "CC-WEB2")


def test_cost_center_is_read_back_and_validated(world: Server) -> None:
    with world.admin() as admin:
        assert admin.get("/users/ada").json()["cost_center"] == "CC-ADA"
        assert admin.get("/service-accounts/etl").json()["cost_center"] == "CC-ETL"
        refused = admin.put("/users/ada", json={"groups": ["ml"], "cost_center": "x" * 129})
        assert refused.status_code == 422
        assert "cost_center" in refused.text


def test_rollups_equal_the_events(world: Server) -> None:
    """Whatever was called above: every rollup table sums to exactly the stored events."""

    async def check() -> None:
        engine = create_engine(world.database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(usage_events.c.cost, usage_events.c.prompt_tokens))).all()
                requests = len(rows)
                cost = sum((Decimal(str(row.cost)) for row in rows), Decimal(0))
                tokens = sum(row.prompt_tokens for row in rows)
                for table in ROLLUPS.values():
                    summed = (
                        await conn.execute(
                            select(
                                func.sum(table.c.requests),
                                func.sum(table.c.cost_units),
                                func.sum(table.c.prompt_tokens),
                            )
                        )
                    ).one()
                    assert int(summed[0]) == requests
                    assert Decimal(int(summed[1])).scaleb(-12) == cost
                    assert int(summed[2]) == tokens
        finally:
            await engine.dispose()

    wait_for(lambda: events_of(world), timeout=10)
    asyncio.run(check())


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_events_stored_before_the_ledger_are_kept_and_rolled_up(backend: str, tmp_path: Path) -> None:
    """Upgrading keeps old events: their new fields read as none, and the first start rolls them up."""
    with database(backend, tmp_path) as url:

        async def scenario() -> None:
            engine = create_engine(url)
            try:
                await migrate.upgrade(engine, "0005")
                async with engine.begin() as conn:
                    await conn.execute(
                        text(
                            "INSERT INTO usage_events (ts, request_id, key_id, principal, model, deployment,"
                            " provider, endpoint, prompt_tokens, completion_tokens, cost, currency, status,"
                            " http_status, latency_ms, ttft_ms, streamed, estimated) VALUES (:ts, 'r1', 'k1',"
                            " 'user:old', 'm', 'd', 'openai', 'chat', 10, 5, :cost, 'EUR', 'success', 200,"
                            " 12.5, NULL, false, false)"
                        ),
                        {"ts": datetime(2026, 3, 4, 5, 6, tzinfo=UTC), "cost": "0.000123"},
                    )
                await migrate.upgrade(engine)
                assert await rollups.backfill(engine) == 1
                assert await rollups.backfill(engine) == 0  # once
                async with engine.connect() as conn:
                    row = (await conn.execute(select(usage_events))).mappings().one()
                    assert (row["groups"], row["cost_center"], row["policy"], row["event_id"]) == (
                        None,
                        None,
                        None,
                        None,
                    )
                    monthly = (await conn.execute(select(ROLLUPS["month"]))).mappings().one()
                    assert (monthly["cost_center"], monthly["groups"], monthly["requests"]) == ("", "", 1)
                    assert Decimal(int(monthly["cost_units"])).scaleb(-12) == Decimal("0.000123")
                    assert monthly["bucket"] == datetime(2026, 3, 1, tzinfo=UTC)
            finally:
                await engine.dispose()

        asyncio.run(scenario())
