"""``headwater secrets rotate-key``: every stored credential resealed under a new key, in one change.

Each value sealed under the old key (the configured one) is opened and sealed again under the new
key, with a fresh nonce; its ``updated_at`` stays (the value did not change), and each resealing is
recorded as ``credential.rotate_key`` in the audit trail (the key ids, never a value). A value
already under the new key is skipped, so running it again is harmless: it finishes a rotation that
servers still on the old key wrote to meanwhile. A value that the old key cannot open (sealed under
a third key, or altered) refuses the whole rotation: nothing is changed.

Running servers notice the change at their next revision check; until they restart with the new key
they keep serving the values they had opened (:mod:`headwater.storage.sql.snapshot_source`).
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.audit.record import Entry, Origin
from headwater.catalog.secret_box import CannotOpen, SecretBox
from headwater.control import ControlPlane
from headwater.storage.sql import credentials as repo
from headwater.unit_of_work import UnitOfWork, perform


class RotationRefused(Exception):
    """Nothing was changed; the message says why (credential names and key ids, never a value)."""


@dataclass(frozen=True, slots=True)
class Rotation:
    resealed: int  # values now under the new key that were under the old one
    skipped: int  # values that were under the new key already


async def rotate(
    cp: ControlPlane, old: SecretBox, new: SecretBox, origin: Origin, *, dry_run: bool = False
) -> Rotation:
    if old.id == new.id:
        raise RotationRefused(f"the new key is the configured key ({old.id}): nothing to rotate")

    async def work(unit: UnitOfWork) -> Rotation:
        rows = await repo.list_rows(unit.conn)
        pending = [row for row in rows if row.sealed.key_id != new.id]
        unopened: list[str] = []
        values: dict[str, str] = {}
        for row in pending:
            try:
                values[row.name] = old.open(row.name, row.sealed)
            except CannotOpen:
                unopened.append(f"{row.name} (key {row.sealed.key_id})")
        if unopened:
            raise RotationRefused(
                f"the configured key ({old.id}) cannot open {', '.join(unopened)}: nothing was changed"
            )
        for row in pending:
            await repo.reseal(unit.conn, row.name, new.seal(row.name, values[row.name]))
            unit.record(
                Entry(
                    "credential.rotate_key",
                    "credential",
                    row.name,
                    detail=f"resealed under key {new.id} (was {row.sealed.key_id})",
                )
            )
        return Rotation(resealed=len(pending), skipped=len(rows) - len(pending))

    return await perform(cp, origin, work, dry_run=dry_run)
