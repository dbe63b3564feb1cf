"""/api/v1/users, /api/v1/groups, /api/v1/service-accounts"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from headwater.admin.deps import ControlPlaneDep
from headwater.directory import service
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

router = APIRouter()
PathName = Annotated[str, Path(pattern=NAME_PATTERN)]
NO_CONTENT = status.HTTP_204_NO_CONTENT


# ---- users --------------------------------------------------------------------------------------
@router.get("/users", tags=["users"], summary="List users")
async def list_users(cp: ControlPlaneDep) -> UserPage:
    return UserPage(items=await service.list_users(cp), next=None)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create_user(body: UserCreate, cp: ControlPlaneDep) -> UserRead:
    spec = UserSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put_user(cp, body.name, spec, create=True)


@router.get("/users/{name}", tags=["users"], summary="Show a user")
async def get_user(name: str, cp: ControlPlaneDep) -> UserRead:
    return await service.get_user(cp, name)


@router.put("/users/{name}", tags=["users"], summary="Create or replace a user")
async def put_user(name: PathName, body: UserSpec, cp: ControlPlaneDep) -> UserRead:
    return await service.put_user(cp, name, body, create=False)


@router.delete(
    "/users/{name}", tags=["users"], status_code=NO_CONTENT, summary="Delete a user, revoking their keys"
)
async def delete_user(name: str, cp: ControlPlaneDep) -> Response:
    await service.delete_user(cp, name)
    return Response(status_code=NO_CONTENT)


# ---- groups -------------------------------------------------------------------------------------
@router.get("/groups", tags=["groups"], summary="List groups")
async def list_groups(cp: ControlPlaneDep) -> GroupPage:
    return GroupPage(items=await service.list_groups(cp), next=None)


@router.post("/groups", tags=["groups"], status_code=status.HTTP_201_CREATED, summary="Create a group")
async def create_group(body: GroupCreate, cp: ControlPlaneDep) -> GroupRead:
    spec = GroupSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put_group(cp, body.name, spec, create=True)


@router.get("/groups/{name}", tags=["groups"], summary="Show a group")
async def get_group(name: str, cp: ControlPlaneDep) -> GroupRead:
    return await service.get_group(cp, name)


@router.put("/groups/{name}", tags=["groups"], summary="Create or replace a group")
async def put_group(name: PathName, body: GroupSpec, cp: ControlPlaneDep) -> GroupRead:
    return await service.put_group(cp, name, body, create=False)


@router.delete(
    "/groups/{name}", tags=["groups"], status_code=NO_CONTENT, summary="Delete a group, revoking its keys"
)
async def delete_group(name: str, cp: ControlPlaneDep) -> Response:
    await service.delete_group(cp, name)
    return Response(status_code=NO_CONTENT)


# ---- service accounts ---------------------------------------------------------------------------
TAG = "service accounts"


@router.get("/service-accounts", tags=[TAG], summary="List service accounts")
async def list_service_accounts(cp: ControlPlaneDep) -> ServiceAccountPage:
    return ServiceAccountPage(items=await service.list_service_accounts(cp), next=None)


@router.post(
    "/service-accounts", tags=[TAG], status_code=status.HTTP_201_CREATED, summary="Create a service account"
)
async def create_service_account(body: ServiceAccountCreate, cp: ControlPlaneDep) -> ServiceAccountRead:
    spec = ServiceAccountSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.put_service_account(cp, body.name, spec, create=True)


@router.get("/service-accounts/{name}", tags=[TAG], summary="Show a service account")
async def get_service_account(name: str, cp: ControlPlaneDep) -> ServiceAccountRead:
    return await service.get_service_account(cp, name)


@router.put("/service-accounts/{name}", tags=[TAG], summary="Create or replace a service account")
async def put_service_account(
    name: PathName, body: ServiceAccountSpec, cp: ControlPlaneDep
) -> ServiceAccountRead:
    return await service.put_service_account(cp, name, body, create=False)


@router.delete(
    "/service-accounts/{name}",
    tags=[TAG],
    status_code=NO_CONTENT,
    summary="Delete a service account, revoking its keys",
)
async def delete_service_account(name: str, cp: ControlPlaneDep) -> Response:
    await service.delete_service_account(cp, name)
    return Response(status_code=NO_CONTENT)
