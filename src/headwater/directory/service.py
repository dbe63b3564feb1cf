"""Users, groups and service accounts: plain records that own keys (identity providers come later).

Deleting an owner revokes its keys in the same transaction: a key never outlives its owner.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.control import ControlPlane
from headwater.directory.schemas import (
    GroupRead,
    GroupSpec,
    ServiceAccountRead,
    ServiceAccountSpec,
    UserRead,
    UserSpec,
)
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem
from headwater.storage.sql import directory as repo
from headwater.storage.sql import keys


# ---- groups -------------------------------------------------------------------------------------
async def list_groups(cp: ControlPlane) -> list[GroupRead]:
    async with cp.read() as conn:
        return await repo.list_groups(conn)


async def get_group(cp: ControlPlane, name: str) -> GroupRead:
    async with cp.read() as conn:
        found = await repo.get_group(conn, name)
    if found is None:
        raise NotFoundProblem(f"group {name} not found")
    return found


async def put_group_in(conn: AsyncConnection, name: str, spec: GroupSpec) -> None:
    await repo.upsert_group(conn, name, spec, exists=await repo.get_group(conn, name) is not None)


async def put_group(cp: ControlPlane, name: str, spec: GroupSpec, *, create: bool) -> GroupRead:
    async with cp.change() as conn:
        if create and await repo.get_group(conn, name) is not None:
            raise ConflictProblem(f"group {name} already exists")
        await put_group_in(conn, name, spec)
        stored = await repo.get_group(conn, name)
    assert stored is not None
    return stored


async def delete_group(cp: ControlPlane, name: str) -> None:
    async with cp.change() as conn:
        if await repo.get_group(conn, name) is None:
            raise NotFoundProblem(f"group {name} not found")
        if await repo.group_in_use(conn, name):
            raise ConflictProblem(f"group {name} still has service accounts; delete or move them first")
        await keys.revoke_owned(conn, "group", name)
        await repo.delete_group(conn, name)


# ---- users --------------------------------------------------------------------------------------
async def list_users(cp: ControlPlane) -> list[UserRead]:
    async with cp.read() as conn:
        return await repo.list_users(conn)


async def get_user(cp: ControlPlane, name: str) -> UserRead:
    async with cp.read() as conn:
        found = await repo.get_user(conn, name)
    if found is None:
        raise NotFoundProblem(f"user {name} not found")
    return found


async def put_user_in(conn: AsyncConnection, name: str, spec: UserSpec, loc: tuple[str | int, ...]) -> None:
    missing = set(await repo.missing_groups(conn, spec.groups))
    for index, group in enumerate(spec.groups):
        if group in missing:
            raise InvalidProblem((*loc, "groups", index), f"group {group!r} does not exist")
    await repo.upsert_user(conn, name, spec, exists=await repo.get_user(conn, name) is not None)


async def put_user(cp: ControlPlane, name: str, spec: UserSpec, *, create: bool) -> UserRead:
    async with cp.change() as conn:
        if create and await repo.get_user(conn, name) is not None:
            raise ConflictProblem(f"user {name} already exists")
        await put_user_in(conn, name, spec, ("body",))
        stored = await repo.get_user(conn, name)
    assert stored is not None
    return stored


async def delete_user(cp: ControlPlane, name: str) -> None:
    async with cp.change() as conn:
        await keys.revoke_owned(conn, "user", name)
        if not await repo.delete_user(conn, name):
            raise NotFoundProblem(f"user {name} not found")


# ---- service accounts ---------------------------------------------------------------------------
async def list_service_accounts(cp: ControlPlane) -> list[ServiceAccountRead]:
    async with cp.read() as conn:
        return await repo.list_service_accounts(conn)


async def get_service_account(cp: ControlPlane, name: str) -> ServiceAccountRead:
    async with cp.read() as conn:
        found = await repo.get_service_account(conn, name)
    if found is None:
        raise NotFoundProblem(f"service account {name} not found")
    return found


async def put_service_account_in(
    conn: AsyncConnection, name: str, spec: ServiceAccountSpec, loc: tuple[str | int, ...]
) -> None:
    if await repo.missing_groups(conn, [spec.group]):
        raise InvalidProblem((*loc, "group"), f"group {spec.group!r} does not exist")
    exists = await repo.get_service_account(conn, name) is not None
    await repo.upsert_service_account(conn, name, spec, exists=exists)


async def put_service_account(
    cp: ControlPlane, name: str, spec: ServiceAccountSpec, *, create: bool
) -> ServiceAccountRead:
    async with cp.change() as conn:
        if create and await repo.get_service_account(conn, name) is not None:
            raise ConflictProblem(f"service account {name} already exists")
        await put_service_account_in(conn, name, spec, ("body",))
        stored = await repo.get_service_account(conn, name)
    assert stored is not None
    return stored


async def delete_service_account(cp: ControlPlane, name: str) -> None:
    async with cp.change() as conn:
        await keys.revoke_owned(conn, "serviceaccount", name)
        if not await repo.delete_service_account(conn, name):
            raise NotFoundProblem(f"service account {name} not found")
