"""The usage store writes each event's values by position (every value lands in its own column), a
slice of the batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from headwater.storage.sql import migrate, refusals
from headwater.storage.sql import usage as store
from headwater.storage.sql.database import create_engine
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


def _event(n: int, tag: str) -> UsageEvent:
    return UsageEvent(
        ts=1_790_000_000.0 + n, request_id=f"r{n}", key_id="k", principal="user:a", model=f"m-{tag}",
        deployment="m/0", provider="openai", endpoint="chat", prompt_tokens=3, completion_tokens=4,
        cost=Decimal("0.000123"), currency="USD", status="success", http_status=200, latency_ms=1.5,
        ttft_ms=None, streamed=False, estimated=False, event_id=f"{tag}-{n}",
    )  # fmt: skip


async def test_a_batch_is_made_into_rows_a_slice_at_a_time_and_a_backlog_in_bigger_slices(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event loop gets a turn between slices of a usual batch (25 events each); a writer that
    fell behind (up to ten batches in one transaction) takes bigger slices, so that it catches up
    with a gateway whose every loop turn runs dozens of calls. Every event is stored either way."""
    sizes: list[int] = []
    made = refusals.rows_of

    def counted(events: Sequence[UsageEvent], row: Callable[[UsageEvent], Any]) -> list[Any]:
        sizes.append(len(events))
        return made(events, row)

    monkeypatch.setattr(store, "rows_of", counted)
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        tag = uuid.uuid4().hex[:8]
        usage = store.SqlUsageStore(engine)
        await usage.write([_event(n, tag) for n in range(100)])
        assert sizes == [store.SLICE] * 4
        sizes.clear()
        await usage.write([_event(n, tag) for n in range(100, 1100)])
        assert sizes == [250] * store.SLICES
        await usage.close()
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).where(usage_events.c.model == f"m-{tag}"))
        assert stored == 1100
    finally:
        await engine.dispose()
