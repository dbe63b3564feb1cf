"""Builds the gateway's snapshot from the database (off the hot path), whole or as a delta.

A full build streams the large tables (keys, users, memberships) in batches of :data:`BATCH` rows
and yields to the event loop between batches, so building the snapshot of a large organisation never
stalls the requests the process is serving; the new snapshot replaces the old one at the end.
:meth:`SqlSnapshotSource.update` reads what the revisions since the current snapshot changed
(``snapshot_changes``) and loads only that (:mod:`headwater.snapshot_delta`); a changed stored
credential reloads the models whose deployments name it.

A deployment's credential is read from the environment (``credential_env``) or opened from the
stored credentials (``credential``) with the server's key (:mod:`headwater.credentials.opener`:
one this server cannot open leaves that deployment without a credential, never fails the snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

from immutables import Map, MapMutation
from sqlalchemy import RowMapping, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.catalog.credentials import DEFAULT_PREFIX, refusal
from headwater.catalog.schemas import ModelRead
from headwater.catalog.secret_box import SecretBox
from headwater.credentials.opener import Opener
from headwater.keys.schemas import KeyLimits
from headwater.policies.schemas import PolicyRead
from headwater.snapshot import DeploymentView, KeyView, ModelView, PolicyView, Pricing, Snapshot, UserView
from headwater.snapshot_delta import Delta, GroupView, ServiceAccountView, apply, ordered
from headwater.storage.sql import catalog
from headwater.storage.sql import credentials as credentials_repo
from headwater.storage.sql import policies as policies_repo
from headwater.storage.sql.database import changes_since, current_revision
from headwater.storage.sql.revision_poll import RevisionPoll
from headwater.storage.sql.tables import api_keys, group_members, groups, service_accounts, users
from headwater.storage.sql.tables import policies as policies_table

log = logging.getLogger("headwater.snapshot")
V = TypeVar("V")

#: Rows built between two yields to the event loop during a full build.
BATCH = 1000
#: Target types a gateway serves; others (``admintoken``, ``-``) change nothing here. A type not
#: listed in either set makes the update a full build (safe for a kind added later).
_SERVED = frozenset({"key", "model", "policy", "user", "group", "serviceaccount", "credential"})
_IGNORED = frozenset({"admintoken", "-"})


class SqlSnapshotSource:
    def __init__(
        self,
        engine: AsyncEngine,
        credential_env_prefix: str = DEFAULT_PREFIX,
        secret_box: SecretBox | None = None,
    ) -> None:
        self._engine = engine
        self._prefix = credential_env_prefix
        self._refused: set[tuple[str, str]] = set()
        self._opener = Opener(secret_box)
        self.full_builds = 0  # for tests and logs
        self.deltas = 0
        self._poll = RevisionPoll(engine)  # the poll's "anything new?", cheaply

    async def close(self) -> None:
        await self._poll.close()

    def _credential(self, model: str, name: str | None) -> str | None:
        """The upstream credential a deployment names, never a variable it may not read."""
        if not name:
            return None
        why = refusal(name, self._prefix)
        if why is not None:
            if (model, name) not in self._refused:  # stored before the rule, or the prefix changed
                self._refused.add((model, name))
                log.error("model %s: not reading credential_env %s: %s", model, name, why)
            return None
        return os.environ.get(name)

    async def _credentials_of(self, conn: AsyncConnection, models: Iterable[ModelRead]) -> dict[str, str]:
        named = {dep.credential for model in models for dep in model.deployments if dep.credential}
        return self._opener.open_all(await credentials_repo.list_rows(conn, named)) if named else {}

    async def revision(self) -> int:
        async with self._engine.connect() as conn:
            return await current_revision(conn)

    @contextlib.asynccontextmanager
    async def _consistent(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction whose statements all see the same committed state. PostgreSQL:
        REPEATABLE READ (under READ COMMITTED each statement sees what committed meanwhile, so a
        change committed between two reads could be read half: its key new, its policy old).
        SQLite has one writer, and a change made meanwhile in this process is applied at once after."""
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    async def update(self, current: Snapshot) -> Snapshot:
        if await self._poll.stored() == current.revision:
            return current  # nothing committed since: the usual answer to a poll
        async with self._consistent() as conn:
            found = await changes_since(conn, current.revision)
            if found is None:
                log.info("revisions after %d are no longer known: rebuilding the snapshot", current.revision)
            elif found[0] == current.revision:
                return current
            elif {kind for kind, _ in found[1]} <= _SERVED | _IGNORED:
                delta = await self._delta(conn, current, found[0], found[1])
                self.deltas += 1
                return apply(current, delta)
        return await self.load()

    async def load(self) -> Snapshot:
        async with self._consistent() as conn:
            snapshot = await self._load(conn)
        self.full_builds += 1
        return snapshot

    async def _load(self, conn: AsyncConnection) -> Snapshot:
        revision = await current_revision(conn)
        member_of: dict[str, list[str]] = {}
        group_users: dict[str, list[str]] = {}
        query = select(group_members).order_by(group_members.c.group_name, group_members.c.user_name)
        async for rows in _batches(conn, query):
            for row in rows:
                member_of.setdefault(row["user_name"], []).append(row["group_name"])
                group_users.setdefault(row["group_name"], []).append(row["user_name"])
        # Maps are filled a batch at a time (building a map of 100,000 in one go takes ~50 ms).
        users_m: MapMutation[str, UserView] = Map[str, UserView]().mutate()
        memberships: MapMutation[str, tuple[str, ...]] = Map[str, tuple[str, ...]]().mutate()
        disabled: MapMutation[str, bool] = Map[str, bool]().mutate()
        subjects: MapMutation[str, str] = Map[str, str]().mutate()
        email_users: dict[str, list[str]] = {}
        centers: MapMutation[str, str] = Map[str, str]().mutate()
        query = select(users.c.name, users.c.subject, users.c.status, users.c.email, users.c.cost_center)
        async for rows in _batches(conn, query):
            for row in rows:
                user = _user_view(row, tuple(member_of.get(row["name"], ())))
                users_m[user.name] = user
                if user.subject is not None:
                    subjects[user.subject] = user.name
                elif user.email:
                    email_users.setdefault(user.email, []).append(user.name)
                if user.groups:
                    memberships[f"user:{user.name}"] = user.groups
                if user.status != "active":
                    disabled[f"user:{user.name}"] = True
                if user.cost_center:
                    centers[f"user:{user.name}"] = user.cost_center
        keys: MapMutation[str, KeyView] = Map[str, KeyView]().mutate()
        async for rows in _batches(conn, select(api_keys)):
            for row in rows:
                keys[row["id"]] = _key_view(row)
        query = select(
            service_accounts.c.name,
            service_accounts.c.group_name,
            service_accounts.c.status,
            service_accounts.c.cost_center,
        )
        for row in (await conn.execute(query)).mappings():
            memberships[f"serviceaccount:{row['name']}"] = (row["group_name"],)
            if row["status"] != "active":
                disabled[f"serviceaccount:{row['name']}"] = True
            if row["cost_center"]:
                centers[f"serviceaccount:{row['name']}"] = row["cost_center"]
        external: dict[str, bool] = {}
        query = select(groups.c.name, groups.c.source, groups.c.cost_center)
        for row in (await conn.execute(query)).mappings():
            # A group-owned key calls as its group: the group's policies govern it.
            memberships[f"group:{row['name']}"] = (row["name"],)
            if row["source"] == "oidc":
                external[row["name"]] = True
            if row["cost_center"]:
                centers[f"group:{row['name']}"] = row["cost_center"]
        read_models = await catalog.list_all(conn)
        stored = await self._credentials_of(conn, read_models)
        models = {model.name: self._model_view(model, stored) for model in read_models}
        await asyncio.sleep(0)
        policies: list[PolicyView] = []
        async for rows in _batches(conn, select(policies_table).order_by(policies_table.c.name), size=100):
            read = (policies_repo.read_row(row) for row in rows)  # a validation each: 100 at a time
            policies.extend(_policy_view(policy) for policy in read if policy.status == "active")
        emails = await _map((email, tuple(sorted(names))) for email, names in email_users.items())
        unlinked = await _map((email, names[0]) for email, names in emails.items() if len(names) == 1)
        all_users = users_m.finish()
        return Snapshot(
            revision=revision,
            keys=keys.finish(),
            models=await _map(models.items()),
            policies=ordered(policies),
            memberships=memberships.finish(),
            subjects=subjects.finish(),
            disabled=disabled.finish(),
            user_names=all_users,
            unlinked_emails=unlinked,
            external_groups=Map(external),
            users=all_users,
            group_users=await _map((group, tuple(names)) for group, names in group_users.items()),
            email_users=emails,
            cost_centers=centers.finish(),
        )

    async def _delta(
        self, conn: AsyncConnection, current: Snapshot, revision: int, targets: Iterable[tuple[str, str]]
    ) -> Delta:
        """The current state of what ``targets`` name, and of the users a changed group had or has."""
        named: dict[str, set[str]] = {kind: set() for kind in _SERVED}
        for kind, name in targets:
            if kind in named:
                named[kind].add(name)
        delta = Delta(revision)
        if named["key"]:
            query = select(api_keys).where(api_keys.c.id.in_(named["key"]))
            found = {row["id"]: _key_view(row) for row in (await conn.execute(query)).mappings()}
            delta.keys = {key_id: found.get(key_id) for key_id in named["key"]}
        if named["credential"]:  # a value replaced: the models that use it are served anew
            named["model"] |= await credentials_repo.models_using(conn, named["credential"])
        if named["model"]:
            read_models = await catalog.list_all(conn, sorted(named["model"]))
            stored = await self._credentials_of(conn, read_models)
            models = {m.name: self._model_view(m, stored) for m in read_models}
            delta.models = {name: models.get(name) for name in named["model"]}
        if named["policy"]:
            read = {p.name: p for p in await policies_repo.list_all(conn, sorted(named["policy"]))}
            delta.policies = {
                name: _policy_view(read[name]) if name in read and read[name].status == "active" else None
                for name in named["policy"]
            }
        if named["serviceaccount"]:
            query = select(service_accounts).where(service_accounts.c.name.in_(named["serviceaccount"]))
            rows = {row["name"]: row for row in (await conn.execute(query)).mappings()}
            delta.service_accounts = {
                name: ServiceAccountView(
                    name, rows[name]["group_name"], rows[name]["status"], rows[name]["cost_center"] or None
                )
                if name in rows
                else None
                for name in named["serviceaccount"]
            }
        user_names = set(named["user"])
        if named["group"]:
            query = select(groups.c.name, groups.c.source, groups.c.cost_center).where(
                groups.c.name.in_(named["group"])
            )
            rows = {row["name"]: row for row in (await conn.execute(query)).mappings()}
            delta.groups = {
                name: GroupView(name, rows[name]["source"], rows[name]["cost_center"] or None)
                if name in rows
                else None
                for name in named["group"]
            }
            for name in named["group"]:
                user_names.update(current.group_users.get(name, ()))
            query = select(group_members.c.user_name).where(group_members.c.group_name.in_(named["group"]))
            user_names.update((await conn.execute(query)).scalars())
        if user_names:
            delta.users = await _users(conn, user_names)
        return delta

    def _model_view(self, model: ModelRead, stored: dict[str, str]) -> ModelView:
        return ModelView(
            name=model.name,
            kind=model.kind,
            access=model.access,
            status=model.status,
            pricing=Pricing(
                input_per_million=model.pricing.input_per_million,
                output_per_million=model.pricing.output_per_million,
                currency=model.pricing.currency,
            ),
            deployments=tuple(
                DeploymentView(
                    id=f"{model.name}/{position}",
                    provider=dep.provider,
                    base_url=dep.url(),
                    upstream_model=dep.upstream_model,
                    credential=stored.get(dep.credential)
                    if dep.credential
                    else self._credential(model.name, dep.credential_env),
                    timeout_s=dep.timeout,
                    weight=dep.weight,
                    deadline_s=dep.deadline,
                    api_version=dep.api_version,
                    region=dep.region,
                    responses_api=dep.responses_api,
                )
                for position, dep in enumerate(model.deployments)
            ),
            created=int(model.created_at.timestamp()),
            context_window=model.context_window,
            limits=tuple(model.limits),
            max_output_tokens=model.max_output_tokens,
        )


