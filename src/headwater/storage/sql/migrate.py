"""Alembic, driven from code (``headwater migrate`` and auto-migrate at start-up).

On PostgreSQL the upgrade runs under an advisory lock, so replicas that start together migrate once
and the others wait, then find nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x4857_4D49_4752  # "HWMIGR"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(lambda sync: command.upgrade(_config(sync), revision))
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                await conn.commit()


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_config(sync), revision))
        await conn.commit()


async def current(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
