"""Audit event rows: the chained writer's SQL and the admin API's queries."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.chain import Verifier, VerifyResult
from headwater.audit.schemas import AuditEventRead
from headwater.paging import decode_cursor, encode_cursor
from headwater.storage.sql.tables import audit_events, audit_head

Order = Literal["asc", "desc"]


async def advance_head(conn: AsyncConnection, count: int) -> tuple[int, str]:
    """Reserve ``count`` seqs; returns the previous head (seq, hash).

    The UPDATE comes first in the transaction: it takes the write lock (SQLite) or the row lock
    (PostgreSQL), so that concurrent writers, in any process, queue here until this one commits.
    """
    statement = update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq + count)
    if conn.dialect.update_returning:
        row = (await conn.execute(statement.returning(audit_head.c.seq, audit_head.c.hash))).one()
    else:
        await conn.execute(statement)
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        row = (await conn.execute(query)).one()
    return int(row.seq) - count, str(row.hash)


async def append(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert chained rows (after :func:`advance_head`) and move the head's hash to the last one."""
    await conn.execute(audit_events.insert(), list(rows))
    await conn.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=rows[-1]["hash"]))


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1))).one()
    return int(row.seq), str(row.hash)


def _conditions(
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    outcome: str | None,
) -> list[ColumnElement[bool]]:
    c = audit_events.c
    conditions: list[ColumnElement[bool]] = []
    if actor is not None:
        conditions.append(c.actor == actor)
    if action is not None:
        # "key." is a prefix: every key action. Anything else matches exactly.
        if action.endswith("."):
            conditions.append(c.action.startswith(action, autoescape=True))
        else:
            conditions.append(c.action == action)
    if target is not None:
        conditions.append(c.target_id == target)
    if since is not None:
        conditions.append(c.ts >= since)
    if until is not None:
        conditions.append(c.ts < until)
    if outcome is not None:
        conditions.append(c.outcome == outcome)
    return conditions


def _row(row: Any) -> dict[str, Any]:
    return dict(row)


async def page(
    conn: AsyncConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: str | None = None,
    order: Order = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[AuditEventRead], str | None]:
    """One page, newest first (or oldest first); ``next`` is None on the last page."""
    conditions = _conditions(
        actor=actor, action=action, target=target, since=since, until=until, outcome=outcome
    )
    seq = audit_events.c.seq
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int):
            raise ValueError("invalid cursor")
        conditions.append(seq > values[0] if order == "asc" else seq < values[0])
    query = select(audit_events).where(and_(True, *conditions))
    query = query.order_by(seq.asc() if order == "asc" else seq.desc()).limit(limit + 1)
    rows = (await conn.execute(query)).mappings().all()
    items = [AuditEventRead.model_validate(_row(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].seq]) if len(rows) > limit else None
    return items, next_cursor


async def iterate(
    conn: AsyncConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: str | None = None,
    upto_seq: int | None = None,
    chunk: int = 1000,
) -> AsyncGenerator[dict[str, Any], None]:
    """Every matching event, oldest first, read ``chunk`` rows at a time (for verify and CSV)."""
    conditions = _conditions(
        actor=actor, action=action, target=target, since=since, until=until, outcome=outcome
    )
    seq = audit_events.c.seq
    if upto_seq is not None:
        conditions.append(seq <= upto_seq)
    last = 0
    while True:
        query = select(audit_events).where(seq > last, *conditions).order_by(seq.asc()).limit(chunk)
        rows = (await conn.execute(query)).mappings().all()
        for row in rows:
            yield _row(row)
        if len(rows) < chunk:
            return
        last = int(rows[-1]["seq"])


async def verify_stored(conn: AsyncConnection, chunk: int = 1000) -> tuple[VerifyResult, tuple[int, str]]:
    """Verify the stored chain up to its head; returns the verdict and the head (seq, hash)."""
    # The head first: every event up to it is committed; newer ones are left out.
    stored_head = await head(conn)
    verifier = Verifier()
    async with aclosing(iterate(conn, upto_seq=stored_head[0], chunk=chunk)) as events:
        async for event in events:
            if not verifier.add(event):
                break
    return verifier.result(stored_head), stored_head
