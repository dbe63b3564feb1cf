"""``apply --prune``: delete what apply manages and the documents no longer name.

Only resources carrying the managed marker (:mod:`headwater.storage.sql.managed`) are candidates:
what was made by hand (admin API, console, sign-in) is never pruned, and keys are never pruned.
Deletions run in the apply's own unit of work, after the documents are applied, in reverse
dependency order (policies, models, service accounts, users, groups), and each is what the admin
API's delete does and records: ``<type>.delete``, the owner's keys revoked (``key.revoke``), a
deleted user leaving the admins of the groups they ran (``group.update``). A group that still has
service accounts apply does not prune is refused, naming them, and nothing is changed.
"""

from __future__ import annotations

from typing import Any

from headwater.audit.record import change
from headwater.keys.lifecycle import revoke_with_owner
from headwater.problems import InvalidProblem
from headwater.resources.documents import ORDER
from headwater.resources.tracked import TRACKED
from headwater.storage.sql import catalog as catalog_repo
from headwater.storage.sql import directory as directory_repo
from headwater.storage.sql import managed
from headwater.storage.sql import policies as policies_repo
from headwater.storage.sql.tables import service_accounts
from headwater.unit_of_work import UnitOfWork

_OWNER_TYPE = {"Group": "group", "User": "user", "ServiceAccount": "serviceaccount"}


async def _accounts_of(unit: UnitOfWork, group: str) -> list[str]:
    query = service_accounts.select().where(service_accounts.c.group_name == group)
    return sorted(row.name for row in await unit.conn.execute(query))


async def _remove(unit: UnitOfWork, kind: str, name: str) -> None:
    conn = unit.conn
    if kind == "Policy":
        await policies_repo.delete_policy(conn, name)
    elif kind == "Model":
        await catalog_repo.delete_model(conn, name)
    elif kind == "ServiceAccount":
        unit.record(*await revoke_with_owner(conn, "serviceaccount", name))
        await directory_repo.delete_service_account(conn, name)
    elif kind == "User":
        administered = await directory_repo.groups_administered_by(conn, name)
        groups_before = await directory_repo.list_groups(conn, administered) if administered else []
        revocations = await revoke_with_owner(conn, "user", name)
        await directory_repo.delete_user(conn, name)
        groups_after = {group.name: group for group in await directory_repo.list_groups(conn, administered)}
        for group in groups_before:
            after = groups_after[group.name]
            unit.record(change("group", group.name, group, after, f"its admin {name} was deleted"))
        unit.record(*revocations)
    elif kind == "Group":
        left = await _accounts_of(unit, name)
        if left:
            raise InvalidProblem(
                ("body", "prune"),
                f"cannot prune Group/{name}: it still has service accounts that are not pruned "
                f"({', '.join(left)}); delete or move them first",
            )
        unit.record(*await revoke_with_owner(conn, "group", name))
        await directory_repo.delete_group(conn, name)


async def prune_in(unit: UnitOfWork, keep: set[tuple[str, str]]) -> list[tuple[str, str, Any]]:
    """Deletes every managed resource not in ``keep`` (kind, name); each (kind, name, state before)."""
    pruned: list[tuple[str, str, Any]] = []
    for kind in sorted(ORDER, key=ORDER.__getitem__, reverse=True):
        for name in await managed.managed(unit.conn, kind):
            if (kind, name) in keep:
                continue

            async def write(unit: UnitOfWork, before: Any, kind: str = kind, name: str = name) -> None:
                await _remove(unit, kind, name)

            before = await TRACKED[kind].read(unit.conn, name)
            await unit.change(TRACKED[kind], name, write)
            pruned.append((kind, name, before))
    return pruned
