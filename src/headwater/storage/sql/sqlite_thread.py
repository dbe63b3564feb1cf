"""SQLite work that runs often, in one hand-off: a thread of its own, with a connection of its own.

Through aiosqlite, every statement is a hand-off from the event loop to aiosqlite's thread and back
(a future, a queue, a wake-up of the loop through its self-pipe), ~40 µs of event-loop CPU each,
plus SQLAlchemy's work per statement: a usage batch took 17 of them, the snapshot's poll for a new
revision 8 (~680 µs of loop CPU, four times a second). Here the whole work runs as one call on a
thread that keeps one ``sqlite3`` connection, set up as the engine's connections are
(:data:`headwater.storage.sql.database.SQLITE_PRAGMAS`): one hand-off. The statements are the ones
SQLAlchemy compiled for SQLite (or a fixed text), run with the driver's own parameters. Its users:
the usage batches (:meth:`SqliteThread.transaction`) and the snapshot's poll (:meth:`SqliteThread.read`).

Only for a database in a file: an in-memory database is private to the connection that made it
(:meth:`SqliteThread.of` answers None, and the store keeps to the engine).

The transaction is ``BEGIN IMMEDIATE`` (the write lock first: no upgrade from a read lock that could
fail half-way) ... ``COMMIT``, rolled back on any failure. After a failure that is not the data's
(the file locked past the busy timeout, a disk error), the connection is closed and the next batch
opens a new one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql.database import SQLITE_BUSY_TIMEOUT_S, SQLITE_PRAGMAS

T = TypeVar("T")


class SqliteThread:
    """Runs ``work(connection)`` on the thread that owns the connection."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-batches")
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    def of(cls, engine: AsyncEngine) -> SqliteThread | None:
        """For ``engine``'s database when it is a SQLite file; None otherwise."""
        url = make_url(str(engine.url))
        database = url.database or ""
        if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or url.query:
            return None
        if database.startswith("file:"):  # a URI: maybe shared memory, maybe options we would miss
            return None
        return cls(database)

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in one write transaction, committed when it returns, rolled back if it raises."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transaction, work)

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` outside a transaction: each statement sees what was committed when it began."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, work)

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection or self._open()
        try:
            return work(connection)
        except sqlite3.Error:
            self._forget()
            raise

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection or self._open()
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    self._forget()
                    raise exc from None
            if not isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | ValueError | ArithmeticError):
                self._forget()
            raise
        return result

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        """Closes the connection (after the batch in hand, if any) and ends the thread; again, nothing."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._forget)
        self._executor.shutdown(wait=True)
