"""The contract between the control plane and the gateway.

The gateway never queries the database. It reads a frozen :class:`Snapshot` of keys and models,
which a :class:`SnapshotRefresher` replaces whenever the control plane's revision counter moves:
at once after a change (this process, and every other one through :mod:`headwater.changes` when
Redis is configured), and in any case within ``snapshot_poll_interval_s`` (the safety net).

A change reaches the snapshot as a delta (:mod:`headwater.snapshot_delta`): the source reads what
the revisions since the current one changed, loads just those, and the new snapshot shares the rest
with the old one (persistent maps, :mod:`immutables`), so a change costs what it changed, not what
the organisation holds. The new snapshot replaces the old in one assignment: a request sees all of
a change or none of it. A full build happens at start, after a gap in revisions, or on demand, and
yields to the event loop between batches of rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from headwater.catalog.schemas import ModelLimit
from headwater.clock import monotonic
from headwater.keys.schemas import KeyLimits
from headwater.policies.schemas import PolicySpec

log = logging.getLogger("headwater.snapshot")


@dataclass(frozen=True, slots=True)
class DeploymentView:
    id: str
    provider: str
    base_url: str
    upstream_model: str
    credential: str | None = field(repr=False)  # the upstream's secret: never in a repr or a log
    timeout_s: float | None
    weight: int
    #: Total seconds a call may take (None: the server's default).
    deadline_s: float | None = None
    #: azure-openai: the api-version; bedrock: the region; openai/azure-openai: serves /responses.
    api_version: str | None = None
    region: str | None = None
    responses_api: bool = False


@dataclass(frozen=True, slots=True)
class Pricing:
    input_per_million: Decimal
    output_per_million: Decimal
    currency: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return (
            self.input_per_million * prompt_tokens + self.output_per_million * completion_tokens
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class ModelView:
    name: str
    kind: str
    access: str
    status: str
    pricing: Pricing
    deployments: tuple[DeploymentView, ...]
    created: int
    context_window: int | None = None
    limits: tuple[ModelLimit, ...] = ()
    #: Most output tokens per choice (None: the server's default), the default and the cap.
    max_output_tokens: int | None = None

    @property
    def enabled(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class KeyView:
    id: str
    hash: str
    name: str
    owner: str | None
    models: frozenset[str] | None
    status: str
    expires_at: float | None
    limits: KeyLimits | None = None
    #: After a rotation: the replaced secret's hash, accepted until ``previous_until``.
    previous_hash: str | None = None
    previous_until: float | None = None
    #: The caller's groups when they come with the credential (an OIDC token, a trusted header)
    #: rather than from the directory.
    groups: tuple[str, ...] | None = None

    @property
    def principal(self) -> str:
        """Who the usage is attributed to: the owner, or the key itself for admin-made keys."""
        return self.owner or f"key:{self.id}"

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models


@dataclass(frozen=True, slots=True)
class PolicyView:
    name: str
    spec: PolicySpec
    models: frozenset[str] | None  # None: every open model
    groups: frozenset[str]
    users: frozenset[str]
    service_accounts: frozenset[str]


@dataclass(frozen=True, slots=True)
class UserView:
    name: str
    subject: str | None
    email: str | None  # lower case
    status: str
    groups: tuple[str, ...]  # sorted
    cost_center: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    keys: Mapping[str, KeyView] = field(default_factory=lambda: MappingProxyType({}))
    models: Mapping[str, ModelView] = field(default_factory=lambda: MappingProxyType({}))
    #: Active policies, highest priority first (then by name).
    policies: tuple[PolicyView, ...] = ()
    #: The groups of each principal (``user:alice`` → its groups, ``serviceaccount:x`` → its group,
    #: ``group:devs`` → ``("devs",)``: a group-owned key is governed by its group's policies).
    memberships: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: OIDC subject → user name, for the users who have signed in before.
    subjects: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Users and service accounts that are disabled (``user:NAME``): their calls are refused.
    disabled: Collection[str] = frozenset()
    #: Every user name (a new OIDC subject never takes an existing user's name).
    user_names: Collection[str] = frozenset()
    #: Email (lower case) → name of the users not yet linked to a subject, for linking a first
    #: sign-in by a verified email (HEADWATER_OIDC_LINK_VERIFIED_EMAIL).
    unlinked_emails: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Groups that come from the identity provider (``source: oidc``); the other groups are local.
    external_groups: Collection[str] = frozenset()
    #: What a delta needs to find what a change touches (:mod:`headwater.snapshot_delta`): each
    #: user, the users of each group, the unlinked users of each email (names sorted).
    users: Mapping[str, UserView] = field(default_factory=lambda: MappingProxyType({}))
    group_users: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    email_users: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: The cost center of each principal that has one (``user:NAME``, ``serviceaccount:NAME``,
    #: ``group:NAME``): usage is attributed with it (headwater.policies.plan.attribution).
    cost_centers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class SnapshotSource(Protocol):
    async def revision(self) -> int: ...

    async def load(self) -> Snapshot:
        """A full build (at start, after a gap, on demand)."""
        ...

    async def update(self, current: Snapshot) -> Snapshot:
        """``current`` brought up to date: itself when nothing changed, the changes since its
        revision applied as a delta, or a full build when they are no longer known."""
        ...


class SnapshotRefresher:
    """Holds the current snapshot and keeps it fresh."""

    def __init__(self, source: SnapshotSource, interval_s: float) -> None:
        self._source = source
        self._interval = interval_s
        self.current = Snapshot(revision=-1)
        self.loaded = False
        self.last_ok = 0.0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failing = False

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if force or not self.loaded:
                self.current = await self._source.load()
                self.loaded = True
            else:
                self.current = await self._source.update(self.current)
            self.last_ok = monotonic()

    async def start(self) -> None:
        await self.refresh(force=True)
        self._task = asyncio.create_task(self._run(), name="snapshot-refresher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def healthy(self, max_age_s: float = 5.0) -> bool:
        return self.loaded and monotonic() - self.last_ok <= max_age_s

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception as exc:  # the gateway keeps serving the last snapshot
                if not self._failing:
                    log.error("snapshot refresh failed, serving the last one: %s", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("snapshot refresh recovered")
                self._failing = False
