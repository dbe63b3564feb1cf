"""A key's lifecycle: disable and enable, revoke (one key, or in bulk), rotate its secret.

Every verb is one unit of work (:mod:`headwater.unit_of_work`): one transaction that also writes its
audit event and bumps the revision, so every gateway stops (or starts) honouring the key within a
second; a verb that changes nothing (revoking a revoked key) writes nothing. Every verb needs a key the caller
manages (a group admin sees members' personal keys but changes none: 403). An admin's disable is
recorded as a restriction that only an admin's enable lifts (:mod:`headwater.keys.restrictions`);
a rotation grace is at most ``HEADWATER_KEYS_MAX_ROTATION_GRACE``, for everyone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.access import Caller
from headwater.keys import restrictions, secret
from headwater.keys.schemas import KeyBulkRevoke, KeyBulkRevoked, KeyCreated, KeyRead
from headwater.keys.selfservice import KeyRules
from headwater.keys.service import KEYS, check_manages, managed, state
from headwater.names import parse_duration
from headwater.problems import ConflictProblem, NotFoundProblem, OutsideTenantProblem
from headwater.storage.sql import directory
from headwater.storage.sql import identity as identity_repo
from headwater.storage.sql import keys as repo
from headwater.unit_of_work import UnitOfWork, perform, perform_change


async def set_status(cp: ControlPlane, key_id: str, who: Caller, wanted: str) -> KeyRead:
    """``disabled`` stops a key until it is enabled again; ``active`` enables it."""
    verb = "disable" if wanted == "disabled" else "enable"

    async def write(unit: UnitOfWork, found: KeyRead | None) -> None:
        before = managed(who, key_id, found)
        if before.status == "revoked":
            raise ConflictProblem(f"API key {key_id} is revoked; a revoked key cannot be {verb}d")
        values: dict[str, object] = {"status": wanted}
        if who.principal.is_admin:
            fresh = restrictions.set_by_admin(before.restrictions, values)
            values["restrictions"] = restrictions.stored(fresh)
            unchanged = before.status == wanted and fresh == before.restrictions
        else:
            if wanted == "active":
                restrictions.check_enable(before)
            unchanged = before.status == wanted
        if not unchanged:
            await repo.set_values(unit.conn, key_id, {**values, "updated_at": utcnow()})

    after = await perform_change(cp, who.origin, KEYS, key_id, write, action=f"key.{verb}")
    assert after is not None
    return after


async def revoke(cp: ControlPlane, key_id: str, who: Caller) -> KeyRead:
    async def write(unit: UnitOfWork, found: KeyRead | None) -> None:
        if managed(who, key_id, found).status != "revoked":
            now = utcnow()
            await repo.set_values(
                unit.conn, key_id, {"status": "revoked", "revoked_at": now, "updated_at": now}
            )

    after = await perform_change(cp, who.origin, KEYS, key_id, write, action="key.revoke")
    assert after is not None
    return after


async def rotate(
    cp: ControlPlane, key_id: str, who: Caller, grace: str | None, rules: KeyRules
) -> KeyCreated:
    """A new secret for the same key (returned once); the old one works for ``grace``, if given."""
    period = parse_duration(grace) if grace else timedelta(0)
    rules.check_grace(period)
    fresh = secret.new_key(key_id)

    async def write(unit: UnitOfWork, found: KeyRead | None) -> None:
        if managed(who, key_id, found).status == "revoked":
            raise ConflictProblem(f"API key {key_id} is revoked; create a new key instead")
        old_hash = await repo.secret_hash(unit.conn, key_id)
        now = utcnow()
        await repo.set_values(
            unit.conn,
            key_id,
            {
                "hash": fresh.hash,
                "previous_hash": old_hash if period else None,
                "previous_expires_at": now + period if period else None,
                "rotated_at": now,
                "updated_at": now,
            },
        )

    detail = f"old secret valid for {grace}" if period else "old secret invalid at once"
    after = await perform_change(cp, who.origin, KEYS, key_id, write, action="key.rotate", detail=detail)
    assert after is not None
    return KeyCreated(**after.model_dump(), key=fresh.key)


async def _selected(cp: ControlPlane, who: Caller, data: KeyBulkRevoke) -> frozenset[str]:
    """The owners a bulk revoke covers; a target outside the caller's tenant answers 404, a member
    of a group the caller administers 403 (their personal keys are not the group admin's)."""
    tenancy = who.tenancy
    async with cp.read() as conn:
        if data.user is not None:
            owner = f"user:{data.user}"
            if not await directory.owner_exists(conn, "user", data.user) or not tenancy.sees(owner):
                raise _missing(tenancy.everything, f"user {data.user} not found")
            check_manages(who, owner)
            return frozenset({owner})
        if data.service_account is not None:
            owner = f"serviceaccount:{data.service_account}"
            exists = await directory.owner_exists(conn, "serviceaccount", data.service_account)
            if not exists or not tenancy.sees(owner):
                raise _missing(tenancy.everything, f"service account {data.service_account} not found")
            return frozenset({owner})
        group = data.group
        assert group is not None
        owner = f"group:{group}"
        if not await directory.owner_exists(conn, "group", group) or not tenancy.sees(owner):
            raise _missing(tenancy.everything, f"group {group} not found")
        accounts = await identity_repo.service_accounts_of(conn, [group])
    return frozenset({owner, *(f"serviceaccount:{name}" for name in accounts)})


def _missing(everything: bool, message: str) -> NotFoundProblem:
    return NotFoundProblem(message) if everything else OutsideTenantProblem(message)


async def revoke_live(
    conn: AsyncConnection, owners: frozenset[str], detail: str
) -> tuple[list[KeyRead], list[Entry]]:
    """Revokes, in ``conn``'s transaction, every key of ``owners`` not revoked yet: the keys as
    revoked, and a ``key.revoke`` audit entry for each (for the caller to record)."""
    before = await repo.live_of(conn, owners)
    now = utcnow()
    await repo.revoke_ids(conn, [key.id for key in before], now)
    revoked = [key.model_copy(update={"status": "revoked", "revoked_at": now}) for key in before]
    entries = [
        Entry("key.revoke", "key", old.id, before=state(old), after=state(new), detail=detail)
        for old, new in zip(before, revoked, strict=True)
    ]
    return revoked, entries


async def revoke_with_owner(conn: AsyncConnection, owner_type: str, name: str) -> list[Entry]:
    """Deleting a user, group or service account revokes its keys: a key never outlives its owner."""
    owner = f"{owner_type}:{name}"
    _, entries = await revoke_live(
        conn, frozenset({owner}), f"revoked with its owner {owner}, which was deleted"
    )
    return entries


async def bulk_revoke(cp: ControlPlane, who: Caller, data: KeyBulkRevoke) -> KeyBulkRevoked:
    """Revokes every live key of a user, a group (and its service accounts) or a service account."""
    owners = await _selected(cp, who, data)
    if data.dry_run:
        async with cp.read() as conn:
            keys = await repo.live_of(conn, owners)
        return KeyBulkRevoked(dry_run=True, count=len(keys), keys=keys)
    target = next(iter(owners)) if len(owners) == 1 else f"group:{data.group}"

    async def work(unit: UnitOfWork) -> list[KeyRead]:
        revoked, entries = await revoke_live(unit.conn, owners, f"bulk revoke of {target}")
        unit.record(*entries)
        return revoked

    revoked = await perform(cp, who.origin, work)
    return KeyBulkRevoked(dry_run=False, count=len(revoked), keys=revoked)
