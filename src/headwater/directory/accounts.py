"""Service accounts: non-human owners of keys, each in one group.

Admins manage every service account; a group admin manages those of the groups they administer:
an existing one of another group answers 404 (as if it did not exist), and creating or moving one
into a group they do not administer is refused with 403, and so is enabling one an admin disabled
(an admin's decision binds group admins: only an admin enables it again). Reads follow the tenant:
admins and auditors see every service account, group admins those of their groups, users none.
Every change is a unit of work, written to the audit trail with it; deleting a service account
revokes its keys in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.control import ControlPlane
from headwater.directory.schemas import ServiceAccountRead, ServiceAccountSpec
from headwater.identity.access import Caller
from headwater.keys.lifecycle import revoke_with_owner
from headwater.problems import (
    ConflictProblem,
    ForbiddenProblem,
    InvalidProblem,
    NotFoundProblem,
    OutsideTenantProblem,
)
from headwater.storage.sql import directory as repo
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

#: Service accounts, as changes read and record them.
SERVICE_ACCOUNTS = Tracked("serviceaccount", repo.get_service_account)


def _outside(who: Caller, account: ServiceAccountRead) -> bool:
    """Whether an existing service account is outside what ``who`` may read."""
    return not who.tenancy.everything and account.name not in who.tenancy.service_accounts


def _check_manages(who: Caller, name: str, existing: ServiceAccountRead | None, group: str | None) -> None:
    """A non-admin changes only service accounts of the groups they administer."""
    if who.principal.is_admin:
        return
    managed = who.tenancy.managed_groups
    if existing is not None and existing.group not in managed:
        raise OutsideTenantProblem(f"service account {name} not found")
    if group is not None and group not in managed:
        mine = ", ".join(sorted(managed)) or "none"
        raise ForbiddenProblem(
            f"You do not administer group {group}: you may manage service accounts only in the "
            f"groups you administer ({mine})."
        )


async def list_service_accounts(cp: ControlPlane, who: Caller) -> list[ServiceAccountRead]:
    names = None if who.tenancy.everything else sorted(who.tenancy.service_accounts)
    async with cp.read() as conn:
        return await repo.list_service_accounts(conn, names)


async def get_service_account(cp: ControlPlane, name: str, who: Caller) -> ServiceAccountRead:
    async with cp.read() as conn:
        found = await repo.get_service_account(conn, name)
    if found is None:
        raise NotFoundProblem(f"service account {name} not found")
    if _outside(who, found):
        raise OutsideTenantProblem(f"service account {name} not found")
    return found


async def put_service_account_in(
    conn: AsyncConnection,
    name: str,
    spec: ServiceAccountSpec,
    loc: tuple[str | int, ...],
    *,
    exists: bool,
    by_admin: bool = True,
) -> None:
    if await repo.missing_groups(conn, [spec.group]):
        raise InvalidProblem((*loc, "group"), f"group {spec.group!r} does not exist")
    await repo.upsert_service_account(conn, name, spec, exists=exists, by_admin=by_admin)


async def put_service_account(
    cp: ControlPlane, name: str, spec: ServiceAccountSpec, who: Caller, *, create: bool
) -> ServiceAccountRead:
    by_admin = who.principal.is_admin

    async def write(unit: UnitOfWork, before: ServiceAccountRead | None) -> None:
        _check_manages(who, name, before, spec.group)
        if create and before is not None:
            raise ConflictProblem(f"service account {name} already exists")
        enabling = before is not None and before.status == "disabled" and spec.status == "active"
        if enabling and not by_admin and await repo.disabled_by_admin(unit.conn, name):
            raise ForbiddenProblem(f"An admin disabled service account {name}: only an admin can enable it.")
        await put_service_account_in(
            unit.conn, name, spec, ("body",), by_admin=by_admin, exists=before is not None
        )

    stored = await perform_change(cp, who.origin, SERVICE_ACCOUNTS, name, write)
    assert stored is not None
    return stored


async def delete_service_account(cp: ControlPlane, name: str, who: Caller) -> None:
    async def remove(unit: UnitOfWork, before: ServiceAccountRead | None) -> None:
        if before is None:
            raise NotFoundProblem(f"service account {name} not found")
        _check_manages(who, name, before, None)
        unit.record(*await revoke_with_owner(unit.conn, "serviceaccount", name))
        await repo.delete_service_account(unit.conn, name)

    await perform_change(cp, who.origin, SERVICE_ACCOUNTS, name, remove)
