"""Model catalog operations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.catalog.schemas import ModelRead, ModelSpec
from headwater.control import ControlPlane
from headwater.problems import ConflictProblem, NotFoundProblem
from headwater.storage.sql import catalog as repo


async def list_models(cp: ControlPlane) -> list[ModelRead]:
    async with cp.read() as conn:
        return await repo.list_all(conn)


async def get(cp: ControlPlane, name: str) -> ModelRead:
    async with cp.read() as conn:
        found = await repo.get(conn, name)
    if found is None:
        raise NotFoundProblem(f"model {name} not found")
    return found


async def put_in(conn: AsyncConnection, name: str, spec: ModelSpec) -> None:
    exists = await repo.get(conn, name) is not None
    await repo.upsert(conn, name, spec, exists=exists)


async def create(cp: ControlPlane, name: str, spec: ModelSpec) -> ModelRead:
    async with cp.change() as conn:
        if await repo.get(conn, name) is not None:
            raise ConflictProblem(f"model {name} already exists (use PUT to replace it)")
        await repo.upsert(conn, name, spec, exists=False)
        created = await repo.get(conn, name)
    assert created is not None
    return created


async def put(cp: ControlPlane, name: str, spec: ModelSpec) -> ModelRead:
    async with cp.change() as conn:
        await put_in(conn, name, spec)
        stored = await repo.get(conn, name)
    assert stored is not None
    return stored


async def delete(cp: ControlPlane, name: str) -> None:
    async with cp.change() as conn:
        if not await repo.delete_model(conn, name):
            raise NotFoundProblem(f"model {name} not found")
