"""Stored credential rows: sealed values (never a plain one) and which deployments name them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.catalog.secret_box import Sealed
from headwater.clock import utcnow
from headwater.storage.sql.tables import credentials, deployments


@dataclass(frozen=True, slots=True)
class CredentialRow:
    name: str
    description: str
    sealed: Sealed
    created_at: datetime
    updated_at: datetime


def _row(row: RowMapping) -> CredentialRow:
    return CredentialRow(
        name=row["name"],
        description=row["description"],
        sealed=Sealed(bytes(row["ciphertext"]), bytes(row["nonce"]), row["key_id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_rows(conn: AsyncConnection, names: Collection[str] | None = None) -> list[CredentialRow]:
    query = select(credentials).order_by(credentials.c.name)
    if names is not None:
        query = query.where(credentials.c.name.in_(sorted(set(names))))
    return [_row(row) for row in (await conn.execute(query)).mappings()]


async def get_row(conn: AsyncConnection, name: str) -> CredentialRow | None:
    found = await list_rows(conn, [name])
    return found[0] if found else None


async def missing(conn: AsyncConnection, names: Collection[str]) -> set[str]:
    """Those of ``names`` that are no stored credential."""
    if not names:
        return set()
    query = select(credentials.c.name).where(credentials.c.name.in_(sorted(set(names))))
    return set(names) - set((await conn.execute(query)).scalars())


async def used_by(conn: AsyncConnection, names: Collection[str] | None = None) -> dict[str, list[str]]:
    """Credential name → the models (sorted, once each) whose deployments name it."""
    query = (
        select(deployments.c.credential, deployments.c.model_name)
        .where(deployments.c.credential.is_not(None))
        .distinct()
        .order_by(deployments.c.credential, deployments.c.model_name)
    )
    if names is not None:
        query = query.where(deployments.c.credential.in_(sorted(set(names))))
    found: dict[str, list[str]] = {}
    for credential, model in (await conn.execute(query)).all():
        found.setdefault(credential, []).append(model)
    return found


async def models_using(conn: AsyncConnection, names: Collection[str]) -> set[str]:
    """The models whose deployments name one of the credentials ``names``."""
    return {model for models in (await used_by(conn, names)).values() for model in models}


async def other_key_ids(conn: AsyncConnection, key_id: str, *, besides: str) -> set[str]:
    """The ids of keys other than ``key_id`` that seal a credential other than ``besides``."""
    query = (
        select(credentials.c.key_id)
        .where(credentials.c.key_id != key_id, credentials.c.name != besides)
        .distinct()
    )
    return set((await conn.execute(query)).scalars())


async def put(conn: AsyncConnection, name: str, description: str, sealed: Sealed, *, exists: bool) -> None:
    values = {
        "description": description,
        "ciphertext": sealed.ciphertext,
        "nonce": sealed.nonce,
        "key_id": sealed.key_id,
        "updated_at": utcnow(),
    }
    if exists:
        await conn.execute(credentials.update().where(credentials.c.name == name).values(**values))
    else:
        await conn.execute(credentials.insert().values(name=name, created_at=values["updated_at"], **values))


async def reseal(conn: AsyncConnection, name: str, sealed: Sealed) -> None:
    """The same value sealed anew (a key rotation): ``updated_at`` is the value's, and stays."""
    await conn.execute(
        credentials.update()
        .where(credentials.c.name == name)
        .values(ciphertext=sealed.ciphertext, nonce=sealed.nonce, key_id=sealed.key_id)
    )


async def delete_credential(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(delete(credentials).where(credentials.c.name == name))
    return bool(result.rowcount)