async def _batches(
    conn: AsyncConnection, query: Select[Any], size: int = BATCH
) -> AsyncIterator[list[RowMapping]]:
    """The rows of ``query`` in batches, yielding to the event loop after each."""
    result = await conn.stream(query)
    async for partition in result.mappings().partitions(size):
        yield list(partition)
        await asyncio.sleep(0)


async def _map(items: Iterable[tuple[str, V]]) -> Map[str, V]:
    """A map of ``items``, built :data:`BATCH` at a time with a yield to the event loop between."""
    building: MapMutation[str, V] = Map[str, V]().mutate()
    for count, (name, value) in enumerate(items, 1):
        building[name] = value
        if count % BATCH == 0:
            await asyncio.sleep(0)
    return building.finish()


async def _users(conn: AsyncConnection, names: set[str]) -> dict[str, UserView | None]:
    query = (
        select(group_members).where(group_members.c.user_name.in_(names)).order_by(group_members.c.group_name)
    )
    member_of: dict[str, list[str]] = {}
    for row in (await conn.execute(query)).mappings():
        member_of.setdefault(row["user_name"], []).append(row["group_name"])
    query = select(users.c.name, users.c.subject, users.c.status, users.c.email, users.c.cost_center).where(
        users.c.name.in_(names)
    )
    found = {
        row["name"]: _user_view(row, tuple(member_of.get(row["name"], ())))
        for row in (await conn.execute(query)).mappings()
    }
    return {name: found.get(name) for name in names}


