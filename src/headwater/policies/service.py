"""Policy operations. Every change is a unit of work, written to the audit trail with it.

Admins and auditors read every policy; anyone else reads only the policies that target them: by
their user, one of their groups, or a service account of a group they administer. Any other
policy answers 404, as if it did not exist.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Origin
from headwater.control import ControlPlane
from headwater.identity.access import Caller
from headwater.policies.schemas import PolicyRead, PolicySpec
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem, OutsideTenantProblem
from headwater.storage.sql import catalog, directory
from headwater.storage.sql import policies as repo
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

#: Policies, as changes read and record them.
POLICIES = Tracked("policy", repo.get)


async def _check_references(conn: AsyncConnection, spec: PolicySpec, loc: tuple[str | int, ...]) -> None:
    """Targets and listed models must exist: a typo must not silently grant or limit nothing."""
    if spec.assets.models != "all":
        known = {model.name for model in await catalog.list_all(conn, sorted(set(spec.assets.models)))}
        for index, name in enumerate(spec.assets.models):
            if name not in known:
                raise InvalidProblem((*loc, "assets", "models", index), f"unknown model {name!r}")
    missing = set(await directory.missing_groups(conn, spec.targets.groups))
    for index, name in enumerate(spec.targets.groups):
        if name in missing:
            raise InvalidProblem((*loc, "targets", "groups", index), f"unknown group {name!r}")
    for field, kind in (("users", "user"), ("serviceAccounts", "serviceaccount")):
        for index, name in enumerate(getattr(spec.targets, field)):
            if not await directory.owner_exists(conn, kind, name):
                raise InvalidProblem((*loc, "targets", field, index), f"unknown {kind} {name!r}")


def targets(policy: PolicyRead, who: Caller) -> bool:
    """Whether ``policy`` is one that ``who`` may read."""
    tenancy = who.tenancy
    if tenancy.everything:
        return True
    return (
        who.principal.name in policy.targets.users
        or not tenancy.groups.isdisjoint(policy.targets.groups)
        or not tenancy.service_accounts.isdisjoint(policy.targets.serviceAccounts)
    )


async def list_policies(cp: ControlPlane, who: Caller) -> list[PolicyRead]:
    async with cp.read() as conn:
        found = await repo.list_all(conn)
    return [policy for policy in found if targets(policy, who)]


async def get(cp: ControlPlane, name: str, who: Caller) -> PolicyRead:
    async with cp.read() as conn:
        found = await repo.get(conn, name)
    if found is None:
        raise NotFoundProblem(f"policy {name} not found")
    if not targets(found, who):
        raise OutsideTenantProblem(f"policy {name} not found")
    return found


async def put_in(
    conn: AsyncConnection, name: str, spec: PolicySpec, loc: tuple[str | int, ...], *, exists: bool
) -> None:
    await _check_references(conn, spec, loc)
    await repo.upsert(conn, name, spec, exists=exists)


async def put(cp: ControlPlane, name: str, spec: PolicySpec, origin: Origin, *, create: bool) -> PolicyRead:
    async def write(unit: UnitOfWork, before: PolicyRead | None) -> None:
        if create and before is not None:
            raise ConflictProblem(f"policy {name} already exists (use PUT to replace it)")
        await put_in(unit.conn, name, spec, ("body",), exists=before is not None)

    stored = await perform_change(cp, origin, POLICIES, name, write)
    assert stored is not None
    return stored


async def delete(cp: ControlPlane, name: str, origin: Origin) -> None:
    async def remove(unit: UnitOfWork, before: PolicyRead | None) -> None:
        if before is None or not await repo.delete_policy(unit.conn, name):
            raise NotFoundProblem(f"policy {name} not found")

    await perform_change(cp, origin, POLICIES, name, remove)
