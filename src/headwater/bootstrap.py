"""Start-up work done once per server (before workers start): migrations and the admin token."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.audit.record import Entry, Origin
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.keys.secret import hash_key
from headwater.settings import Settings
from headwater.storage.sql import migrate
from headwater.storage.sql.tables import admin_tokens
from headwater.unit_of_work import UnitOfWork, perform

ADMIN_TOKEN_PREFIX = "hwadm_"  # noqa: S105 - a prefix, not a secret
SYSTEM = Origin(actor="system", request_id="", source_ip=None)


async def _nobody() -> None:
    """Before the workers start no gateway serves yet: nobody is told of the change."""


async def ensure_admin_token(engine: AsyncEngine, settings: Settings) -> str | None:
    """When no HEADWATER_ADMIN_TOKEN is set and none was ever generated, generate one.

    Returns the new token (to be shown once), or ``None``. Only its hash is stored. Servers starting
    at once take turns (a unit of work holds the change lock): the later ones find the token there.
    """
    if settings.admin_token is not None:
        return None

    async def generate(unit: UnitOfWork) -> str | None:
        conn = unit.conn
        if (await conn.execute(select(func.count()).select_from(admin_tokens))).scalar_one():
            return None
        token = ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
        await conn.execute(admin_tokens.insert().values(hash=hash_key(token), created_at=utcnow()))
        unit.record(
            Entry("admintoken.create", "admintoken", "bootstrap", detail="generated at the first start")
        )
        return token

    return await perform(ControlPlane(engine=engine, changed=_nobody), SYSTEM, generate)


async def prepare(engine: AsyncEngine, settings: Settings) -> str | None:
    if settings.auto_migrate:
        await migrate.upgrade(engine)
    return await ensure_admin_token(engine, settings)
