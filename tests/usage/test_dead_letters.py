"""Events a real database refuses become dead letters; every other event is still written.

Runs the real stores (``SqlUsageStore``, ``SqlLimitEventStore``, ``SqlDeadLetterStore``) behind the
real ``BatchWriter`` on a migrated database, on SQLite and on PostgreSQL. What each database refuses
differs: PostgreSQL's INTEGER stops at 2**31 - 1 and its text refuses NUL characters and strings
past a column's length; SQLite stores all of those but refuses an integer past 64 bits and a NaN
(which it turns into NULL) in a NOT NULL column.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.dead_letters import SqlDeadLetterStore
from headwater.storage.sql.limit_events import SqlLimitEventStore
from headwater.storage.sql.tables import dead_letters, limit_events, usage_events
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import LimitEvent, UsageEvent
from headwater.usage.writer import BatchWriter

GOOD = UsageEvent(
    ts=1_767_225_600.0, request_id="good", key_id="k", principal="user:a", model="m", deployment="m/0",
    provider="openai", endpoint="chat", prompt_tokens=10, completion_tokens=20, cost=Decimal("0.5"),
    currency="USD", status="success", http_status=200, latency_ms=12.5, ttft_ms=None, streamed=False,
    estimated=False,
)  # fmt: skip

#: request id -> the change that makes the event hostile
HOSTILE: dict[str, dict[str, Any]] = {
    "int32": {"prompt_tokens": 2**31},
    "int64": {"completion_tokens": 2**63},
    "nan": {"latency_ms": math.nan},
    "nul": {"model": "m\x00"},
    "long": {"model": "m" * 500},
    "year": {"ts": 1e20},
}
#: What each backend refuses (the others it stores as they are).
REFUSED = {
    "sqlite": {"int64", "nan", "year"},
    "postgresql": {"int32", "int64", "nul", "long", "year"},
}


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    async with engine.begin() as conn:
        for table in (usage_events, limit_events, dead_letters):
            await conn.execute(table.delete())
    await engine.dispose()


async def rows(engine: AsyncEngine, query: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def test_refused_usage_events_are_dead_letters_and_the_rest_arrive(engine: AsyncEngine) -> None:
    writer = BatchWriter(
        SqlUsageStore(engine), flush_interval_s=0.05, batch_size=100, dead_letters=SqlDeadLetterStore(engine)
    )
    writer.start()
    sent = []
    for n in range(40):
        sent.append(replace(GOOD, request_id=f"before-{n}"))
    for name, change in HOSTILE.items():
        sent.append(replace(GOOD, request_id=name, **change))
    for n in range(40):
        sent.append(replace(GOOD, request_id=f"after-{n}"))
    for event in sent:
        writer.emit(event)
    await writer.close(timeout_s=20)

    refused = REFUSED[engine.dialect.name]
    written = [row.request_id for row in await rows(engine, select(usage_events).order_by(usage_events.c.id))]
    assert written == [e.request_id for e in sent if e.request_id not in refused]
    letters = await rows(engine, select(dead_letters).order_by(dead_letters.c.id))
    assert {letter.payload["request_id"] for letter in letters} == refused
    assert {letter.kind for letter in letters} == {"usage"}
    assert writer.dead_lettered == len(refused) and writer.dropped == 0 and writer.pending == 0
    by_id = {letter.payload["request_id"]: letter for letter in letters}
    if "int32" in by_id:
        assert by_id["int32"].payload["prompt_tokens"] == 2147483648
        assert "2147483648" not in by_id["int32"].error  # the reason, not the value
    if "nan" in by_id:
        assert by_id["nan"].payload["latency_ms"] == "nan"
    assert by_id["int64"].payload["completion_tokens"] == "9223372036854775808"
    assert by_id["year"].payload["ts"] == 1e20
    for letter in letters:
        assert letter.error and "INSERT" not in letter.error and len(letter.error) <= 300


async def test_a_refused_limit_event_is_a_dead_letter_too(engine: AsyncEngine) -> None:
    store = SqlLimitEventStore(engine)
    writer = BatchWriter(
        store, flush_interval_s=0.05, name="limit events", dead_letters=SqlDeadLetterStore(engine)
    )
    base = LimitEvent(
        ts=1_767_225_600.0, request_id="x", key_id="k", principal="user:a", model="m", policy="p",
        limit="requests 10/1m", kind="rate", action="denied",
    )  # fmt: skip
    for n in range(5):
        writer.emit(replace(base, request_id=f"ok-{n}"))
    writer.emit(replace(base, request_id="far-future", ts=1e20))
    writer.emit(replace(base, request_id="ok-5"))
    await writer.close(timeout_s=20)
    written = [row.request_id for row in await rows(engine, select(limit_events).order_by(limit_events.c.id))]
    assert written == [f"ok-{n}" for n in range(6)]
    (letter,) = await rows(engine, select(dead_letters))
    assert letter.kind == "limit events" and letter.payload["request_id"] == "far-future"
    assert writer.dead_lettered == 1


async def test_an_unreachable_database_is_retried_never_dead_lettered() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing-listens-here")
    writer = BatchWriter(
        SqlUsageStore(engine), flush_interval_s=0.05, dead_letters=SqlDeadLetterStore(engine)
    )
    writer.emit(GOOD)
    await writer.close(timeout_s=0.3)
    assert writer.pending == 1 and writer.dead_lettered == 0 and writer.dropped == 0
    await engine.dispose()
