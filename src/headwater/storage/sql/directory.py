"""User, group, membership and service account rows."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.clock import utcnow
from headwater.directory.schemas import (
    GroupRead,
    GroupSpec,
    ServiceAccountRead,
    ServiceAccountSpec,
    UserRead,
    UserSpec,
)
from headwater.storage.sql.tables import (
    group_admins,
    group_members,
    groups,
    service_accounts,
    users,
)


# ---- groups -------------------------------------------------------------------------------------
def _group(row: RowMapping, admins: list[str]) -> GroupRead:
    return GroupRead(
        name=row["name"],
        description=row["description"],
        cost_center=row["cost_center"],
        admins=admins,
        source=row["source"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_groups(conn: AsyncConnection, names: list[str] | None = None) -> list[GroupRead]:
    query = select(groups).order_by(groups.c.name)
    admin_query = select(group_admins).order_by(group_admins.c.user_name)
    if names is not None:
        query = query.where(groups.c.name.in_(names))
        admin_query = admin_query.where(group_admins.c.group_name.in_(names))
    admins: dict[str, list[str]] = {}
    for row in (await conn.execute(admin_query)).mappings():
        admins.setdefault(row["group_name"], []).append(row["user_name"])
    return [_group(row, admins.get(row["name"], [])) for row in (await conn.execute(query)).mappings()]


async def get_group(conn: AsyncConnection, name: str) -> GroupRead | None:
    found = await list_groups(conn, [name])
    return found[0] if found else None


async def upsert_group(conn: AsyncConnection, name: str, spec: GroupSpec, *, exists: bool) -> None:
    now = utcnow()
    values = {"description": spec.description, "cost_center": spec.cost_center, "updated_at": now}
    if exists:
        await conn.execute(groups.update().where(groups.c.name == name).values(**values))
    else:
        await conn.execute(groups.insert().values(name=name, source="local", created_at=now, **values))


async def delete_group(conn: AsyncConnection, name: str) -> bool:
    await conn.execute(delete(group_members).where(group_members.c.group_name == name))
    await conn.execute(delete(group_admins).where(group_admins.c.group_name == name))
    return bool((await conn.execute(delete(groups).where(groups.c.name == name))).rowcount)


async def missing_groups(conn: AsyncConnection, names: list[str]) -> list[str]:
    if not names:
        return []
    found = set((await conn.execute(select(groups.c.name).where(groups.c.name.in_(names)))).scalars())
    return sorted(set(names) - found)


async def missing_users(conn: AsyncConnection, names: list[str]) -> list[str]:
    if not names:
        return []
    found = set((await conn.execute(select(users.c.name).where(users.c.name.in_(names)))).scalars())
    return sorted(set(names) - found)


async def groups_administered_by(conn: AsyncConnection, user: str) -> list[str]:
    query = select(group_admins.c.group_name).where(group_admins.c.user_name == user)
    return sorted((await conn.execute(query)).scalars())


async def group_in_use(conn: AsyncConnection, name: str) -> bool:
    query = select(service_accounts.c.name).where(service_accounts.c.group_name == name).limit(1)
    return (await conn.execute(query)).first() is not None


# ---- users --------------------------------------------------------------------------------------
async def list_users(conn: AsyncConnection, names: list[str] | None = None) -> list[UserRead]:
    query = select(users).order_by(users.c.name)
    member_query = select(group_members).order_by(group_members.c.group_name)
    if names is not None:
        query = query.where(users.c.name.in_(names))
        member_query = member_query.where(group_members.c.user_name.in_(names))
    memberships: dict[str, list[str]] = {}
    for row in (await conn.execute(member_query)).mappings():
        memberships.setdefault(row["user_name"], []).append(row["group_name"])
    return [
        UserRead(
            name=row["name"],
            email=row["email"],
            display_name=row["display_name"],
            groups=memberships.get(row["name"], []),
            status=row["status"],
            cost_center=row["cost_center"],
            role=row["role"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in (await conn.execute(query)).mappings()
    ]


async def get_user(conn: AsyncConnection, name: str) -> UserRead | None:
    found = await list_users(conn, [name])
    return found[0] if found else None


async def upsert_user(conn: AsyncConnection, name: str, spec: UserSpec, *, exists: bool) -> None:
    now = utcnow()
    values = {
        "email": spec.email,
        "display_name": spec.display_name,
        "status": spec.status,
        "cost_center": spec.cost_center,
        "updated_at": now,
    }
    if exists:
        await conn.execute(users.update().where(users.c.name == name).values(**values))
        await conn.execute(delete(group_members).where(group_members.c.user_name == name))
    else:
        await conn.execute(users.insert().values(name=name, role="user", created_at=now, **values))
    if spec.groups:
        await conn.execute(
            group_members.insert(), [{"user_name": name, "group_name": g} for g in sorted(set(spec.groups))]
        )


async def delete_user(conn: AsyncConnection, name: str) -> bool:
    """Deletes a user with their memberships and their places among group admins."""
    await conn.execute(delete(group_members).where(group_members.c.user_name == name))
    await conn.execute(delete(group_admins).where(group_admins.c.user_name == name))
    return bool((await conn.execute(delete(users).where(users.c.name == name))).rowcount)


# ---- service accounts ---------------------------------------------------------------------------
def _service_account(row: RowMapping) -> ServiceAccountRead:
    return ServiceAccountRead(
        name=row["name"],
        group=row["group_name"],
        description=row["description"],
        status=row["status"],
        cost_center=row["cost_center"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_service_accounts(
    conn: AsyncConnection, names: list[str] | None = None
) -> list[ServiceAccountRead]:
    query = select(service_accounts).order_by(service_accounts.c.name)
    if names is not None:
        query = query.where(service_accounts.c.name.in_(names))
    return [_service_account(row) for row in (await conn.execute(query)).mappings()]


async def get_service_account(conn: AsyncConnection, name: str) -> ServiceAccountRead | None:
    found = await list_service_accounts(conn, [name])
    return found[0] if found else None


async def upsert_service_account(
    conn: AsyncConnection, name: str, spec: ServiceAccountSpec, *, exists: bool, by_admin: bool
) -> None:
    """An admin's change records whether an admin disabled it; anyone else's leaves that as it is."""
    now = utcnow()
    values: dict[str, object] = {
        "group_name": spec.group,
        "description": spec.description,
        "status": spec.status,
        "cost_center": spec.cost_center,
        "updated_at": now,
    }
    if by_admin:
        values["admin_disabled"] = spec.status == "disabled"
    if exists:
        await conn.execute(service_accounts.update().where(service_accounts.c.name == name).values(**values))
    else:
        await conn.execute(service_accounts.insert().values(name=name, created_at=now, **values))


async def disabled_by_admin(conn: AsyncConnection, name: str) -> bool:
    query = select(service_accounts.c.admin_disabled).where(service_accounts.c.name == name)
    return bool((await conn.execute(query)).scalar_one_or_none())


async def delete_service_account(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(delete(service_accounts).where(service_accounts.c.name == name))
    return bool(result.rowcount)


async def owner_exists(conn: AsyncConnection, owner_type: str, name: str) -> bool:
    table = {"user": users, "group": groups, "serviceaccount": service_accounts}[owner_type]
    return (await conn.execute(select(table.c.name).where(table.c.name == name))).first() is not None
