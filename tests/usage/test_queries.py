"""The usage queries (summary, time series, top) through a real server, on SQLite and PostgreSQL.

Events are written into the server's database through the writer's own store (which writes the
rollups with them), with timestamps chosen so that a range reads all four sources: raw events at its
edges, the hourly, daily and monthly rollups between. Every answer is checked against the same sums
computed here from the events themselves. Tenancy is checked with real calls through the gateway,
made by users who come in through trusted headers.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.storage.sql.database import create_engine
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from headwater.usage.rollup import bucket_of, percentile, stored_cost
from tests.support import Server, Sim, apply, create_key, doc, model_doc, start_server, stop, wait_for

pytestmark = pytest.mark.e2e

PROVIDER = "ledger-test"  # the inserted events' provider: every query here filters on it
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DIMS = ["model", "user", "group", "serviceAccount", "key", "costCenter", "policy", "deployment"]


def _events(count: int = 400, seed: int = 12) -> list[UsageEvent]:
    """Events over the last 400 days (a quarter of them in the last three days, so that raw edges
    hold some), with every dimension varied, in two currencies."""
    rnd = random.Random(seed)
    events = []
    for i in range(count):
        if i % 4 == 0:
            when = NOW - timedelta(seconds=rnd.randrange(3 * 86400))
        else:
            when = NOW - timedelta(seconds=rnd.randrange(400 * 86400))
        principal = rnd.choice(["user:uma", "user:vic", "serviceaccount:etl", "group:ml"])
        events.append(
            UsageEvent(
                ts=when.timestamp() + rnd.randrange(1000) / 1000,
                request_id=f"q-{seed}-{i}",
                key_id=rnd.choice(["kq1", "kq2", "kq3", "oidc"]),
                principal=principal,
                model=rnd.choice(["qm-a", "qm-b"]),
                deployment=rnd.choice(["dep-1", "dep-2"]),
                provider=PROVIDER,
                endpoint="chat",
                prompt_tokens=rnd.randrange(2000),
                completion_tokens=rnd.randrange(800),
                cost=Decimal(rnd.randrange(10**9)) / Decimal(10**13),
                currency=rnd.choice(["USD", "EUR"]),
                status=rnd.choice(["success", "success", "error"]),
                http_status=200,
                latency_ms=rnd.randrange(1, 30_000_000) / 1000,
                ttft_ms=rnd.choice([None, rnd.randrange(1, 3_000_000) / 1000]),
                streamed=False,
                estimated=False,
                event_id=f"q{seed}x{i}",
                groups=tuple(sorted(rnd.sample(["ml", "web", "ops"], rnd.randrange(3)))),
                cost_center=rnd.choice([None, "CC-1", "CC-2"]),
                policy=rnd.choice([None, "tier-a"]),
            )
        )
    return events


EVENTS = _events()


def values(event: UsageEvent, dimension: str) -> list[str]:
    """The reference reading of a dimension (written out here, not taken from the product)."""
    if dimension == "user":
        return [event.principal[5:]] if event.principal.startswith("user:") else ["unassigned"]
    if dimension == "serviceAccount":
        prefix = "serviceaccount:"
        return [event.principal[len(prefix) :]] if event.principal.startswith(prefix) else ["unassigned"]
    if dimension == "group":
        return list(event.groups) or ["unassigned"]
    if dimension == "key":
        return [event.key_id] if event.key_id != "oidc" else ["unassigned"]
    if dimension == "costCenter":
        return [event.cost_center or "unassigned"]
    if dimension == "policy":
        return [event.policy or "unassigned"]
    return [getattr(event, dimension)]


def expected(events: list[UsageEvent], by: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for event in events:
        keys: list[tuple[str, ...]] = [()]
        for dimension in by:
            keys = [(*key, value) for key in keys for value in values(event, dimension)]
        for key in keys:
            row = rows.setdefault(key, {"requests": 0, "tokens": 0, "costs": defaultdict(Decimal), "lat": []})
            row["requests"] += 1
            row["tokens"] += event.prompt_tokens + event.completion_tokens
            row["costs"][event.currency] += stored_cost(event.cost)
            row["lat"].append(event.latency_ms)
    return rows


def costs(answer: dict[str, Any]) -> dict[str, Decimal]:
    return {cost["currency"]: Decimal(cost["amount"]) for cost in answer["costs"]}


def p95(latencies: list[float]) -> float | None:
    counts = [0] * 20
    for latency in latencies:
        counts[bucket_of(latency)] += 1
    found = percentile(counts, 0.95)
    return round(found, 3) if found is not None else None


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    server = start_server(database_url, extra_env=env)
    apply(
        server,
        doc("Group", "engineering"),
        doc("Group", "research", admins=["bob"]),
        doc("User", "alice", groups=["engineering"]),
        doc("User", "bob", groups=["research"]),
        doc("User", "carol", groups=["research"]),
        model_doc("tenant-model", sim.url),
    )

    async def insert() -> None:
        engine = create_engine(database_url)
        try:
            await SqlUsageStore(engine).write(EVENTS)
        finally:
            await engine.dispose()

    asyncio.run(insert())
    yield server
    stop(server.process)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def get(server: Server, path: str, **params: Any) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def in_answer(answer: dict[str, Any]) -> list[UsageEvent]:
    start = datetime.fromisoformat(answer["from"]).timestamp()
    end = datetime.fromisoformat(answer["to"]).timestamp()
    return [e for e in EVENTS if start <= e.ts < end]


MINUTES = 400 * 24 * 60


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ago=st.integers(0, MINUTES),
    length=st.integers(0, MINUTES),
    by=st.lists(st.sampled_from(DIMS), max_size=3, unique=True),
    where=st.sampled_from([{}, {"costCenter": "CC-1"}, {"group": "ml"}, {"policy": "unassigned"}]),
)
def test_a_summary_equals_the_sums_of_its_events(
    world: Server, ago: int, length: int, by: list[str], where: dict[str, str]
) -> None:
    start = NOW - timedelta(minutes=ago) + timedelta(seconds=17)
    end = min(start + timedelta(minutes=length), NOW + timedelta(hours=1))
    params = {"from": iso(start), "to": iso(end), "provider": PROVIDER, **where}
    answer = get(world, "/usage/summary", **params, by=",".join(by))
    kept_from = NOW - timedelta(days=89)
    if start >= kept_from:  # raw events kept: the range is answered exactly as asked
        assert (answer["from"], answer["to"]) == (iso(start), iso(end))
    events = [e for e in in_answer(answer) if all(v in values(e, k) for k, v in where.items())]
    rows = expected(events, by)
    total = expected(events, [])
    assert answer["totals"]["requests"] == len(events)
    assert answer["totals"]["total_tokens"] == (total[()]["tokens"] if events else 0)
    assert costs(answer["totals"]) == (dict(total[()]["costs"]) if events else {})
    assert answer["totals"]["latency_ms"]["p95"] == (p95(total[()]["lat"]) if events else None)
    got = {tuple(row["dimensions"][d] for d in by): row for row in answer["rows"]}
    assert set(got) == set(rows)
    for key, row in rows.items():
        assert (got[key]["requests"], got[key]["total_tokens"]) == (row["requests"], row["tokens"])
        assert costs(got[key]) == dict(row["costs"])
    requests = [row["requests"] for row in answer["rows"]]
    assert requests == sorted(requests, reverse=True)


def test_a_long_range_reads_every_source_and_groups_count_each_group(world: Server) -> None:
    """A year by group: each call in each of its groups; the totals count it once."""
    answer = get(world, "/usage/summary", range="1y", by="group", provider=PROVIDER)
    events = in_answer(answer)
    assert answer["totals"]["requests"] == len(events)
    by_group = Counter(group for e in events for group in (e.groups or ("unassigned",)))
    assert {row["dimensions"]["group"]: row["requests"] for row in answer["rows"]} == dict(by_group)
    assert sum(by_group.values()) > len(events)  # the rows add up to more than the totals


@pytest.mark.parametrize(("step", "days"), [("1d", 365), ("1h", 7), ("5m", 1)])
def test_a_time_series_has_every_step_and_sums_to_the_summary(world: Server, step: str, days: int) -> None:
    end = NOW + timedelta(minutes=7)
    start = end - timedelta(days=days)
    params = {"from": iso(start), "to": iso(end), "provider": PROVIDER}
    series = get(world, "/usage/timeseries", **params, step=step)
    summary = get(world, "/usage/summary", **params)
    assert series["step"] == step and len(series["series"]) == 1
    points = series["series"][0]["points"]
    width = {"1d": timedelta(days=1), "1h": timedelta(hours=1), "5m": timedelta(minutes=5)}[step]
    times = [datetime.fromisoformat(p["time"]) for p in points]
    assert times == [times[0] + i * width for i in range(len(times))]
    assert times[0] <= start < times[0] + width and times[-1] < end <= times[-1] + width
    assert sum(p["requests"] for p in points) == summary["totals"]["requests"]
    for currency, amount in costs(summary["totals"]).items():
        assert sum(costs(p).get(currency, Decimal(0)) for p in points) == amount
    for point in points:  # each point holds exactly the events of its step
        moment = datetime.fromisoformat(point["time"])
        inside = [
            e for e in EVENTS if max(moment, start).timestamp() <= e.ts < min(moment + width, end).timestamp()
        ]
        assert point["requests"] == len(inside)


def test_a_time_series_by_a_dimension_has_a_series_per_value(world: Server) -> None:
    answer = get(world, "/usage/timeseries", range="30d", by="model", provider=PROVIDER)
    assert answer["step"] == "1d"  # chosen for the range
    names = sorted(series["dimensions"]["model"] for series in answer["series"])
    assert names == ["qm-a", "qm-b"]
    events = in_answer(answer)
    for series in answer["series"]:
        wanted = sum(1 for e in events if e.model == series["dimensions"]["model"])
        assert sum(p["requests"] for p in series["points"]) == wanted
    assert get(world, "/usage/timeseries", range="1h")["step"] == "5m"
    assert get(world, "/usage/timeseries", range="7d")["step"] == "1h"


@pytest.mark.parametrize("metric", ["cost", "tokens", "requests"])
def test_top(world: Server, metric: str) -> None:
    answer = get(world, "/usage/top", dimension="key", metric=metric, limit=2, range="1y", provider=PROVIDER)
    events = in_answer(answer)
    if metric == "cost":
        by_currency = expected(events, [])[()]["costs"]
        assert answer["currency"] == max(by_currency, key=lambda c: by_currency[c])
        events = [e for e in events if e.currency == answer["currency"]]
    ranked: defaultdict[str, Decimal] = defaultdict(Decimal)
    for e in events:
        name = values(e, "key")[0]
        ranked[name] += {
            "cost": stored_cost(e.cost),
            "tokens": Decimal(e.prompt_tokens + e.completion_tokens),
            "requests": Decimal(1),
        }[metric]
    best = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))[:2]
    assert [(item["name"], Decimal(str(item["value"]))) for item in answer["items"]] == best
    other = "EUR" if answer["currency"] == "USD" else "USD"
    if metric == "cost":
        pinned = get(world, "/usage/top", dimension="key", metric="cost", currency=other, range="1y")
        assert pinned["currency"] == other


# ---- tenancy ------------------------------------------------------------------------------------
def as_user(world: Server, name: str, groups: str) -> httpx.Client:
    headers = {"X-Forwarded-User": name, "X-Forwarded-Groups": groups}
    return httpx.Client(base_url=f"{world.url}/api/v1", headers=headers, timeout=30)


def call(world: Server, owner: str, times: int) -> None:
    key = create_key(world, name="tenancy", owner=owner)
    client = openai.OpenAI(base_url=world.v1, api_key=key["key"], max_retries=0)
    for _ in range(times):
        client.chat.completions.create(model="tenant-model", messages=[{"role": "user", "content": "hi"}])


@pytest.fixture(scope="module")
def called(world: Server) -> Server:
    for owner, times in (("user:alice", 2), ("user:bob", 1), ("user:carol", 3)):
        call(world, owner, times)
    wait_for(
        lambda: get(world, "/usage/summary", model="tenant-model")["totals"]["requests"] == 6, timeout=15
    )
    return world


def users(answer: dict[str, Any]) -> dict[str, int]:
    return {row["dimensions"]["user"]: row["requests"] for row in answer["rows"]}


def test_a_user_sees_their_own_usage_only(called: Server) -> None:
    with as_user(called, "alice", "engineering") as alice:
        mine = alice.get("/usage/summary", params={"by": "user", "model": "tenant-model"}).json()
        assert users(mine) == {"alice": 2} and mine["totals"]["requests"] == 2
        everyone = alice.get("/usage/summary", params={"by": "user"}).json()
        assert users(everyone) == {"alice": 2}  # not the events inserted for other principals
        outside = alice.get("/usage/summary", params={"user": "carol"}).json()
        assert outside["totals"]["requests"] == 0 and outside["rows"] == []
        top = alice.get("/usage/top", params={"dimension": "user", "metric": "requests"}).json()
        assert [item["name"] for item in top["items"]] == ["alice"]
        series = alice.get("/usage/timeseries", params={"range": "1h", "user": "bob"}).json()
        assert sum(p["requests"] for p in series["series"][0]["points"]) == 0


def test_a_group_admin_sees_their_group(called: Server) -> None:
    with as_user(called, "bob", "research") as bob:
        answer = bob.get("/usage/summary", params={"by": "user", "range": "24h"}).json()
        assert users(answer) == {"carol": 3, "bob": 1}
        assert bob.get("/usage/summary", params={"user": "alice"}).json()["totals"]["requests"] == 0
    with as_user(called, "carol", "research") as carol:
        assert users(carol.get("/usage/summary", params={"by": "user"}).json()) == {"carol": 3}


def test_admins_see_everything(called: Server) -> None:
    answer = get(called, "/usage/summary", by="user", model="tenant-model")
    assert users(answer) == {"carol": 3, "alice": 2, "bob": 1}
