"""Stored Responses API responses in the database: the SQL :class:`ResponseStore`.

One row per response (table ``stored_responses``): its id, owner, public model, creation and expiry
instants, and ``body``, the JSON of its input items and response (zlib-compressed from 4 KiB on)
(:func:`headwater.gateway.response_store.encode_body`). Owner and expiry are checked in the query
itself, so another principal's row or an expired one is never read. Expired rows are deleted by the
retention pass (:class:`headwater.storage.sql.retention.SqlRetention`), in batches.

Saving is a group commit: a save waits until its row is committed (so a response is readable by
every worker and replica as soon as its caller has it), but the rows of all the saves waiting at
once are written in one transaction of at most :data:`MAX_BATCH` rows; while one transaction runs,
the next batch gathers. Under load a call pays a share of a transaction, not a whole one (measured
in docs/benchmarks.md). Large bodies are compressed and decompressed in a worker thread, so that
the event loop is not held. :func:`build_response_store` is what the composition root calls.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.clock import utcnow
from headwater.gateway.response_store import (
    MAX_RECORD_BYTES,
    MemoryResponseStore,
    NoResponseStore,
    ResponseStore,
    StoredResponse,
    decode_body,
    encode_body,
    warn_too_large,
)
from headwater.storage.sql.tables import stored_responses

log = logging.getLogger("headwater.gateway")

#: Bodies above this many bytes are (de)compressed in a worker thread.
THREAD_ABOVE_BYTES = 64 * 1024
#: Bodies from this many bytes on are compressed.
COMPRESS_ABOVE_BYTES = 4096
#: The longest id, owner and model the columns hold; a record with a longer one is not stored.
ID_MAX, OWNER_MAX, MODEL_MAX = 128, 160, 128
DAY_S = 86_400
#: The most rows one transaction writes.
MAX_BATCH = 256


def _compress(body: bytes) -> bytes:
    """Bodies of a few KiB are kept as they are (JSON, starting with ``{``): compressing them costs a
    call more than it saves; larger ones are zlib-compressed (starting with ``x``)."""
    return body if len(body) < COMPRESS_ABOVE_BYTES else zlib.compress(body, 1)


def _expand(packed: bytes) -> bytes:
    return packed if packed[:1] == b"{" else zlib.decompress(packed)


class SqlResponseStore:
    """Responses kept for ``ttl_s`` after they are saved, at most ``max_bytes`` of JSON each."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl_s: float,
        max_bytes: int = MAX_RECORD_BYTES,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if ttl_s <= 0 or max_bytes < 1:
            raise ValueError("response store: ttl_s > 0 and max_bytes ≥ 1")
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_s)
        self._max_bytes = max_bytes
        self._now = now
        #: Rows waiting for the next transaction, each with the future its save awaits.
        self._waiting: list[tuple[dict[str, object], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, record: StoredResponse) -> None:
        if len(record.id) > ID_MAX or len(record.owner) > OWNER_MAX or len(record.model) > MODEL_MAX:
            log.warning(
                "stored responses: %s not stored, its id, owner or model is too long", record.id[:ID_MAX]
            )
            return
        body = encode_body(record)
        if len(body) > self._max_bytes:
            warn_too_large(record.id, len(body), self._max_bytes)
            return
        packed = (
            await asyncio.to_thread(_compress, body) if len(body) > THREAD_ABOVE_BYTES else _compress(body)
        )
        now = self._now()
        row = {
            "id": record.id,
            "owner": record.owner,
            "model": record.model,
            "created_at": datetime.fromtimestamp(record.created_at, UTC),
            "expires_at": now + self._ttl,
            "body": packed,
        }
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a caller that is gone (cancelled) never reads the outcome: mark it read
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._waiting.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        await asyncio.shield(done)  # the row is written even if this caller stops waiting

    async def _write(self) -> None:
        """Write the waiting rows, a transaction per batch, until none is waiting."""
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                async with self._engine.begin() as conn:
                    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                    # An id already stored keeps its first record (and owner): never taken over.
                    await conn.execute(
                        insert(stored_responses).on_conflict_do_nothing(), [row for row, _ in batch]
                    )
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def load(self, owner: str, response_id: str) -> StoredResponse | None:
        if len(response_id) > ID_MAX:
            return None
        table = stored_responses
        query = select(table.c.model, table.c.created_at, table.c.body).where(
            table.c.id == response_id, table.c.owner == owner, table.c.expires_at > self._now()
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        head = StoredResponse(response_id, owner, row.model, int(row.created_at.timestamp()), [], {})
        packed = bytes(row.body)
        if len(packed) > THREAD_ABOVE_BYTES:
            return await asyncio.to_thread(lambda: decode_body(head, _expand(packed)))
        return decode_body(head, _expand(packed))

    async def delete(self, owner: str, response_id: str) -> bool:
        if len(response_id) > ID_MAX:
            return False
        table = stored_responses
        statement = delete(table).where(
            table.c.id == response_id, table.c.owner == owner, table.c.expires_at > self._now()
        )
        async with self._engine.begin() as conn:
            return bool((await conn.execute(statement)).rowcount)


def build_response_store(
    engine: AsyncEngine | None, *, days: int, max_bytes: int = MAX_RECORD_BYTES
) -> ResponseStore:
    """The gateway's store for ``HEADWATER_RESPONSE_STORE_DAYS`` = ``days``: none kept when 0, in the
    database when there is an ``engine``, else in this process's memory."""
    if days < 0:
        raise ValueError("response store: days ≥ 0")
    if days == 0:
        return NoResponseStore()
    if engine is None:
        return MemoryResponseStore(ttl_s=days * DAY_S, max_bytes=max_bytes)
    return SqlResponseStore(engine, ttl_s=days * DAY_S, max_bytes=max_bytes)
