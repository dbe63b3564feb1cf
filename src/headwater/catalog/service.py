"""Model catalog operations. Every change is written to the audit trail in its own transaction.

Everyone signed in may read the catalog; callers who are not admins or auditors see it without its
deployments (:func:`headwater.catalog.schemas.public_view`): upstream URLs and credential variable
names are internals. A deployment may name only credential variables meant for upstreams
(:mod:`headwater.catalog.credentials`), checked on every create, replace and apply.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry, Origin, change, record
from headwater.catalog.credentials import refusal
from headwater.catalog.schemas import ModelRead, ModelSpec, audit_state, public_view
from headwater.control import ControlPlane
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem
from headwater.storage.sql import catalog as repo

Loc = tuple[str | int, ...]


def audit_entry(name: str, before: ModelRead | None, after: ModelRead | None) -> Entry:
    """``model.create``, ``.update`` or ``.delete``, with credentials in deployment URLs redacted."""
    return change(
        "model",
        name,
        audit_state(before) if before is not None else None,
        audit_state(after) if after is not None else None,
    )


def _shown(model: ModelRead, reads_everything: bool) -> ModelRead:
    """Deployments (upstream URLs, credential variables) are for admins and auditors only."""
    return model if reads_everything else public_view(model)


async def list_models(cp: ControlPlane, *, reads_everything: bool) -> list[ModelRead]:
    async with cp.read() as conn:
        found = await repo.list_all(conn)
    return [_shown(model, reads_everything) for model in found]


async def get(cp: ControlPlane, name: str, *, reads_everything: bool) -> ModelRead:
    async with cp.read() as conn:
        found = await repo.get(conn, name)
    if found is None:
        raise NotFoundProblem(f"model {name} not found")
    return _shown(found, reads_everything)


def check_credentials(spec: ModelSpec, prefix: str, loc: Loc) -> None:
    """422 at ``loc``.deployments.N.credential_env for a variable no deployment may read."""
    for index, deployment in enumerate(spec.deployments):
        if deployment.credential_env is not None:
            why = refusal(deployment.credential_env, prefix)
            if why is not None:
                raise InvalidProblem((*loc, "deployments", index, "credential_env"), why)


async def put_in(
    conn: AsyncConnection, name: str, spec: ModelSpec, prefix: str, loc: Loc, *, exists: bool
) -> None:
    """``exists``: what the caller read before (a row created since makes the insert fail, and the
    change is tried again: never an update recorded as a creation)."""
    check_credentials(spec, prefix, loc)
    await repo.upsert(conn, name, spec, exists=exists)


async def create(cp: ControlPlane, name: str, spec: ModelSpec, origin: Origin) -> ModelRead:
    check_credentials(spec, cp.credential_env_prefix, ("body",))
    async with cp.change() as conn:
        if await repo.get(conn, name) is not None:
            raise ConflictProblem(f"model {name} already exists (use PUT to replace it)")
        await repo.upsert(conn, name, spec, exists=False)
        created = await repo.get(conn, name)
        assert created is not None
        await record(conn, origin, audit_entry(name, None, created))
    return created


async def put(cp: ControlPlane, name: str, spec: ModelSpec, origin: Origin) -> ModelRead:
    check_credentials(spec, cp.credential_env_prefix, ("body",))
    return await cp.retried(lambda: _put(cp, name, spec, origin))


async def _put(cp: ControlPlane, name: str, spec: ModelSpec, origin: Origin) -> ModelRead:
    async with cp.change() as conn:
        before = await repo.get(conn, name)
        await repo.upsert(conn, name, spec, exists=before is not None)
        stored = await repo.get(conn, name)
        assert stored is not None
        await record(conn, origin, audit_entry(name, before, stored))
    return stored


async def delete(cp: ControlPlane, name: str, origin: Origin) -> None:
    async with cp.change() as conn:
        before = await repo.get(conn, name)
        if before is None or not await repo.delete_model(conn, name):
            raise NotFoundProblem(f"model {name} not found")
        await record(conn, origin, audit_entry(name, before, None))
