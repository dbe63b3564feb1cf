"""/api/v1/keys"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.keys import lifecycle, service
from headwater.keys.schemas import (
    KeyBulkRevoke,
    KeyBulkRevoked,
    KeyCreate,
    KeyCreated,
    KeyPage,
    KeyRead,
    KeyRotate,
    KeyStatus,
    KeyUpdate,
)
from headwater.keys.selfservice import KeyRules
from headwater.names import OWNER_PATTERN
from headwater.policies import quota
from headwater.policies.quota_schemas import QuotaRead

router = APIRouter(prefix="/keys", tags=["keys"])


def _rules(request: Request) -> KeyRules:
    rules: KeyRules = request.app.state.key_rules
    return rules


def _snapshot(request: Request) -> service.SnapshotFn:
    current: service.SnapshotFn = request.app.state.snapshot
    return current


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a key (the secret is returned once)")
async def create_key(body: KeyCreate, request: Request, cp: ControlPlaneDep, who: CallerDep) -> KeyCreated:
    return await service.create(cp, body, who, _rules(request), _snapshot(request))


@router.get("", summary="List the keys you may see, newest first")
async def list_keys(
    cp: ControlPlaneDep,
    who: CallerDep,
    owner: Annotated[str | None, Query(pattern=OWNER_PATTERN)] = None,
    status_: Annotated[KeyStatus | None, Query(alias="status")] = None,
    name: str | None = None,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> KeyPage:
    return await service.page(
        cp, who, owner=owner, status=status_, name=name, model=model, limit=limit, cursor=cursor
    )


@router.post(
    "/revoke",
    summary="Revoke every key of a user, a group (with its service accounts) or a service account",
)
async def bulk_revoke(body: KeyBulkRevoke, cp: ControlPlaneDep, who: CallerDep) -> KeyBulkRevoked:
    return await lifecycle.bulk_revoke(cp, who, body)


@router.get("/{key_id}", summary="Show a key")
async def get_key(key_id: str, cp: ControlPlaneDep, who: CallerDep) -> KeyRead:
    return await service.get(cp, key_id, who)


@router.get("/{key_id}/quota", summary="How much is left: every limit, budget and capacity the key counts on")
async def key_quota(key_id: str, request: Request, cp: ControlPlaneDep, who: CallerDep) -> QuotaRead:
    return await quota.for_key(cp, key_id, who, request.app.state.live_limits)


@router.patch("/{key_id}", summary="Change a key's name, description, scope, expiry, limits or status")
async def update_key(
    key_id: str, body: KeyUpdate, request: Request, cp: ControlPlaneDep, who: CallerDep
) -> KeyRead:
    return await service.update(cp, key_id, body, who, _rules(request), _snapshot(request))


@router.post("/{key_id}/disable", summary="Disable a key until it is enabled again")
async def disable_key(key_id: str, cp: ControlPlaneDep, who: CallerDep) -> KeyRead:
    return await lifecycle.set_status(cp, key_id, who, "disabled")


@router.post("/{key_id}/enable", summary="Enable a disabled key (one an admin disabled: admins only)")
async def enable_key(key_id: str, cp: ControlPlaneDep, who: CallerDep) -> KeyRead:
    return await lifecycle.set_status(cp, key_id, who, "active")


@router.post("/{key_id}/revoke", summary="Revoke a key (in force on every gateway within a second)")
async def revoke_key(key_id: str, cp: ControlPlaneDep, who: CallerDep) -> KeyRead:
    return await lifecycle.revoke(cp, key_id, who)


@router.post(
    "/{key_id}/rotate",
    summary="Give a key a new secret (returned once); the old one may keep working for a grace period",
)
async def rotate_key(
    key_id: str,
    request: Request,
    cp: ControlPlaneDep,
    who: CallerDep,
    body: Annotated[KeyRotate | None, Body()] = None,
) -> KeyCreated:
    return await lifecycle.rotate(cp, key_id, who, body.grace if body else None, _rules(request))
