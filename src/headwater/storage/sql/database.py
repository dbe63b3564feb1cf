"""The engine: one code path for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from headwater.storage.sql.tables import snapshot_changes, state

#: How many revisions of changes are kept for gateways to catch up with as deltas; one further
#: behind rebuilds its snapshot. Pruned every PRUNE_EVERY revisions.
CHANGES_KEPT = 10_000
PRUNE_EVERY = 100
#: The row of a revision that changed nothing a gateway serves.
NOTHING = ("-", "")
#: How long a SQLite connection waits for another's write lock.
SQLITE_BUSY_TIMEOUT_S = 30
#: How every SQLite connection is set up (the engine's, and those of sqlite_thread.py).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}",
    "PRAGMA foreign_keys=ON",
)


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, hide_parameters=True)


async def bump_revision(conn: AsyncConnection, targets: Iterable[tuple[str, str]] = ()) -> int:
    """Call inside every transaction that changes what the gateway serves, naming what it changed
    (audit targets: ``("key", id)``, ``("user", name)``, ...); the new revision. Gateways read the
    targets back (:func:`changes_since`) and reload only those."""
    revision = int(
        (
            await conn.execute(
                update(state)
                .where(state.c.id == 1)
                .values(revision=state.c.revision + 1)
                .returning(state.c.revision)
            )
        ).scalar_one()
    )
    changed = list(dict.fromkeys(targets)) or [NOTHING]
    rows = [{"revision": revision, "target_type": kind, "target_id": name} for kind, name in changed]
    await conn.execute(insert(snapshot_changes), rows)
    if revision % PRUNE_EVERY == 0:
        await conn.execute(
            delete(snapshot_changes).where(snapshot_changes.c.revision <= revision - CHANGES_KEPT)
        )
    return revision


async def changes_since(conn: AsyncConnection, revision: int) -> tuple[int, list[tuple[str, str]]] | None:
    """The current revision and the targets changed after ``revision``, or None when some revision
    in between is no longer known (pruned, or written without its changes): then rebuild."""
    current = await current_revision(conn)
    if current <= revision:
        return current, []
    if revision < 0 or current - revision > CHANGES_KEPT:
        return None
    query = select(snapshot_changes).where(snapshot_changes.c.revision > revision)
    rows = (await conn.execute(query.where(snapshot_changes.c.revision <= current))).all()
    if {row.revision for row in rows} != set(range(revision + 1, current + 1)):
        return None
    return current, [
        (row.target_type, row.target_id) for row in rows if (row.target_type, row.target_id) != NOTHING
    ]


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
