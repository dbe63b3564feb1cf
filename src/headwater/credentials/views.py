"""/api/v1/credentials: stored upstream credentials, write-only (no read shows a value)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.credentials import service
from headwater.credentials.schemas import CredentialPage, CredentialPut, CredentialRead
from headwater.names import NAME_PATTERN

router = APIRouter(prefix="/credentials", tags=["credentials"])

NewName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=128)]


@router.get("", summary="List stored credentials (never their values)")
async def list_credentials(cp: ControlPlaneDep, who: CallerDep) -> CredentialPage:
    return CredentialPage(items=await service.list_credentials(cp), next=None)


@router.get("/{name}", summary="Show a stored credential (never its value)")
async def get_credential(name: str, cp: ControlPlaneDep, who: CallerDep) -> CredentialRead:
    return await service.get(cp, name)


@router.put(
    "/{name}",
    summary="Create (201) or replace (200) a stored credential's value",
    responses={201: {"model": CredentialRead, "description": "Created"}},
)
async def put_credential(
    name: NewName, body: CredentialPut, response: Response, cp: ControlPlaneDep, who: CallerDep
) -> CredentialRead:
    stored, created = await service.put(cp, name, body, who.origin)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return stored


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a credential no deployment uses"
)
async def delete_credential(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete(cp, name, who.origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
