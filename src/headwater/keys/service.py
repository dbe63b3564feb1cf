"""API keys: create (the secret is returned once), list, read and update, within the caller's tenant.

Admins manage every key. Anyone else sees the keys of their tenant and manages those of their own
(:meth:`~headwater.identity.access.Tenancy.manages`): their own keys; a group admin also their groups' and
service accounts' keys, while members' personal keys are only visible to them (changing one is 403).
Non-admins create and change keys under the self-service rules
(:class:`~headwater.keys.selfservice.KeyRules`): only for models their policies allow, within the
maximum expiry, per-key limits (a limit left out gets the maximum) and number of keys; and only
tightening what an admin set (:mod:`headwater.keys.restrictions`).

Every change is a unit of work (:mod:`headwater.unit_of_work`), which records it in the audit trail.
The number of live keys per user holds under concurrent creation: changes take turns under the
unit's change lock, so a creation counts what every earlier one committed before it inserts.
Lifecycle verbs are in :mod:`headwater.keys.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.access import Caller
from headwater.keys import restrictions, secret
from headwater.keys.schemas import KeyCreate, KeyCreated, KeyLimits, KeyPage, KeyRead, KeyUpdate
from headwater.keys.selfservice import KeyRules
from headwater.names import parse_duration, split_owner
from headwater.policies.plan import allowed_models
from headwater.problems import ForbiddenProblem, InvalidProblem, NotFoundProblem, OutsideTenantProblem
from headwater.snapshot import Snapshot
from headwater.storage.sql import catalog, directory
from headwater.storage.sql import keys as repo
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

SnapshotFn = Callable[[], Snapshot]

NOT_MANAGED = (
    "Group admins manage only their groups' and their service accounts' keys; {owner}'s own keys "
    "are changed only by {owner} or an admin."
)


def state(key: KeyRead) -> dict[str, Any]:
    """A key as the audit trail records it (never the secret: KeyRead has none)."""
    return key.model_dump(mode="json")


#: Keys, as changes read and record them.
KEYS = Tracked("key", repo.get, state)


async def _check_models(conn: AsyncConnection, models: list[str] | None, field: str) -> None:
    if not models:
        return
    known = {model.name for model in await catalog.list_all(conn, sorted(set(models)))}
    for index, name in enumerate(models):
        if name not in known:
            raise InvalidProblem(("body", field, index), f"unknown model {name!r}")


def _check_allowed(snapshot: Snapshot, owner: str, models: list[str] | None) -> None:
    """Self-service keys name only models the owner's policies let it call."""
    if not models:
        return
    allowed = allowed_models(snapshot, owner)
    for index, name in enumerate(models):
        if name not in allowed:
            raise InvalidProblem(
                ("body", "models", index), f"your policies do not give {owner} access to model {name!r}"
            )


def _owner(who: Caller, requested: str | None) -> str | None:
    """The owner of a new key: given, or the calling user. Non-admins create keys only for themselves
    and for the groups and service accounts they administer."""
    principal = who.principal
    if requested is None:
        return None if principal.kind == "bootstrap" else f"user:{principal.name}"
    if principal.is_admin:
        return requested
    if not who.tenancy.manages(requested):
        raise ForbiddenProblem(
            "You may create keys for yourself and for the groups and service accounts you administer."
        )
    return requested


def _expiry(data: KeyCreate, now: datetime) -> datetime | None:
    if data.expires_at is not None and data.expires_in is not None:
        raise InvalidProblem(("body", "expires_in"), "give expires_at or expires_in, not both")
    expires_at = data.expires_at
    if data.expires_in is not None:
        expires_at = now + parse_duration(data.expires_in)
    if expires_at is not None and expires_at <= now:
        raise InvalidProblem(("body", "expires_at"), "expires_at is in the past")
    return expires_at


def _limits_value(limits: KeyLimits | None) -> dict[str, Any] | None:
    return limits.model_dump(mode="json") if limits else None


async def create(
    cp: ControlPlane, data: KeyCreate, who: Caller, rules: KeyRules, snapshot: SnapshotFn
) -> KeyCreated:
    now = utcnow()
    expires_at = _expiry(data, now)
    owner = _owner(who, data.owner)
    self_service = not who.principal.is_admin
    limits = data.limits
    if self_service:
        field = "expires_in" if data.expires_in is not None else "expires_at"
        expires_at = rules.expiry(expires_at, now, field)
        rules.check_limits(limits)
        limits = rules.filled(limits)
        assert owner is not None
        _check_allowed(snapshot(), owner, data.models)
    values: dict[str, Any] = {
        "models": sorted(set(data.models)) if data.models is not None else None,
        "limits": _limits_value(limits),
        "expires_at": expires_at,
    }
    if not self_service:
        values["restrictions"] = restrictions.stored(restrictions.set_by_admin(None, values))
    new = secret.new_key()

    async def insert(unit: UnitOfWork, _: KeyRead | None) -> None:
        conn = unit.conn
        owner_type = owner_name = None
        if owner is not None:
            owner_type, owner_name = split_owner(owner)
            if not await directory.owner_exists(conn, owner_type, owner_name):
                raise InvalidProblem(("body", "owner"), f"{owner} does not exist")
            if self_service and owner_type == "user" and rules.max_active_per_user > 0:
                rules.check_count(owner, await repo.count_live(conn, owner_type, owner_name))
        await _check_models(conn, data.models, "models")
        await repo.insert(
            conn,
            {
                "id": new.id,
                "hash": new.hash,
                "prefix": new.prefix,
                "name": data.name,
                "description": data.description,
                "owner_type": owner_type,
                "owner_name": owner_name,
                "status": "active",
                "created_by": who.actor,
                "created_at": now,
                "updated_at": now,
                **values,
            },
        )

    created = await perform_change(cp, who.origin, KEYS, new.id, insert)
    assert created is not None
    return KeyCreated(**created.model_dump(), key=new.key)


