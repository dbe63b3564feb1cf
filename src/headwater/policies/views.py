"""/api/v1/policies"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.names import NAME_PATTERN
from headwater.policies import service
from headwater.policies.schemas import PolicyCreate, PolicyPage, PolicyRead, PolicySpec

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("", summary="List policies (tiers)")
async def list_policies(cp: ControlPlaneDep, who: CallerDep) -> PolicyPage:
    return PolicyPage(items=await service.list_policies(cp, who), next=None)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a policy")
async def create_policy(body: PolicyCreate, cp: ControlPlaneDep, who: CallerDep) -> PolicyRead:
    spec = PolicySpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put(cp, body.name, spec, who.origin, create=True)


@router.get("/{name}", summary="Show a policy")
async def get_policy(name: str, cp: ControlPlaneDep, who: CallerDep) -> PolicyRead:
    return await service.get(cp, name, who)


@router.put("/{name}", summary="Create or replace a policy")
async def put_policy(
    name: Annotated[str, Path(pattern=NAME_PATTERN)], body: PolicySpec, cp: ControlPlaneDep, who: CallerDep
) -> PolicyRead:
    return await service.put(cp, name, body, who.origin, create=False)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a policy")
async def delete_policy(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete(cp, name, who.origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
