"""The engine: one code path for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from headwater.storage.sql.tables import state


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, hide_parameters=True)


async def bump_revision(conn: AsyncConnection) -> None:
    """Call inside every transaction that changes what the gateway serves."""
    await conn.execute(update(state).where(state.c.id == 1).values(revision=state.c.revision + 1))


#: The PostgreSQL advisory lock every change holds until it commits (any 64-bit number, fixed).
CHANGE_LOCK = 0x4865_6164_7761_7465  # "Headwate"


async def lock_changes(conn: AsyncConnection) -> None:
    """Call first in a change's transaction: changes then run one at a time, and every read after
    this one sees what the previous change committed. PostgreSQL: a transaction-level advisory lock
    (nothing else takes it: readers, the usage writer and the gateway never wait on it). SQLite: the
    database's write lock, taken by a no-op update (SQLite has one writer at a time anyway)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(CHANGE_LOCK)))
    else:
        await conn.execute(update(state).where(state.c.id == 1).values(revision=state.c.revision))


async def current_revision(conn: AsyncConnection) -> int:
    value = (await conn.execute(select(state.c.revision).where(state.c.id == 1))).scalar_one_or_none()
    return int(value or 0)


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