def visible(who: Caller, key_id: str, found: KeyRead | None) -> KeyRead:
    """``found`` when it is a key of the caller's tenant: others answer 404, like keys that do not exist."""
    if found is None:
        raise NotFoundProblem(f"API key {key_id} not found")
    if not who.tenancy.sees(found.owner):
        raise OutsideTenantProblem(f"API key {key_id} not found")
    return found


async def current(conn: AsyncConnection, who: Caller, key_id: str) -> KeyRead:
    """A key of the caller's tenant: others answer 404, like keys that do not exist."""
    return visible(who, key_id, await repo.get(conn, key_id))


def check_manages(who: Caller, owner: str | None) -> None:
    """403 for an owner the caller sees but may not change the keys of (a member, for a group admin)."""
    if not who.tenancy.manages(owner):
        raise ForbiddenProblem(NOT_MANAGED.format(owner=owner))


def managed(who: Caller, key_id: str, found: KeyRead | None) -> KeyRead:
    """``found`` when the caller may change it: 404 outside their tenant, 403 for a key they only see."""
    key = visible(who, key_id, found)
    check_manages(who, key.owner)
    return key


async def get(cp: ControlPlane, key_id: str, who: Caller) -> KeyRead:
    async with cp.read() as conn:
        return await current(conn, who, key_id)


async def page(
    cp: ControlPlane,
    who: Caller,
    *,
    owner: str | None,
    status: str | None,
    name: str | None,
    model: str | None,
    limit: int,
    cursor: str | None,
) -> KeyPage:
    async with cp.read() as conn:
        try:
            items, next_cursor = await repo.page(
                conn,
                owner=split_owner(owner) if owner else None,
                status=status,
                name=name,
                model=model,
                limit=limit,
                cursor=cursor,
                owners=who.tenancy.owners,
            )
        except ValueError as exc:
            raise InvalidProblem(("query", "cursor"), str(exc)) from None
    return KeyPage(items=items, next=next_cursor)


def _check_update(rules: KeyRules, snapshot: SnapshotFn, key: KeyRead, data: KeyUpdate) -> None:
    """Self-service rules on a change: the same as on creation."""
    values = data.model_dump(exclude_unset=True)
    if "expires_at" in values:
        now = utcnow()
        if values["expires_at"] is None and rules.max_expiry is not None:
            raise InvalidProblem(("body", "expires_at"), "self-service keys must expire")
        rules.expiry(values["expires_at"], now, "expires_at")
    if key.owner is not None:
        _check_allowed(snapshot(), key.owner, data.models)


async def update(
    cp: ControlPlane, key_id: str, data: KeyUpdate, who: Caller, rules: KeyRules, snapshot: SnapshotFn
) -> KeyRead:
    admin = who.principal.is_admin
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "limits" in values:
        values["limits"] = _limits_value(data.limits)
        if not admin:
            rules.check_limits(data.limits)
    if "models" in values and values["models"] is not None:
        values["models"] = sorted(set(values["models"]))

    async def write(unit: UnitOfWork, found: KeyRead | None) -> None:
        before = managed(who, key_id, found)
        if before.status == "revoked":
            raise InvalidProblem(("path", "key_id"), "a revoked key cannot be changed")
        changes = dict(values)  # this attempt's own (a change may be tried again)
        if admin:
            if changes:
                changed = restrictions.set_by_admin(before.restrictions, changes)
                changes["restrictions"] = restrictions.stored(changed)
        else:
            _check_update(rules, snapshot, before, data)
            restrictions.check_tightened(before, changes)
            if "limits" in changes:  # a dimension left out gets the maximum, never "unlimited"
                changes["limits"] = _limits_value(rules.filled(data.limits))
        await _check_models(unit.conn, data.models, "models")
        if changes:
            changes["updated_at"] = utcnow()
            await repo.set_values(unit.conn, key_id, changes)

    after = await perform_change(cp, who.origin, KEYS, key_id, write)
    assert after is not None
    return after