def _user_view(row: RowMapping, groups_of: tuple[str, ...]) -> UserView:
    email = row["email"].lower() if row["email"] else None
    return UserView(
        row["name"],
        row["subject"] or None,
        email,
        row["status"],
        tuple(sorted(groups_of)),
        row["cost_center"] or None,
    )


def _policy_view(policy: PolicyRead) -> PolicyView:
    return PolicyView(
        name=policy.name,
        spec=policy,
        models=None if policy.assets.models == "all" else frozenset(policy.assets.models),
        groups=frozenset(policy.targets.groups),
        users=frozenset(policy.targets.users),
        service_accounts=frozenset(policy.targets.serviceAccounts),
    )


def _key_view(row: RowMapping) -> KeyView:
    previous_until = row["previous_expires_at"]
    return KeyView(
        id=row["id"],
        hash=row["hash"],
        name=row["name"],
        owner=f"{row['owner_type']}:{row['owner_name']}" if row["owner_type"] else None,
        models=frozenset(row["models"]) if row["models"] is not None else None,
        status=row["status"],
        expires_at=row["expires_at"].timestamp() if row["expires_at"] else None,
        limits=KeyLimits.model_validate(row["limits"]) if row["limits"] else None,
        previous_hash=row["previous_hash"] if previous_until is not None else None,
        previous_until=previous_until.timestamp() if previous_until is not None else None,
    )
