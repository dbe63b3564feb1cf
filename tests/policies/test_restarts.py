"""A restart never grants more than the limit (docs/policies.md, "Restarts").

Each call: the prompt ``[{"role": "user", "content": "hi"}]`` is 7 tokens, ``max_tokens: 5`` cuts the
simulator's reply (at least 8 words) to exactly 5, so a call counts 12 tokens and costs
(0.20 × 7 + 0.60 × 5) / 1e6 = 0.0000044 USD. tom may use 60 tokens a minute (5 calls), bud 0.000044
USD a day (10 calls). Both spend most of it, then Headwater (or Redis) loses its counters.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.limits.conftest import drop_keys
from tests.support import (
    REDIS_URL,
    Server,
    Sim,
    apply,
    create_key,
    database,
    doc,
    model_doc,
    redis_env,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e
BODY = {"model": "restart-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def midday_zone() -> str:
    """A fixed-offset zone where it is about noon now, so that no daily period ends during the test."""
    offset = max(-12, min(14, 12 - datetime.now(UTC).hour))
    return f"Etc/GMT{-offset:+d}"  # POSIX style: Etc/GMT-3 is UTC+3


def configure(server: Server, sim: Sim) -> dict[str, str]:
    apply(
        server,
        doc("User", "tom"),
        doc("User", "bud"),
        model_doc("restart-model", sim.url),
        doc("Policy", "per-minute", targets={"users": ["tom"]}, limits=[{"tokens": 60, "window": "1m"}]),
        doc(
            "Policy",
            "daily",
            targets={"users": ["bud"]},
            budget={"amount": "0.000044", "period": "daily", "timezone": midday_zone()},
        ),
    )
    return {user: create_key(server, owner=f"user:{user}")["key"] for user in ("tom", "bud")}


def calls(server: Server, key: str, count: int) -> list[int]:
    """``count`` calls one after the other: their statuses."""
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        return [client.post("/chat/completions", json=BODY).status_code for _ in range(count)]


def refusal(server: Server, key: str) -> str:
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        response = client.post("/chat/completions", json=BODY)
    assert response.status_code == 429
    code: str = response.json()["error"]["code"]
    return code


def spend_most(server: Server, keys: dict[str, str]) -> None:
    assert calls(server, keys["tom"], 4) == [200] * 4  # 48 of 60 tokens
    assert calls(server, keys["bud"], 8) == [200] * 8  # 0.0000352 of 0.000044 USD
    for user, count in (("tom", 4), ("bud", 8)):  # stored: what a restart rebuilds from
        wait_for(lambda user=user, count=count: len(usage_events(server, user=user)) == count)


def assert_only_the_rest_is_left(server: Server, keys: dict[str, str]) -> None:
    assert calls(server, keys["tom"], 1) == [200]  # 12 tokens left
    assert refusal(server, keys["tom"]) == "rate_limit_exceeded"
    assert calls(server, keys["bud"], 2) == [200, 200]  # 0.0000088 USD left
    assert refusal(server, keys["bud"]) == "insufficient_quota"


def test_a_restart_keeps_windows_and_budgets(database_url: str, sim: Sim) -> None:
    """The memory limiter: counters are rebuilt from the usage events before the server is ready."""
    server = start_server(database_url)
    try:
        keys = configure(server, sim)
        spend_most(server, keys)
    finally:
        stop(server.process)
    server = start_server(database_url)  # the same database
    try:
        assert_only_the_rest_is_left(server, keys)
        events = wait_for(lambda: (found := usage_events(server, user="bud")) and len(found) == 10 and found)
        assert {e["cost"] for e in events} == {"0.0000044"}
    finally:
        stop(server.process)


@pytest.mark.postgres
@pytest.mark.redis
def test_redis_losing_its_counters_keeps_windows_and_budgets(tmp_path: Path, sim: Sim) -> None:
    """Two workers on Redis: the keys under the prefix vanish while running, then while stopped."""
    shared = redis_env()
    prefix = shared["HEADWATER_REDIS_PREFIX"]
    with database("postgres", tmp_path) as url:
        server = start_server(url, workers=2, redis=shared)
        try:
            keys = configure(server, sim)
            spend_most(server, keys)
            asyncio.run(drop_keys(REDIS_URL, prefix))  # Redis flushed under a running Headwater
            assert_only_the_rest_is_left(server, keys)
        finally:
            stop(server.process)
        asyncio.run(drop_keys(REDIS_URL, prefix))  # and flushed again while Headwater is down
        server = start_server(url, workers=2, redis=shared)
        try:
            assert refusal(server, keys["tom"]) == "rate_limit_exceeded"
            assert refusal(server, keys["bud"]) == "insufficient_quota"
        finally:
            stop(server.process)
            asyncio.run(drop_keys(REDIS_URL, prefix))
