"""Limit event rows: the batched writer's store (data errors raise ``RejectedEvents``, see
:mod:`headwater.storage.sql.refusals`) and the admin API's query."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.paging import decode_cursor, encode_cursor
from headwater.storage.sql.refusals import refusals, rows_of
from headwater.storage.sql.tables import limit_events
from headwater.usage.events import LimitEvent
from headwater.usage.schemas import LimitEventPage, LimitEventRead


class SqlLimitEventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, events: Sequence[LimitEvent]) -> None:
        if not events:
            return
        rows = rows_of(events, _row)
        with refusals():
            async with self._engine.begin() as conn:
                await conn.execute(limit_events.insert(), rows)


def _row(e: LimitEvent) -> dict[str, Any]:
    return {
        "ts": datetime.fromtimestamp(e.ts, UTC),
        "request_id": e.request_id,
        "key_id": e.key_id,
        "principal": e.principal,
        "model": e.model,
        "policy": e.policy,
        "limit": e.limit[:256],
        "kind": e.kind,
        "action": e.action,
    }


async def page(
    conn: AsyncConnection,
    *,
    principal: str | None,
    principals: Collection[str] | None = None,
    policy: str | None,
    key_id: str | None,
    limit: int,
    cursor: str | None,
) -> LimitEventPage:
    query = select(limit_events)
    if principal is not None:
        query = query.where(limit_events.c.principal == principal)
    if principals is not None:  # a tenant's owners
        query = query.where(limit_events.c.principal.in_(sorted(principals)))
    if policy is not None:
        query = query.where(limit_events.c.policy == policy)
    if key_id is not None:
        query = query.where(limit_events.c.key_id == key_id)
    if cursor:
        (last,) = decode_cursor(cursor)
        query = query.where(limit_events.c.id < int(last))
    rows = (await conn.execute(query.order_by(limit_events.c.id.desc()).limit(limit + 1))).mappings().all()
    items = [
        LimitEventRead(time=row["ts"], **{k: v for k, v in row.items() if k != "ts"}) for row in rows[:limit]
    ]
    return LimitEventPage(items=items, next=encode_cursor([items[-1].id]) if len(rows) > limit else None)
