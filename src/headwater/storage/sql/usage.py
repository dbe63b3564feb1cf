"""Usage event rows: the batched writer's store and the admin API's queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.paging import decode_cursor, encode_cursor
from headwater.storage.sql import rollups
from headwater.storage.sql.refusals import refusals, rows_of
from headwater.storage.sql.tables import api_keys, usage_events
from headwater.storage.sql.types import UTCDateTime
from headwater.usage.events import NOT_KEYS, UsageEvent
from headwater.usage.rollup import groups_of, groups_text, stored_cost
from headwater.usage.schemas import UsageEventRead


class SqlUsageStore:
    """Writes batches of usage events and their rollups in one transaction; a batch the database
    refuses for its data raises :class:`RejectedEvents` (see :mod:`headwater.storage.sql.refusals`).

    Writing is idempotent: an event whose ``event_id`` is already stored (a journal replay after a
    crash, a batch retried after its commit was lost) is skipped, and only the events inserted are
    added to the rollups."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, events: Sequence[UsageEvent]) -> None:
        if not events:
            return
        rows = rows_of(events, _row)
        last_used: dict[str, float] = {}
        for e in events:
            if e.key_id not in NOT_KEYS and e.ts > last_used.get(e.key_id, 0.0):
                last_used[e.key_id] = e.ts
        with refusals():
            async with self._engine.begin() as conn:
                insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                statement = (
                    insert(usage_events)
                    .on_conflict_do_nothing(index_elements=[usage_events.c.event_id])
                    .returning(usage_events.c.event_id)
                )
                stored = set((await conn.execute(statement, rows)).scalars())
                inserted = [e for e in events if not e.event_id or e.event_id in stored]
                await rollups.add(conn, inserted)
                # last_used_at moves in batches, never a write per request; it is not configuration,
                # so the revision (and every gateway's snapshot) stays as it is. One executemany (one
                # round trip on PostgreSQL), in key order.
                if last_used:
                    touched = sorted(last_used.items())
                    await conn.execute(
                        _TOUCH, [{"key": k, "when": datetime.fromtimestamp(ts, UTC)} for k, ts in touched]
                    )


_WHEN = bindparam("when", type_=UTCDateTime)
_TOUCH = (
    update(api_keys)
    .where(
        api_keys.c.id == bindparam("key"),
        or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < _WHEN),
    )
    .values(last_used_at=_WHEN)
)


def _row(e: UsageEvent) -> dict[str, Any]:
    return {
        "ts": datetime.fromtimestamp(e.ts, UTC),
        "request_id": e.request_id,
        "key_id": e.key_id,
        "principal": e.principal,
        "model": e.model,
        "deployment": e.deployment,
        "provider": e.provider,
        "endpoint": e.endpoint,
        "prompt_tokens": e.prompt_tokens,
        "completion_tokens": e.completion_tokens,
        "cost": stored_cost(e.cost),
        "currency": e.currency,
        "status": e.status,
        "http_status": e.http_status,
        "latency_ms": round(e.latency_ms, 3),
        "ttft_ms": round(e.ttft_ms, 3) if e.ttft_ms is not None else None,
        "streamed": e.streamed,
        "estimated": e.estimated,
        "event_id": e.event_id or None,
        "groups": groups_text(e.groups) or None,
        "cost_center": e.cost_center,
        "policy": e.policy,
    }


def _read(row: Any) -> UsageEventRead:
    return UsageEventRead(
        id=row["id"],
        time=row["ts"],
        request_id=row["request_id"],
        key_id=row["key_id"],
        principal=row["principal"],
        model=row["model"],
        deployment=row["deployment"],
        provider=row["provider"],
        endpoint=row["endpoint"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["prompt_tokens"] + row["completion_tokens"],
        cost=row["cost"],
        currency=row["currency"],
        status=row["status"],
        http_status=row["http_status"],
        latency_ms=row["latency_ms"],
        ttft_ms=row["ttft_ms"],
        streamed=row["streamed"],
        estimated=row["estimated"],
        groups=list(groups_of(row["groups"])),
        cost_center=row["cost_center"],
        policy=row["policy"],
    )


async def page(
    conn: AsyncConnection,
    *,
    key_id: str | None = None,
    model: str | None = None,
    principal: str | None = None,
    principals: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    order: Literal["asc", "desc"] = "desc",
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[UsageEventRead], str | None]:
    """A page of events; ``principals`` (a tenant's owners) narrows them, None for every one."""
    query = select(usage_events)
    conditions = []
    if key_id is not None:
        conditions.append(usage_events.c.key_id == key_id)
    if model is not None:
        conditions.append(usage_events.c.model == model)
    if principal is not None:
        conditions.append(usage_events.c.principal == principal)
    if principals is not None:
        conditions.append(usage_events.c.principal.in_(sorted(principals)))
    if since is not None:
        conditions.append(usage_events.c.ts >= since)
    if until is not None:
        conditions.append(usage_events.c.ts < until)
    if after_id is not None:
        conditions.append(usage_events.c.id > after_id)
    if cursor:
        (last_id,) = decode_cursor(cursor)
        column = usage_events.c.id
        conditions.append(column > int(last_id) if order == "asc" else column < int(last_id))
    if conditions:
        query = query.where(and_(*conditions))
    column = usage_events.c.id
    query = query.order_by(column.asc() if order == "asc" else column.desc()).limit(limit + 1)
    rows = (await conn.execute(query)).mappings().all()
    items = [_read(row) for row in rows[:limit]]
    next_cursor: str | None
    if order == "desc":
        next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit else None
    else:  # ascending pages always say where to go on from, so that followers can poll
        next_cursor = encode_cursor([items[-1].id]) if items else cursor
    return items, next_cursor
