"""Policy rows: the spec is stored as the document's JSON."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.clock import epoch, utcnow
from headwater.policies.calendar import next_renewal
from headwater.policies.schemas import PolicyRead, PolicySpec
from headwater.storage.sql.tables import policies


def read_row(row: RowMapping) -> PolicyRead:
    """A ``policies`` row as the API reads it."""
    spec = PolicySpec.model_validate(row["spec"])
    renewal = next_renewal(spec.budget, epoch()) if spec.budget else None
    return PolicyRead(
        **spec.model_dump(),
        name=row["name"],
        nextRenewal=renewal,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_all(conn: AsyncConnection, names: list[str] | None = None) -> list[PolicyRead]:
    query = select(policies).order_by(policies.c.name)
    if names is not None:
        query = query.where(policies.c.name.in_(names))
    return [read_row(row) for row in (await conn.execute(query)).mappings()]


async def get(conn: AsyncConnection, name: str) -> PolicyRead | None:
    found = await list_all(conn, [name])
    return found[0] if found else None


async def upsert(conn: AsyncConnection, name: str, spec: PolicySpec, *, exists: bool) -> None:
    now = utcnow()
    document = spec.model_dump(mode="json")
    if exists:
        await conn.execute(
            policies.update().where(policies.c.name == name).values(spec=document, updated_at=now)
        )
    else:
        await conn.execute(policies.insert().values(name=name, spec=document, created_at=now, updated_at=now))


async def delete_policy(conn: AsyncConnection, name: str) -> bool:
    return bool((await conn.execute(delete(policies).where(policies.c.name == name))).rowcount)
