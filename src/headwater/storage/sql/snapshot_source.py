"""Builds the gateway's snapshot from the database (off the hot path)."""

from __future__ import annotations

import logging
import os
from types import MappingProxyType

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.catalog.credentials import DEFAULT_PREFIX, refusal
from headwater.keys.schemas import KeyLimits
from headwater.snapshot import DeploymentView, KeyView, ModelView, PolicyView, Pricing, Snapshot
from headwater.storage.sql import catalog
from headwater.storage.sql import policies as policies_repo
from headwater.storage.sql.database import current_revision
from headwater.storage.sql.tables import api_keys, group_members, groups, service_accounts, users

log = logging.getLogger("headwater.snapshot")


class SqlSnapshotSource:
    def __init__(self, engine: AsyncEngine, credential_env_prefix: str = DEFAULT_PREFIX) -> None:
        self._engine = engine
        self._prefix = credential_env_prefix
        self._refused: set[tuple[str, str]] = set()

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

    async def revision(self) -> int:
        async with self._engine.connect() as conn:
            return await current_revision(conn)

    async def load(self) -> Snapshot:
        async with self._engine.connect() as conn:
            revision = await current_revision(conn)
            disabled: set[str] = set()
            subjects: dict[str, str] = {}
            names: set[str] = set()
            unlinked_emails: dict[str, str] = {}
            query = select(users.c.name, users.c.subject, users.c.status, users.c.email)
            for row in (await conn.execute(query)).mappings():
                names.add(row["name"])
                if row["status"] != "active":
                    disabled.add(f"user:{row['name']}")
                if row["subject"]:
                    subjects[row["subject"]] = row["name"]
                elif row["email"]:
                    email = row["email"].lower()  # ambiguous (two users): linked to neither
                    unlinked_emails[email] = "" if email in unlinked_emails else row["name"]
            memberships: dict[str, list[str]] = {}
            for row in (
                await conn.execute(
                    select(service_accounts.c.name, service_accounts.c.group_name, service_accounts.c.status)
                )
            ).mappings():
                principal = f"serviceaccount:{row['name']}"
                memberships[principal] = [row["group_name"]]
                if row["status"] != "active":
                    disabled.add(principal)
            keys = {row["id"]: _key_view(row) for row in (await conn.execute(select(api_keys))).mappings()}
            models: dict[str, ModelView] = {}
            for model in await catalog.list_all(conn):
                models[model.name] = ModelView(
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
                            credential=self._credential(model.name, dep.credential_env),
                            timeout_s=dep.timeout,
                            weight=dep.weight,
                            deadline_s=dep.deadline,
                        )
                        for position, dep in enumerate(model.deployments)
                    ),
                    created=int(model.created_at.timestamp()),
                    context_window=model.context_window,
                    limits=tuple(model.limits),
                    max_output_tokens=model.max_output_tokens,
                )
            for row in (
                await conn.execute(select(group_members).order_by(group_members.c.group_name))
            ).mappings():
                memberships.setdefault(f"user:{row['user_name']}", []).append(row["group_name"])
            external: set[str] = set()
            for row in (await conn.execute(select(groups.c.name, groups.c.source))).mappings():
                # A group-owned key calls as its group: the group's policies govern it.
                memberships[f"group:{row['name']}"] = [row["name"]]
                if row["source"] == "oidc":
                    external.add(row["name"])
            external_groups = frozenset(external)
            policies = [
                PolicyView(
                    name=policy.name,
                    spec=policy,
                    models=None if policy.assets.models == "all" else frozenset(policy.assets.models),
                    groups=frozenset(policy.targets.groups),
                    users=frozenset(policy.targets.users),
                    service_accounts=frozenset(policy.targets.serviceAccounts),
                )
                for policy in await policies_repo.list_all(conn)
                if policy.status == "active"
            ]
            policies.sort(key=lambda view: (-view.spec.priority, view.name))
        return Snapshot(
            revision=revision,
            keys=MappingProxyType(keys),
            models=MappingProxyType(models),
            policies=tuple(policies),
            memberships=MappingProxyType({name: tuple(names) for name, names in memberships.items()}),
            subjects=MappingProxyType(subjects),
            disabled=frozenset(disabled),
            user_names=frozenset(names),
            unlinked_emails=MappingProxyType({e: n for e, n in unlinked_emails.items() if n}),
            external_groups=external_groups,
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
