"""API key lifecycle: create (secret returned once), list, read, update, revoke."""

from __future__ import annotations

from typing import Any

from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.keys import secret
from headwater.keys.schemas import KeyCreate, KeyCreated, KeyPage, KeyRead, KeyUpdate
from headwater.names import parse_duration, split_owner
from headwater.problems import InvalidProblem, NotFoundProblem
from headwater.storage.sql import catalog, directory
from headwater.storage.sql import keys as repo


async def _check_models(cp_conn: Any, models: list[str] | None, field: str) -> None:
    if not models:
        return
    known = {model.name for model in await catalog.list_all(cp_conn, sorted(set(models)))}
    for index, name in enumerate(models):
        if name not in known:
            raise InvalidProblem(("body", field, index), f"unknown model {name!r}")


async def create(cp: ControlPlane, data: KeyCreate, actor: str) -> KeyCreated:
    now = utcnow()
    if data.expires_at is not None and data.expires_in is not None:
        raise InvalidProblem(("body", "expires_in"), "give expires_at or expires_in, not both")
    expires_at = data.expires_at
    if data.expires_in is not None:
        expires_at = now + parse_duration(data.expires_in)
    if expires_at is not None and expires_at <= now:
        raise InvalidProblem(("body", "expires_at"), "expires_at is in the past")
    owner_type = owner_name = None
    new = secret.new_key()
    async with cp.change() as conn:
        if data.owner is not None:
            owner_type, owner_name = split_owner(data.owner)
            if not await directory.owner_exists(conn, owner_type, owner_name):
                raise InvalidProblem(("body", "owner"), f"{data.owner} does not exist")
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
                "models": sorted(set(data.models)) if data.models is not None else None,
                "status": "active",
                "limits": data.limits.model_dump(mode="json") if data.limits else None,
                "expires_at": expires_at,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            },
        )
        created = await repo.get(conn, new.id)
    assert created is not None
    return KeyCreated(**created.model_dump(), key=new.key)


async def get(cp: ControlPlane, key_id: str) -> KeyRead:
    async with cp.read() as conn:
        found = await repo.get(conn, key_id)
    if found is None:
        raise NotFoundProblem(f"API key {key_id} not found")
    return found


async def page(
    cp: ControlPlane,
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
            )
        except ValueError as exc:
            raise InvalidProblem(("query", "cursor"), str(exc)) from None
    return KeyPage(items=items, next=next_cursor)


async def update(cp: ControlPlane, key_id: str, data: KeyUpdate) -> KeyRead:
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "expires_at" in values and values["expires_at"] is not None and values["expires_at"].tzinfo is None:
        raise InvalidProblem(("body", "expires_at"), "expires_at needs a timezone")
    if data.limits is not None:
        values["limits"] = data.limits.model_dump(mode="json")
    if "models" in values and values["models"] is not None:
        values["models"] = sorted(set(values["models"]))
    async with cp.change() as conn:
        current = await repo.get(conn, key_id)
        if current is None:
            raise NotFoundProblem(f"API key {key_id} not found")
        if current.status == "revoked":
            raise InvalidProblem(("path", "id"), "a revoked key cannot be changed")
        await _check_models(conn, data.models, "models")
        if values:
            values["updated_at"] = utcnow()
            await repo.set_values(conn, key_id, values)
        updated = await repo.get(conn, key_id)
    assert updated is not None
    return updated


async def revoke(cp: ControlPlane, key_id: str) -> KeyRead:
    async with cp.change() as conn:
        current = await repo.get(conn, key_id)
        if current is None:
            raise NotFoundProblem(f"API key {key_id} not found")
        if current.status != "revoked":
            now = utcnow()
            await repo.set_values(conn, key_id, {"status": "revoked", "revoked_at": now, "updated_at": now})
        revoked = await repo.get(conn, key_id)
    assert revoked is not None
    return revoked
