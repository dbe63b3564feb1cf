"""The managed marker: which resources ``headwater apply`` manages (``managed_by = "apply"``).

Apply marks what it creates, updates or adopts (a resource made by hand that a document names);
``apply --prune`` deletes only marked resources. Kinds are the documents' kinds (``Model``, ...).
"""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.storage.sql.tables import groups, models, policies, service_accounts, users

APPLY = "apply"

_TABLES: dict[str, Table] = {
    "Group": groups,
    "User": users,
    "ServiceAccount": service_accounts,
    "Model": models,
    "Policy": policies,
}


async def mark(conn: AsyncConnection, kind: str, name: str) -> None:
    table = _TABLES[kind]
    await conn.execute(table.update().where(table.c.name == name).values(managed_by=APPLY))


async def is_managed(conn: AsyncConnection, kind: str, name: str) -> bool:
    table = _TABLES[kind]
    found = await conn.scalar(select(table.c.managed_by).where(table.c.name == name))
    return found == APPLY


async def managed(conn: AsyncConnection, kind: str) -> list[str]:
    """The names of the resources of ``kind`` that apply manages, sorted."""
    table = _TABLES[kind]
    query = select(table.c.name).where(table.c.managed_by == APPLY).order_by(table.c.name)
    return list((await conn.scalars(query)).all())
