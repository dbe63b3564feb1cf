"""The snapshot poll's question, "which revision is stored now?", as cheaply as the engine allows.

Every worker asks it every ``HEADWATER_SNAPSHOT_POLL_INTERVAL_S`` (0.25 s), and almost always the
answer is the revision it already serves. Through the engine's pool it cost ~0.9 ms of event-loop
CPU on SQLite (eight aiosqlite hand-offs) and ~1.1 ms on PostgreSQL (a pool checkout and its ping, a
transaction), four times a second (``bench/loop_micro.py``). Here:

- a SQLite file: one hand-off to :class:`~headwater.storage.sql.sqlite_thread.SqliteThread`;
- anything else (PostgreSQL, an in-memory SQLite): one statement in autocommit on a connection
  kept for polling; after a failure it is dropped and the next poll takes a fresh one.

A change is committed with its revision in one transaction, and revisions only grow: a revision
equal to the snapshot's means nothing was committed since.
"""

from __future__ import annotations

import contextlib
import sqlite3

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.storage.sql.sqlite_thread import SqliteThread

_REVISION = "SELECT revision FROM state WHERE id = 1"


def _stored(connection: sqlite3.Connection) -> int:
    row = connection.execute(_REVISION).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


class RevisionPoll:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite = SqliteThread.of(engine)
        self._polling: AsyncConnection | None = None

    async def stored(self) -> int:
        """The revision stored now."""
        if self._sqlite is not None:
            return await self._sqlite.read(_stored)
        conn = self._polling
        if conn is None:
            conn = await self._engine.connect()
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
            self._polling = conn
        try:
            value = (await conn.exec_driver_sql(_REVISION)).scalar_one_or_none()
        except BaseException:
            self._polling = None  # the next poll takes a fresh connection
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()
            raise
        return int(value or 0)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        polling, self._polling = self._polling, None
        if polling is not None:
            await polling.close()
