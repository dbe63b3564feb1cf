"""What control-plane services share: the database and the change signal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.catalog.credentials import DEFAULT_PREFIX
from headwater.storage.sql.database import bump_revision


@dataclass(frozen=True)
class ControlPlane:
    engine: AsyncEngine
    #: Called after a committed change: this process's gateway refreshes at once, and with Redis
    #: every other process too (see :mod:`headwater.changes`); without it, the others notice the
    #: revision within ``snapshot_poll_interval_s``.
    changed: Callable[[], Awaitable[None]]
    #: Deployments may name only credential variables with this prefix (HEADWATER_CREDENTIAL_ENV_PREFIX).
    credential_env_prefix: str = DEFAULT_PREFIX
    #: Link a first sign-in to a declared user by a verified email (HEADWATER_OIDC_LINK_VERIFIED_EMAIL).
    link_verified_email: bool = False

    @asynccontextmanager
    async def change(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that changes what gateways serve: bumps the revision, then signals."""
        async with self.engine.begin() as conn:
            yield conn
            await bump_revision(conn)
        await self.changed()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn
