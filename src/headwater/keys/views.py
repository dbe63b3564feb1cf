"""/api/v1/keys"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.keys import service
from headwater.keys.schemas import KeyCreate, KeyCreated, KeyPage, KeyRead, KeyStatus, KeyUpdate
from headwater.names import OWNER_PATTERN

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a key (the secret is returned once)")
async def create_key(body: KeyCreate, cp: ControlPlaneDep, who: CallerDep) -> KeyCreated:
    return await service.create(cp, body, who.actor)


@router.get("", summary="List keys, newest first")
async def list_keys(
    cp: ControlPlaneDep,
    owner: Annotated[str | None, Query(pattern=OWNER_PATTERN)] = None,
    status_: Annotated[KeyStatus | None, Query(alias="status")] = None,
    name: str | None = None,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> KeyPage:
    return await service.page(
        cp, owner=owner, status=status_, name=name, model=model, limit=limit, cursor=cursor
    )


@router.get("/{key_id}", summary="Show a key")
async def get_key(key_id: str, cp: ControlPlaneDep) -> KeyRead:
    return await service.get(cp, key_id)


@router.patch("/{key_id}", summary="Change a key's name, description, scope, expiry or status")
async def update_key(key_id: str, body: KeyUpdate, cp: ControlPlaneDep) -> KeyRead:
    return await service.update(cp, key_id, body)


@router.post("/{key_id}/revoke", summary="Revoke a key (in force on every gateway within a second)")
async def revoke_key(key_id: str, cp: ControlPlaneDep) -> KeyRead:
    return await service.revoke(cp, key_id)
