"""/api/v1/users, /api/v1/groups, /api/v1/service-accounts"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.directory import accounts, service
from headwater.directory.schemas import (
    GroupCreate,
    GroupPage,
    GroupRead,
    GroupSpec,
    ServiceAccountCreate,
    ServiceAccountPage,
    ServiceAccountRead,
    ServiceAccountSpec,
    UserCreate,
    UserPage,
    UserRead,
    UserSpec,
)
from headwater.names import NAME_PATTERN
from headwater.policies import quota
from headwater.policies.quota_schemas import QuotaRead

router = APIRouter()
PathName = Annotated[str, Path(pattern=NAME_PATTERN)]
NO_CONTENT = status.HTTP_204_NO_CONTENT


# ---- users --------------------------------------------------------------------------------------
@router.get("/users", tags=["users"], summary="List users")
async def list_users(cp: ControlPlaneDep, who: CallerDep) -> UserPage:
    return UserPage(items=await service.list_users(cp, who), next=None)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create_user(body: UserCreate, cp: ControlPlaneDep, who: CallerDep) -> UserRead:
    spec = UserSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put_user(cp, body.name, spec, who.origin, create=True)


@router.get("/users/{name}", tags=["users"], summary="Show a user")
async def get_user(name: str, cp: ControlPlaneDep, who: CallerDep) -> UserRead:
    return await service.get_user(cp, name, who)


@router.get(
    "/users/{name}/quota",
    tags=["users"],
    summary="How much is left: every limit and budget of the user's calls, without a key and with each key",
)
async def user_quota(name: str, request: Request, cp: ControlPlaneDep, who: CallerDep) -> QuotaRead:
    return await quota.for_user(cp, name, who, request.app.state.live_limits)


@router.put("/users/{name}", tags=["users"], summary="Create or replace a user")
async def put_user(name: PathName, body: UserSpec, cp: ControlPlaneDep, who: CallerDep) -> UserRead:
    return await service.put_user(cp, name, body, who.origin, create=False)


@router.delete(
    "/users/{name}", tags=["users"], status_code=NO_CONTENT, summary="Delete a user, revoking their keys"
)
async def delete_user(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete_user(cp, name, who.origin)
    return Response(status_code=NO_CONTENT)


# ---- groups -------------------------------------------------------------------------------------
@router.get("/groups", tags=["groups"], summary="List groups")
async def list_groups(cp: ControlPlaneDep, who: CallerDep) -> GroupPage:
    return GroupPage(items=await service.list_groups(cp, who), next=None)


@router.post("/groups", tags=["groups"], status_code=status.HTTP_201_CREATED, summary="Create a group")
async def create_group(body: GroupCreate, cp: ControlPlaneDep, who: CallerDep) -> GroupRead:
    spec = GroupSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put_group(cp, body.name, spec, who.origin, create=True)


@router.get("/groups/{name}", tags=["groups"], summary="Show a group")
async def get_group(name: str, cp: ControlPlaneDep, who: CallerDep) -> GroupRead:
    return await service.get_group(cp, name, who)


@router.put("/groups/{name}", tags=["groups"], summary="Create or replace a group")
async def put_group(name: PathName, body: GroupSpec, cp: ControlPlaneDep, who: CallerDep) -> GroupRead:
    return await service.put_group(cp, name, body, who.origin, create=False)


@router.delete(
    "/groups/{name}", tags=["groups"], status_code=NO_CONTENT, summary="Delete a group, revoking its keys"
)
async def delete_group(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete_group(cp, name, who.origin)
    return Response(status_code=NO_CONTENT)


# ---- service accounts ---------------------------------------------------------------------------
TAG = "service accounts"


@router.get("/service-accounts", tags=[TAG], summary="List service accounts")
async def list_service_accounts(cp: ControlPlaneDep, who: CallerDep) -> ServiceAccountPage:
    return ServiceAccountPage(items=await accounts.list_service_accounts(cp, who), next=None)


@router.post(
    "/service-accounts", tags=[TAG], status_code=status.HTTP_201_CREATED, summary="Create a service account"
)
async def create_service_account(
    body: ServiceAccountCreate, cp: ControlPlaneDep, who: CallerDep
) -> ServiceAccountRead:
    spec = ServiceAccountSpec.model_validate(body.model_dump(exclude={"name"}))
    return await accounts.put_service_account(cp, body.name, spec, who, create=True)


@router.get("/service-accounts/{name}", tags=[TAG], summary="Show a service account")
async def get_service_account(name: str, cp: ControlPlaneDep, who: CallerDep) -> ServiceAccountRead:
    return await accounts.get_service_account(cp, name, who)


@router.put("/service-accounts/{name}", tags=[TAG], summary="Create or replace a service account")
async def put_service_account(
    name: PathName, body: ServiceAccountSpec, cp: ControlPlaneDep, who: CallerDep
) -> ServiceAccountRead:
    return await accounts.put_service_account(cp, name, body, who, create=False)


@router.delete(
    "/service-accounts/{name}",
    tags=[TAG],
    status_code=NO_CONTENT,
    summary="Delete a service account, revoking its keys",
)
async def delete_service_account(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await accounts.delete_service_account(cp, name, who)
    return Response(status_code=NO_CONTENT)
