"""The usage store writes each event's values by position: every value lands in its own column."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from headwater.storage.sql import usage as store
from headwater.storage.sql.tables import usage_events
from headwater.usage.events import UsageEvent


def test_each_value_of_an_event_goes_to_the_column_of_its_name() -> None:
    event = UsageEvent(
        ts=1_790_000_000.25,
        request_id="req-1",
        key_id="key-1",
        principal="user:ann",
        model="chat",
        deployment="chat/0",
        provider="openai",
        endpoint="chat",
        prompt_tokens=11,
        completion_tokens=22,
        cost=Decimal("0.000123"),
        currency="EUR",
        status="success",
        http_status=201,
        latency_ms=12.34567,
        ttft_ms=5.67891,
        streamed=True,
        estimated=False,
        event_id="ev-1",
        groups=("ml", "research"),
        cost_center="cc-7",
        policy="gold",
    )
    row = dict(zip(store._NAMES, store._row(event), strict=True))
    assert set(row) == {column.name for column in usage_events.c} - {"id"}
    assert row["ts"] == datetime.fromtimestamp(event.ts, UTC)
    expected = {
        "request_id": "req-1",
        "key_id": "key-1",
        "principal": "user:ann",
        "model": "chat",
        "deployment": "chat/0",
        "provider": "openai",
        "endpoint": "chat",
        "prompt_tokens": 11,
        "completion_tokens": 22,
        "currency": "EUR",
        "status": "success",
        "http_status": 201,
        "latency_ms": 12.346,
        "ttft_ms": 5.679,
        "streamed": True,
        "estimated": False,
        "event_id": "ev-1",
        "cost_center": "cc-7",
        "policy": "gold",
    }
    assert {name: row[name] for name in expected} == expected
    assert row["cost"] is not None and row["groups"] is not None and "research" in row["groups"]


def test_times_are_written_to_sqlite_as_sqlalchemy_writes_them() -> None:
    """Stored times are compared as text on SQLite: the writer's own conversion must give exactly
    SQLAlchemy's text, or a range query would miss or double-count events."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    sqlalchemy_text = usage_events.c.ts.type.dialect_impl(dialect).bind_processor(dialect)
    assert sqlalchemy_text is not None
    for ts in (
        0.0,
        1.0,
        1_790_000_000.25,
        1_790_000_000.000001,
        1_790_000_059.999999,
        253_402_300_799.0,
        -1.5,
    ):
        moment = datetime.fromtimestamp(ts, UTC)
        assert store.sqlite_utc_text(moment) == sqlalchemy_text(moment)
