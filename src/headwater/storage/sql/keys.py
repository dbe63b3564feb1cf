"""API key rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.clock import utcnow
from headwater.keys.schemas import KeyRead
from headwater.paging import decode_cursor, encode_cursor
from headwater.storage.sql.tables import api_keys


def _status(row: RowMapping, now: datetime) -> str:
    status = str(row["status"])
    if status == "active" and row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return status


def to_read(row: RowMapping, now: datetime | None = None) -> KeyRead:
    owner = f"{row['owner_type']}:{row['owner_name']}" if row["owner_type"] else None
    return KeyRead(
        id=row["id"],
        prefix=row["prefix"],
        name=row["name"],
        description=row["description"],
        owner=owner,
        models=row["models"],
        status=_status(row, now or utcnow()),
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        limits=row["limits"],
        restrictions=row["restrictions"],
    )


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(api_keys.insert().values(**values))


async def get(conn: AsyncConnection, key_id: str) -> KeyRead | None:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).mappings().first()
    return to_read(row) if row else None


def owned_by(owners: frozenset[str]) -> ColumnElement[bool]:
    """Keys whose owner (``kind:name``) is one of ``owners`` (false for none)."""
    pairs = [owner.split(":", 1) for owner in sorted(owners)]
    if not pairs:
        return false()
    return or_(*(and_(api_keys.c.owner_type == kind, api_keys.c.owner_name == name) for kind, name in pairs))


def _filtered(
    query: Select[Any],
    *,
    owner: tuple[str, str] | None,
    status: str | None,
    name: str | None,
    now: datetime,
    owners: frozenset[str] | None = None,
) -> Select[Any]:
    if owner is not None:
        query = query.where(api_keys.c.owner_type == owner[0], api_keys.c.owner_name == owner[1])
    if owners is not None:
        query = query.where(owned_by(owners))
    if name is not None:
        query = query.where(api_keys.c.name == name)
    if status == "expired":
        query = query.where(api_keys.c.status == "active", api_keys.c.expires_at <= now)
    elif status == "active":
        query = query.where(
            api_keys.c.status == "active",
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
        )
    elif status is not None:
        query = query.where(api_keys.c.status == status)
    return query


def _cursor_time(text: str) -> datetime:
    """The creation time in a keys cursor: a UTC instant (anything else is not a cursor we made)."""
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("invalid cursor") from None


async def page(
    conn: AsyncConnection,
    *,
    owner: tuple[str, str] | None = None,
    status: str | None = None,
    name: str | None = None,
    model: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    owners: frozenset[str] | None = None,
) -> tuple[list[KeyRead], str | None]:
    now = utcnow()
    query = _filtered(select(api_keys), owner=owner, status=status, name=name, now=now, owners=owners)
    if cursor:
        created, key_id = decode_cursor(cursor)
        after = _cursor_time(str(created))
        query = query.where(
            or_(
                api_keys.c.created_at < after,
                and_(api_keys.c.created_at == after, api_keys.c.id < str(key_id)),
            )
        )
    query = query.order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
    items: list[KeyRead] = []
    last: RowMapping | None = None
    more = False
    result = await conn.stream(query)
    async for row in result.mappings():
        if len(items) == limit:
            more = True
            break
        last = row
        item = to_read(row, now)
        # Model scope is JSON, whose containment operators differ between engines: filter here.
        if model is None or item.models is None or model in item.models:
            items.append(item)
    await result.close()
    next_cursor = encode_cursor([last["created_at"].isoformat(), last["id"]]) if more and last else None
    return items, next_cursor


async def set_values(conn: AsyncConnection, key_id: str, values: dict[str, Any]) -> bool:
    result = await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
    return bool(result.rowcount)


async def revoke_ids(conn: AsyncConnection, key_ids: list[str], now: datetime) -> None:
    if key_ids:
        values = {"status": "revoked", "revoked_at": now, "updated_at": now}
        await conn.execute(update(api_keys).where(api_keys.c.id.in_(key_ids)).values(**values))


async def secret_hash(conn: AsyncConnection, key_id: str) -> str | None:
    found = await conn.scalar(select(api_keys.c.hash).where(api_keys.c.id == key_id))
    return str(found) if found is not None else None


async def count_live(conn: AsyncConnection, owner_type: str, owner_name: str) -> int:
    """Keys of an owner that still work or could again (active and unexpired, or disabled)."""
    now = utcnow()
    query = select(func.count()).where(
        api_keys.c.owner_type == owner_type,
        api_keys.c.owner_name == owner_name,
        api_keys.c.status.in_(("active", "disabled")),
        or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
    )
    return int(await conn.scalar(query) or 0)


async def live_of(conn: AsyncConnection, owners: frozenset[str]) -> list[KeyRead]:
    """Every key of ``owners`` that is not revoked yet, oldest first (what a bulk revoke takes)."""
    query = (
        select(api_keys)
        .where(owned_by(owners), api_keys.c.status != "revoked")
        .order_by(api_keys.c.created_at, api_keys.c.id)
    )
    now = utcnow()
    return [to_read(row, now) for row in (await conn.execute(query)).mappings()]
