"""The snapshot's poll ("has the revision moved?") on each engine: it answers the same snapshot while
nothing changed, the change once one is committed through the engine, and recovers on its own when
the connection it keeps for polling is cut (PostgreSQL: the server ends the backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate
from headwater.storage.sql.database import bump_revision, create_engine
from headwater.storage.sql.snapshot_source import SqlSnapshotSource


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def change(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await bump_revision(conn, [("key", "k-poll")])


async def test_a_poll_answers_the_same_snapshot_until_a_change_is_committed(engine: AsyncEngine) -> None:
    source = SqlSnapshotSource(engine)
    try:
        current = await source.load()
        for _ in range(3):
            assert await source.update(current) is current
        await change(engine)
        newer = await source.update(current)
        assert newer.revision == current.revision + 1
        assert await source.update(newer) is newer
    finally:
        await source.close()


async def test_a_poll_whose_connection_was_cut_fails_once_then_reconnects(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to end a connection")
    source = SqlSnapshotSource(engine)
    try:
        current = await source.load()
        assert await source.update(current) is current  # the polling connection is open now
        async with engine.connect() as admin:
            ended = await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
                )
            )
            assert any(row[0] for row in ended)
        with pytest.raises(DBAPIError):  # the connection the poll kept is gone
            await source.update(current)
        await change(engine)
        newer = await source.update(current)  # a fresh connection
        assert newer.revision == current.revision + 1
    finally:
        await source.close()
