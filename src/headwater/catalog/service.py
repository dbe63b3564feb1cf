"""Model catalog operations. Every change is a unit of work, written to the audit trail with it.

Everyone signed in may read the catalog; callers who are not admins or auditors see it without its
deployments (:func:`headwater.catalog.schemas.public_view`): upstream URLs and credential variable
names are internals. A deployment may name only credential variables meant for upstreams
(:mod:`headwater.catalog.credentials`) and only stored credentials that exist
(:mod:`headwater.credentials.service`), checked on every create, replace and apply.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry, Origin
from headwater.catalog.credentials import refusal
from headwater.catalog.schemas import ModelRead, ModelSpec, audit_state, public_view
from headwater.control import ControlPlane
from headwater.credentials.service import check_references
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem
from headwater.storage.sql import catalog as repo
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

Loc = tuple[str | int, ...]


#: Models, as changes read and record them (credentials in deployment URLs redacted).
MODELS = Tracked("model", repo.get, audit_state)


def audit_entry(name: str, before: ModelRead | None, after: ModelRead | None) -> Entry:
    """``model.create``, ``.update`` or ``.delete``, with credentials in deployment URLs redacted."""
    return MODELS.entry(name, before, after)


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
    await check_references(conn, spec, loc)
    await repo.upsert(conn, name, spec, exists=exists)


async def create(cp: ControlPlane, name: str, spec: ModelSpec, origin: Origin) -> ModelRead:
    check_credentials(spec, cp.credential_env_prefix, ("body",))

    async def insert(unit: UnitOfWork, before: ModelRead | None) -> None:
        if before is not None:
            raise ConflictProblem(f"model {name} already exists (use PUT to replace it)")
        await check_references(unit.conn, spec, ("body",))
        await repo.upsert(unit.conn, name, spec, exists=False)

    created = await perform_change(cp, origin, MODELS, name, insert)
    assert created is not None
    return created


async def put(cp: ControlPlane, name: str, spec: ModelSpec, origin: Origin) -> ModelRead:
    check_credentials(spec, cp.credential_env_prefix, ("body",))

    async def upsert(unit: UnitOfWork, before: ModelRead | None) -> None:
        await check_references(unit.conn, spec, ("body",))
        await repo.upsert(unit.conn, name, spec, exists=before is not None)

    stored = await perform_change(cp, origin, MODELS, name, upsert)
    assert stored is not None
    return stored


async def delete(cp: ControlPlane, name: str, origin: Origin) -> None:
    async def remove(unit: UnitOfWork, before: ModelRead | None) -> None:
        if before is None or not await repo.delete_model(unit.conn, name):
            raise NotFoundProblem(f"model {name} not found")

    await perform_change(cp, origin, MODELS, name, remove)
