"""Alembic, driven from code (``headwater migrate`` and auto-migrate at start-up).

On PostgreSQL the upgrade runs under an advisory lock, so replicas that start together migrate once
and the others wait, then find nothing to do.

Alembic (with Mako) is imported only when there is something to migrate: ~10 MB resident in every
serving process otherwise. A database already at the head revision is recognised without it: the
revision stored in ``alembic_version`` against the head of the scripts in ``migrations/versions``
(read as text; a test holds it equal to Alembic's own answer).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_LOCK_ID = 0x4857_4D49_4752  # "HWMIGR"
_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def _config(connection: Connection) -> Config:
    from alembic.config import Config  # imported here: ~10 MB resident in every worker otherwise

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str | None:
    """The head revision of the scripts, read without Alembic; None unless there is exactly one
    (then the caller asks Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _stored(sync: Connection) -> set[str]:
    if not inspect(sync).has_table(VERSION_TABLE):
        return set()
    return {str(row[0]) for row in sync.execute(text("SELECT version_num FROM alembic_version"))}


async def at_head(engine: AsyncEngine) -> bool:
    """Whether the database is at the scripts' head revision (nothing to upgrade)."""
    latest = head()
    if latest is None:
        return False
    async with engine.connect() as conn:
        return await conn.run_sync(_stored) == {latest}


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision == "head" and await at_head(engine):
        return  # revisions only move forward: a database at the head stays there
    from alembic import command  # imported here: ~10 MB resident in every worker otherwise

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
    from alembic import command  # imported here: ~10 MB resident in every worker otherwise

    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_config(sync), revision))
        await conn.commit()


async def current(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
