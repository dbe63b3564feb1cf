"""Stored Responses API responses: one contract battery over the memory store and the SQL store
(SQLite and PostgreSQL), then what only the database does: compression at rest, and expired rows
deleted by the retention pass (only those, in batches, counted with the other tables).

Time is a fake clock shared by the store and the retention pass; the SQL stores run on a database
migrated to head, as in production.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.gateway.response_store import (
    MemoryResponseStore,
    NoResponseStore,
    ResponseStore,
    StoredResponse,
)
from headwater.settings import Settings
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.retention import SqlRetention
from headwater.storage.sql.stored_responses import SqlResponseStore, build_response_store
from headwater.storage.sql.tables import stored_responses
from tests.support import database

DAY = 86_400.0
TTL = 3 * DAY
MAX_BYTES = 4096
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.t = START

    def epoch(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def record(rid: str, owner: str = "user:alice", *, text: str = "Hello there", n: int = 1) -> StoredResponse:
    return StoredResponse(
        id=rid,
        owner=owner,
        model="chat-small",
        created_at=int(START),
        input_items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
            for _ in range(n)
        ],
        response={
            "id": rid,
            "object": "response",
            "created_at": int(START),
            "model": "chat-small",
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi é ✓"}],
                }
            ],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        },
    )


@dataclass
class Subject:
    store: ResponseStore
    clock: Clock
    engine: AsyncEngine | None


@pytest.fixture
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(sql_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(sql_url)
    await migrate.upgrade(made)
    try:
        yield made
    finally:
        await made.dispose()


SQL = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=["memory", *SQL])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "memory":
        yield None
        return
    with database(request.param, tmp_path) as url:  # made outside the test's event loop
        yield url


@pytest.fixture
async def subject(backend_url: str | None) -> AsyncIterator[Subject]:
    clock = Clock()
    if backend_url is None:
        yield Subject(MemoryResponseStore(ttl_s=TTL, max_bytes=MAX_BYTES, now=clock.epoch), clock, None)
        return
    made = create_engine(backend_url)
    try:
        await migrate.upgrade(made)
        yield Subject(SqlResponseStore(made, ttl_s=TTL, max_bytes=MAX_BYTES, now=clock.utc), clock, made)
    finally:
        await made.dispose()


# ---- the contract, on every store -------------------------------------------------------------------
async def test_a_saved_response_loads_back_whole_for_its_owner(subject: Subject) -> None:
    saved = record("resp_round", n=3)
    await subject.store.save(saved)
    loaded = await subject.store.load("user:alice", "resp_round")
    assert loaded is not None and loaded == saved
    assert loaded.response["output"][0]["content"][0]["text"] == "Hi é ✓"

    loaded.input_items.clear()  # a copy: the stored one is untouched
    again = await subject.store.load("user:alice", "resp_round")
    assert again is not None and len(again.input_items) == 3


async def test_another_principal_finds_nothing_and_cannot_delete_it(subject: Subject) -> None:
    await subject.store.save(record("resp_mine", "user:alice"))
    for stranger in ("user:bob", "serviceaccount:alice", "user:Alice", ""):
        assert await subject.store.load(stranger, "resp_mine") is None
        assert await subject.store.delete(stranger, "resp_mine") is False
    assert await subject.store.load("user:alice", "resp_mine") is not None  # still there for its owner


async def test_missing_and_unreasonable_ids_are_simply_not_found(subject: Subject) -> None:
    await subject.store.save(record("resp_1"))
    for rid in ("resp_2", "", "resp_1 ", "x" * 5000, "resp_1' OR '1'='1"):
        assert await subject.store.load("user:alice", rid) is None
        assert await subject.store.delete("user:alice", rid) is False


async def test_an_expired_response_is_gone_for_its_owner_too(subject: Subject) -> None:
    await subject.store.save(record("resp_old"))
    subject.clock.t += TTL - 1
    assert await subject.store.load("user:alice", "resp_old") is not None
    await subject.store.save(record("resp_new"))  # saved a day later: expires a day later
    subject.clock.t += 1
    assert await subject.store.load("user:alice", "resp_old") is None
    assert await subject.store.delete("user:alice", "resp_old") is False
    assert await subject.store.load("user:alice", "resp_new") is not None


async def test_the_owner_deletes_it_once(subject: Subject) -> None:
    await subject.store.save(record("resp_a"))
    await subject.store.save(record("resp_b"))
    assert await subject.store.delete("user:alice", "resp_a") is True
    assert await subject.store.load("user:alice", "resp_a") is None
    assert await subject.store.delete("user:alice", "resp_a") is False
    assert await subject.store.load("user:alice", "resp_b") is not None  # only that one


async def test_an_id_already_stored_is_never_taken_over(subject: Subject) -> None:
    await subject.store.save(record("resp_dup", "user:alice", text="first"))
    await subject.store.save(record("resp_dup", "user:mallory", text="second"))
    assert await subject.store.load("user:mallory", "resp_dup") is None
    kept = await subject.store.load("user:alice", "resp_dup")
    assert kept is not None and kept.input_items[0]["content"][0]["text"] == "first"


async def test_a_record_over_the_size_limit_is_not_stored_and_logged_without_its_text(
    subject: Subject, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "TOP-SECRET-PROMPT-" * 300  # ~5 KiB: over the 4 KiB limit
    with caplog.at_level(logging.WARNING):
        await subject.store.save(record("resp_big", text=secret))
        await subject.store.save(record("resp_small", text="TOP-SECRET-PROMPT"))
    assert await subject.store.load("user:alice", "resp_big") is None
    assert await subject.store.load("user:alice", "resp_small") is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "resp_big" in warnings[0]
    assert "TOP-SECRET" not in caplog.text


# ---- what only one kind does --------------------------------------------------------------------------
async def test_the_memory_store_keeps_at_most_its_count_dropping_the_oldest() -> None:
    store = MemoryResponseStore(ttl_s=TTL, max_records=3)
    for i in range(5):
        await store.save(record(f"resp_{i}"))
    assert len(store) == 3
    found = [await store.load("user:alice", f"resp_{i}") is not None for i in range(5)]
    assert found == [False, False, True, True, True]


async def test_the_memory_store_forgets_expired_records_as_it_saves() -> None:
    clock = Clock()
    store = MemoryResponseStore(ttl_s=TTL, now=clock.epoch)
    await store.save(record("resp_1"))
    await store.save(record("resp_2"))
    clock.t += TTL
    await store.save(record("resp_3"))
    assert len(store) == 1


@pytest.mark.parametrize("sql_url", SQL, indirect=True)
async def test_bodies_are_compressed_at_rest(engine: AsyncEngine) -> None:
    clock = Clock()
    store = SqlResponseStore(engine, ttl_s=TTL, now=clock.utc)
    saved = record("resp_zip", text="the same words again " * 200)
    await store.save(saved)
    async with engine.connect() as conn:
        row = (await conn.execute(select(stored_responses).where(stored_responses.c.id == "resp_zip"))).one()
    assert b"the same words" not in bytes(row.body) and len(row.body) < 1000  # 4 KiB of text, compressed
    assert row.owner == "user:alice" and row.model == "chat-small"
    assert row.created_at == datetime.fromtimestamp(START, UTC)
    assert (row.expires_at - row.created_at).total_seconds() == TTL
    assert await store.load("user:alice", "resp_zip") == saved


@pytest.mark.parametrize("sql_url", SQL, indirect=True)
async def test_saves_waiting_together_are_committed_together_each_returning_once_written(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlResponseStore(engine, ttl_s=TTL)
    transactions = 0

    class Counted:
        def begin(self) -> Any:
            nonlocal transactions
            transactions += 1
            return engine.begin()

        def connect(self) -> Any:
            return engine.connect()

    monkeypatch.setattr(store, "_engine", Counted())
    await asyncio.gather(*(store.save(record(f"resp_many_{i}", owner=f"user:u{i % 3}")) for i in range(300)))
    # every save returned only once its row was committed: all are readable at once
    for i in range(300):
        assert await store.load(f"user:u{i % 3}", f"resp_many_{i}") is not None
    assert transactions <= 3  # 300 rows in batches of at most 256, not 300 transactions


@pytest.mark.parametrize("sql_url", ["sqlite"], indirect=True)
async def test_a_failed_transaction_fails_every_save_waiting_on_it(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlResponseStore(engine, ttl_s=TTL)

    class Broken:
        def begin(self) -> Any:
            raise ConnectionError("database gone")

    monkeypatch.setattr(store, "_engine", Broken())
    saves = (store.save(record(f"resp_lost_{i}")) for i in range(5))
    results = await asyncio.gather(*saves, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    monkeypatch.undo()
    await store.save(record("resp_after"))  # the writer recovers once the database is back
    assert await store.load("user:alice", "resp_after") is not None


@pytest.mark.parametrize("sql_url", SQL, indirect=True)
async def test_large_records_round_trip(engine: AsyncEngine) -> None:
    store = SqlResponseStore(engine, ttl_s=TTL)  # the default limit, 16 MiB
    saved = record("resp_large", text="".join(f"{i:08x}" for i in range(40_000)), n=3)  # ~1 MiB of JSON
    await store.save(saved)
    assert await store.load("user:alice", "resp_large") == saved


@pytest.mark.parametrize("sql_url", SQL, indirect=True)
async def test_retention_deletes_expired_responses_only_in_batches(engine: AsyncEngine) -> None:
    clock = Clock()
    store = SqlResponseStore(engine, ttl_s=TTL, now=clock.utc)
    for i in range(5):
        await store.save(record(f"resp_old_{i}", owner=f"user:u{i}"))
    clock.t += DAY
    await store.save(record("resp_new"))
    clock.t += TTL - 1  # the first five expired a day ago; resp_new has a second left: not pruned

    pruned = await SqlRetention(
        engine, usage_days=1, rollup_days=1, batch_size=2, pause_s=0, now=clock.utc
    ).prune()
    assert pruned.rows["stored_responses"] == 5
    assert pruned.batches == 5 + 3  # one per (empty) events and rollups table, three for five responses
    async with engine.connect() as conn:
        left = (await conn.execute(select(stored_responses.c.id))).scalars().all()
        assert left == ["resp_new"]
    assert await store.load("user:alice", "resp_new") is not None

    again = await SqlRetention(engine, usage_days=1, rollup_days=1, pause_s=0, now=clock.utc).prune()
    assert again.rows["stored_responses"] == 0
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(stored_responses)) == 1


# ---- the factory and the setting ----------------------------------------------------------------------
@pytest.mark.parametrize("sql_url", ["sqlite"], indirect=True)
async def test_the_factory_follows_the_days_setting(engine: AsyncEngine) -> None:
    off = build_response_store(engine, days=0)
    assert isinstance(off, NoResponseStore)
    await off.save(record("resp_off"))
    assert await off.load("user:alice", "resp_off") is None
    assert await off.delete("user:alice", "resp_off") is False
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(stored_responses)) == 0

    kept = build_response_store(engine, days=7)
    await kept.save(record("resp_on"))
    async with engine.connect() as conn:
        expires = await conn.scalar(select(stored_responses.c.expires_at))
    assert expires is not None and 6.99 < (expires - datetime.now(UTC)).total_seconds() / DAY <= 7
    assert await kept.load("user:alice", "resp_on") is not None

    memory = build_response_store(None, days=1)
    await memory.save(record("resp_mem"))
    assert isinstance(memory, MemoryResponseStore) and await memory.load("user:alice", "resp_mem") is not None
    with pytest.raises(ValueError):
        build_response_store(engine, days=-1)


def test_the_setting_defaults_to_30_days_and_refuses_negative_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADWATER_RESPONSE_STORE_DAYS", raising=False)
    assert Settings().response_store_days == 30
    monkeypatch.setenv("HEADWATER_RESPONSE_STORE_DAYS", "0")
    assert Settings().response_store_days == 0
    monkeypatch.setenv("HEADWATER_RESPONSE_STORE_DAYS", "-1")
    with pytest.raises(ValidationError, match="response_store_days"):
        Settings()
