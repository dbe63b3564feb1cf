"""Audit entries of directory changes, and the key revocations an owner's deletion brings."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry
from headwater.storage.sql import directory as repo
from headwater.storage.sql import keys


def audit_entry(
    target_type: str,
    name: str,
    before: BaseModel | None,
    after: BaseModel | None,
    detail: str | None = None,
) -> Entry:
    """``<type>.create``, ``.update`` or ``.delete``, from the states around a change."""
    verb = "create" if before is None else "delete" if after is None else "update"
    return Entry(
        action=f"{target_type}.{verb}",
        target_type=target_type,
        target_id=name,
        before=before.model_dump(mode="json") if before is not None else None,
        after=after.model_dump(mode="json") if after is not None else None,
        detail=detail,
    )


async def revoke_owned(conn: AsyncConnection, owner_type: str, name: str) -> list[Entry]:
    """Revokes an owner's live keys; returns a ``key.revoke`` entry for each."""
    live = {key.id: key for key in await repo.live_keys(conn, owner_type, name)}
    entries = []
    for key_id in await keys.revoke_owned(conn, owner_type, name):
        revoked = await keys.get(conn, key_id)
        before = live.get(key_id)
        entries.append(
            Entry(
                action="key.revoke",
                target_type="key",
                target_id=key_id,
                before=before.model_dump(mode="json") if before is not None else None,
                after=revoked.model_dump(mode="json") if revoked is not None else None,
                detail=f"revoked with its owner {owner_type}:{name}, which was deleted",
            )
        )
    return entries
