"""Stored credential operations. Every change is a unit of work, written to the audit trail with it.

A credential's value is sealed (:mod:`headwater.catalog.secret_box`) before it reaches the database
and is opened only where it is used: the gateway's snapshot and a connection test. Reads answer its
name, description, dates and the models that use it (:class:`CredentialRead`); the audit trail keeps
the same, so ``credential.create``, ``.update`` and ``.delete`` hold no value, sealed or plain.

Storing needs the server's key (``HEADWATER_SECRET_KEY``): without one, 409 saying so. So does
storing while other credentials are sealed under another key (the database was rotated to a key
this server does not have): the new value would be the one nobody else can open. A credential that
a deployment names cannot be deleted (409 naming the models); a deployment cannot name a credential
that does not exist (422 at its ``credential``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Origin
from headwater.catalog.schemas import ModelSpec
from headwater.catalog.secret_box import KEY_ENV, KEY_FILE_ENV, CannotOpen, SecretBox
from headwater.control import ControlPlane
from headwater.credentials.schemas import CredentialPut, CredentialRead
from headwater.problems import ConflictProblem, InvalidProblem, NotFoundProblem
from headwater.storage.sql import credentials as repo
from headwater.storage.sql.credentials import CredentialRow
from headwater.unit_of_work import Tracked, UnitOfWork, perform_change

Loc = tuple[str | int, ...]

NO_KEY = (
    f"no secret key is configured: set {KEY_ENV} (or {KEY_FILE_ENV}) on the server to store credentials "
    "(generate one with `headwater secrets generate-key`)"
)


def _read(row: CredentialRow, used_by: list[str]) -> CredentialRead:
    return CredentialRead(
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        used_by=used_by,
    )


async def read(conn: AsyncConnection, name: str) -> CredentialRead | None:
    row = await repo.get_row(conn, name)
    if row is None:
        return None
    return _read(row, (await repo.used_by(conn, [name])).get(name, []))


def audit_state(credential: CredentialRead) -> dict[str, Any]:
    """What the trail keeps of a credential: never its value (only that it is set, and when)."""
    return credential.model_dump(mode="json", exclude={"used_by"})


#: Credentials, as changes read and record them.
CREDENTIALS = Tracked("credential", read, audit_state)


async def list_credentials(cp: ControlPlane) -> list[CredentialRead]:
    async with cp.read() as conn:
        rows = await repo.list_rows(conn)
        users = await repo.used_by(conn)
    return [_read(row, users.get(row.name, [])) for row in rows]


async def get(cp: ControlPlane, name: str) -> CredentialRead:
    async with cp.read() as conn:
        found = await read(conn, name)
    if found is None:
        raise NotFoundProblem(f"credential {name} not found")
    return found


def _box(cp: ControlPlane) -> SecretBox:
    if cp.secret_box is None:
        raise ConflictProblem(NO_KEY)
    return cp.secret_box


async def put(
    cp: ControlPlane, name: str, body: CredentialPut, origin: Origin
) -> tuple[CredentialRead, bool]:
    """Creates or replaces ``name``: the credential as stored, and whether it was created."""
    box = _box(cp)
    created = False

    async def write(unit: UnitOfWork, before: CredentialRead | None) -> None:
        nonlocal created
        others = await repo.other_key_ids(unit.conn, box.id, besides=name)
        if others:
            raise ConflictProblem(
                f"other credentials are sealed under another key ({', '.join(sorted(others))}), not this "
                f"server's ({box.id}): was the key rotated? Restart with the new {KEY_ENV}"
            )
        sealed = box.seal(name, body.value.get_secret_value())
        await repo.put(unit.conn, name, body.description, sealed, exists=before is not None)
        created = before is None

    detail = "value set"
    stored = await perform_change(cp, origin, CREDENTIALS, name, write, detail=detail)
    assert stored is not None
    return stored, created


async def delete(cp: ControlPlane, name: str, origin: Origin) -> None:
    async def remove(unit: UnitOfWork, before: CredentialRead | None) -> None:
        if before is None:
            raise NotFoundProblem(f"credential {name} not found")
        if before.used_by:
            raise ConflictProblem(
                f"credential {name} is used by the deployments of {', '.join(before.used_by)}: "
                "change those models first"
            )
        await repo.delete_credential(unit.conn, name)

    await perform_change(cp, origin, CREDENTIALS, name, remove)


async def check_references(conn: AsyncConnection, spec: ModelSpec, loc: Loc) -> None:
    """422 at ``loc``.deployments.N.credential for a credential that is not stored."""
    named = [dep.credential for dep in spec.deployments if dep.credential is not None]
    unknown = await repo.missing(conn, named)
    for index, deployment in enumerate(spec.deployments):
        if deployment.credential in unknown:
            raise InvalidProblem(
                (*loc, "deployments", index, "credential"),
                f"unknown credential {deployment.credential!r} (create it with PUT "
                f"/api/v1/credentials/{deployment.credential})",
            )


async def reveal(cp: ControlPlane, name: str, loc: Loc) -> str:
    """The value of credential ``name``, for a connection test: 422 at ``loc`` when it is not stored,
    409 when this server cannot open it. Never logged, never answered."""
    async with cp.read() as conn:
        row = await repo.get_row(conn, name)
    if row is None:
        raise InvalidProblem(loc, f"unknown credential {name!r}")
    box = _box(cp)
    try:
        return box.open(name, row.sealed)
    except CannotOpen as exc:
        raise ConflictProblem(str(exc)) from None
