"""/api/v1/models"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.catalog import service
from headwater.catalog.schemas import ModelCreate, ModelPage, ModelRead, ModelSpec
from headwater.names import NAME_PATTERN

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", summary="List models")
async def list_models(cp: ControlPlaneDep, who: CallerDep) -> ModelPage:
    items = await service.list_models(cp, reads_everything=who.principal.reads_everything)
    return ModelPage(items=items, next=None)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a model")
async def create_model(body: ModelCreate, cp: ControlPlaneDep, who: CallerDep) -> ModelRead:
    spec = ModelSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.create(cp, body.name, spec, who.origin)


@router.get("/{name}", summary="Show a model")
async def get_model(name: str, cp: ControlPlaneDep, who: CallerDep) -> ModelRead:
    return await service.get(cp, name, reads_everything=who.principal.reads_everything)


@router.put("/{name}", summary="Create or replace a model")
async def put_model(
    name: Annotated[str, Path(pattern=NAME_PATTERN)], body: ModelSpec, cp: ControlPlaneDep, who: CallerDep
) -> ModelRead:
    return await service.put(cp, name, body, who.origin)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a model")
async def delete_model(name: str, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete(cp, name, who.origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
