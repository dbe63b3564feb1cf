"""What control-plane services share: the database and the change signal.

Changes are not made here: every one goes through a unit of work (:mod:`headwater.unit_of_work`),
which records it in the audit trail, bumps the revision and then calls :attr:`ControlPlane.changed`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.catalog.credentials import DEFAULT_PREFIX
from headwater.catalog.secret_box import SecretBox

log = logging.getLogger("headwater.control")
T = TypeVar("T")
#: How many times a change that lost a race on a unique key is tried in all.
ATTEMPTS = 4


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
    #: Seals stored credentials (HEADWATER_SECRET_KEY); None: none can be stored.
    secret_box: SecretBox | None = field(default=None, repr=False)

    async def retried(self, change: Callable[[], Awaitable[T]]) -> T:
        """Runs ``change`` (one whole transaction) again when a concurrent writer won a race on a
        unique key between its reads and its writes. Units of work take turns under the change lock,
        so this is for writers outside it; the next attempt reads what the winner committed (an
        update instead of a create, a 409 for a POST)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await change()
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
                log.info("a change raced with another one on a unique key; trying it again")
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn
