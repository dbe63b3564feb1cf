"""Users and groups: the people who own keys, and how they are grouped.

Every change is a unit of work, written to the audit trail with it. Deleting an owner revokes its
keys in the same transaction (a key never outlives its owner), each revocation on record as
``key.revoke``. Admins and auditors read everyone; anyone else reads only their tenant (themself,
the members of the groups they administer, and their groups); the rest answers 404.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Origin, change
from headwater.control import ControlPlane
from headwater.directory.schemas import GroupRead, GroupSpec, UserRead, UserSpec
from headwater.identity.access import Caller
from headwater.keys.lifecycle import revoke_with_owner
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem, OutsideTenantProblem
from headwater.storage.sql import directory as repo
from headwater.storage.sql import identity as identity_repo
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

Loc = tuple[str | int, ...]

#: Groups and users, as changes read and record them.
GROUPS = Tracked("group", repo.get_group)
USERS = Tracked("user", repo.get_user)


def _visible(names: frozenset[str], who: Caller) -> list[str] | None:
    """The names a caller may read among ``names`` (their tenant's), or None for every name."""
    return None if who.tenancy.everything else sorted(names)


def _check_tenant(kind: str, name: str, names: frozenset[str], who: Caller) -> None:
    if not who.tenancy.everything and name not in names:
        raise OutsideTenantProblem(f"{kind} {name} not found")


# ---- groups -------------------------------------------------------------------------------------
async def list_groups(cp: ControlPlane, who: Caller) -> list[GroupRead]:
    async with cp.read() as conn:
        return await repo.list_groups(conn, _visible(who.tenancy.groups, who))


async def get_group(cp: ControlPlane, name: str, who: Caller) -> GroupRead:
    async with cp.read() as conn:
        found = await repo.get_group(conn, name)
    if found is None:
        raise NotFoundProblem(f"group {name} not found")
    _check_tenant("group", name, who.tenancy.groups, who)
    return found


async def set_group_admins_in(conn: AsyncConnection, name: str, admins: list[str], loc: Loc) -> None:
    """Makes ``admins`` (existing users, else 422 at ``loc``.admins.N) the group's admins."""
    missing = set(await repo.missing_users(conn, admins))
    for index, user in enumerate(admins):
        if user in missing:
            raise InvalidProblem((*loc, "admins", index), f"user {user!r} does not exist")
    await identity_repo.set_group_admins(conn, name, admins)


async def put_group_in(
    conn: AsyncConnection, name: str, spec: GroupSpec, loc: Loc, *, exists: bool, with_admins: bool = True
) -> None:
    """Creates (``exists`` false: what the caller read before) or replaces a group;
    ``with_admins=False`` leaves its admins to a later :func:`set_group_admins_in` (apply: the users
    a group names may come in the same documents)."""
    await repo.upsert_group(conn, name, spec, exists=exists)
    if with_admins:
        await set_group_admins_in(conn, name, spec.admins, loc)


async def put_group(
    cp: ControlPlane, name: str, spec: GroupSpec, origin: Origin, *, create: bool
) -> GroupRead:
    async def write(unit: UnitOfWork, before: GroupRead | None) -> None:
        if create and before is not None:
            raise ConflictProblem(f"group {name} already exists")
        await put_group_in(unit.conn, name, spec, ("body",), exists=before is not None)

    stored = await perform_change(cp, origin, GROUPS, name, write)
    assert stored is not None
    return stored


async def delete_group(cp: ControlPlane, name: str, origin: Origin) -> None:
    async def remove(unit: UnitOfWork, before: GroupRead | None) -> None:
        if before is None:
            raise NotFoundProblem(f"group {name} not found")
        if await repo.group_in_use(unit.conn, name):
            raise ConflictProblem(f"group {name} still has service accounts; delete or move them first")
        unit.record(*await revoke_with_owner(unit.conn, "group", name))
        await repo.delete_group(unit.conn, name)

    await perform_change(cp, origin, GROUPS, name, remove)


# ---- users --------------------------------------------------------------------------------------
async def list_users(cp: ControlPlane, who: Caller) -> list[UserRead]:
    async with cp.read() as conn:
        return await repo.list_users(conn, _visible(who.tenancy.users, who))


async def get_user(cp: ControlPlane, name: str, who: Caller) -> UserRead:
    async with cp.read() as conn:
        found = await repo.get_user(conn, name)
    if found is None:
        raise NotFoundProblem(f"user {name} not found")
    _check_tenant("user", name, who.tenancy.users, who)
    return found


async def put_user_in(conn: AsyncConnection, name: str, spec: UserSpec, loc: Loc, *, exists: bool) -> None:
    missing = set(await repo.missing_groups(conn, spec.groups))
    for index, group in enumerate(spec.groups):
        if group in missing:
            raise InvalidProblem((*loc, "groups", index), f"group {group!r} does not exist")
    await repo.upsert_user(conn, name, spec, exists=exists)


async def put_user(cp: ControlPlane, name: str, spec: UserSpec, origin: Origin, *, create: bool) -> UserRead:
    async def write(unit: UnitOfWork, before: UserRead | None) -> None:
        if create and before is not None:
            raise ConflictProblem(f"user {name} already exists")
        await put_user_in(unit.conn, name, spec, ("body",), exists=before is not None)

    stored = await perform_change(cp, origin, USERS, name, write)
    assert stored is not None
    return stored


async def delete_user(cp: ControlPlane, name: str, origin: Origin) -> None:
    """Deletes a user: their keys are revoked and they leave the admins of the groups they ran."""

    async def remove(unit: UnitOfWork, before: UserRead | None) -> None:
        if before is None:
            raise NotFoundProblem(f"user {name} not found")
        conn = unit.conn
        administered = await repo.groups_administered_by(conn, name)
        groups_before = await repo.list_groups(conn, administered) if administered else []
        revocations = await revoke_with_owner(conn, "user", name)
        await repo.delete_user(conn, name)
        groups_after = {group.name: group for group in await repo.list_groups(conn, administered)}
        for group in groups_before:
            after = groups_after[group.name]
            unit.record(change("group", group.name, group, after, f"its admin {name} was deleted"))
        unit.record(*revocations)

    await perform_change(cp, origin, USERS, name, remove)
