"""Authorisation, in one place: which role may call which admin route, and what each caller's tenant is.

Every ``/api/v1`` route has an entry in :data:`PERMISSIONS` (a route without one is refused to
everybody, and a test fails). A permission names a rule:

- ``admin``: admins only;
- ``read``: admins and auditors;
- ``tenant``: everyone signed in, narrowed to their tenant; auditors only on reads;
- ``group-admin``: admins, and group admins within the groups they administer.

A caller's tenant: admins and auditors see everything; a user sees themself and their own keys and
usage; a group admin also sees their groups' service accounts, members and group-owned keys.
Objects outside the tenant answer 404, exactly as if they did not exist, so ids cannot be probed.

Seeing is not managing (:meth:`Tenancy.manages`): a user manages their own keys; a group admin also
their groups' keys and their service accounts' keys, but never a member's personal key, which they
only see (metadata, usage). Changing a key one sees but does not manage is 403 (audited as denied).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import compile_path

from headwater.admin.auth import request_id, source_ip
from headwater.audit.record import Entry, Origin, record_alone
from headwater.control import ControlPlane
from headwater.identity.principal import Principal
from headwater.storage.sql import identity as identity_repo

log = logging.getLogger("headwater.admin")

Rule = Literal["admin", "read", "tenant", "group-admin", "signed-in"]

#: permission → rule. Permissions are named like the audit actions they guard.
RULES: dict[str, Rule] = {
    "me.read": "signed-in",
    "key.read": "tenant",
    "key.create": "tenant",
    "key.update": "tenant",
    "key.revoke": "tenant",
    "key.rotate": "tenant",
    "key.bulk_revoke": "tenant",
    "model.read": "signed-in",
    "model.create": "admin",
    "model.update": "admin",
    "model.delete": "admin",
    "policy.read": "tenant",
    "policy.create": "admin",
    "policy.update": "admin",
    "policy.delete": "admin",
    "user.read": "tenant",
    "user.create": "admin",
    "user.update": "admin",
    "user.delete": "admin",
    "group.read": "tenant",
    "group.create": "admin",
    "group.update": "admin",
    "group.delete": "admin",
    "serviceaccount.read": "tenant",
    "serviceaccount.create": "group-admin",
    "serviceaccount.update": "group-admin",
    "serviceaccount.delete": "group-admin",
    "usage.read": "tenant",
    "audit.read": "read",
    "resources.apply": "admin",
}

#: (method, route) → permission, for every admin API route.
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/me"): "me.read",
    ("GET", "/api/v1/keys"): "key.read",
    ("POST", "/api/v1/keys"): "key.create",
    ("GET", "/api/v1/keys/{key_id}"): "key.read",
    ("PATCH", "/api/v1/keys/{key_id}"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/disable"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/enable"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/revoke"): "key.revoke",
    ("POST", "/api/v1/keys/{key_id}/rotate"): "key.rotate",
    ("POST", "/api/v1/keys/revoke"): "key.bulk_revoke",
    ("GET", "/api/v1/models"): "model.read",
    ("POST", "/api/v1/models"): "model.create",
    ("GET", "/api/v1/models/{name}"): "model.read",
    ("PUT", "/api/v1/models/{name}"): "model.update",
    ("DELETE", "/api/v1/models/{name}"): "model.delete",
    ("GET", "/api/v1/policies"): "policy.read",
    ("POST", "/api/v1/policies"): "policy.create",
    ("GET", "/api/v1/policies/{name}"): "policy.read",
    ("PUT", "/api/v1/policies/{name}"): "policy.update",
    ("DELETE", "/api/v1/policies/{name}"): "policy.delete",
    ("GET", "/api/v1/users"): "user.read",
    ("POST", "/api/v1/users"): "user.create",
    ("GET", "/api/v1/users/{name}"): "user.read",
    ("PUT", "/api/v1/users/{name}"): "user.update",
    ("DELETE", "/api/v1/users/{name}"): "user.delete",
    ("GET", "/api/v1/groups"): "group.read",
    ("POST", "/api/v1/groups"): "group.create",
    ("GET", "/api/v1/groups/{name}"): "group.read",
    ("PUT", "/api/v1/groups/{name}"): "group.update",
    ("DELETE", "/api/v1/groups/{name}"): "group.delete",
    ("GET", "/api/v1/service-accounts"): "serviceaccount.read",
    ("POST", "/api/v1/service-accounts"): "serviceaccount.create",
    ("GET", "/api/v1/service-accounts/{name}"): "serviceaccount.read",
    ("PUT", "/api/v1/service-accounts/{name}"): "serviceaccount.update",
    ("DELETE", "/api/v1/service-accounts/{name}"): "serviceaccount.delete",
    ("GET", "/api/v1/usage/events"): "usage.read",
    ("GET", "/api/v1/usage/limit-events"): "usage.read",
    ("GET", "/api/v1/audit/events"): "audit.read",
    ("GET", "/api/v1/audit/events.csv"): "audit.read",
    ("GET", "/api/v1/audit/head"): "audit.read",
    ("GET", "/api/v1/audit/verify"): "audit.read",
    ("POST", "/api/v1/apply"): "resources.apply",
}


def _compiled() -> list[tuple[str, re.Pattern[str], str]]:
    """Templates without parameters first, so ``/keys/revoke`` is never read as ``/keys/{key_id}``."""
    ordered = sorted(PERMISSIONS.items(), key=lambda item: ("{" in item[0][1], item[0][1]))
    return [(method, compile_path(path)[0], permission) for (method, path), permission in ordered]


_MATCHERS = _compiled()


def permission_for(method: str, path: str) -> str | None:
    """The permission guarding a request, matched on the concrete path (routing internals aside)."""
    for wanted, pattern, permission in _MATCHERS:
        if wanted == method and pattern.match(path):
            return permission
    return None


def allowed(principal: Principal, permission: str) -> bool:
    """Whether the caller's role may attempt ``permission`` at all (tenancy narrows it later)."""
    rule = RULES[permission]
    if principal.is_admin:
        return True
    is_read = permission.endswith(".read")
    if rule == "signed-in":
        return True
    if rule == "read":
        return principal.reads_everything
    if rule == "tenant":
        return is_read or principal.role == "user"
    if rule == "group-admin":
        return principal.role == "user" and principal.is_group_admin
    return False


@dataclass(frozen=True, slots=True)
class Tenancy:
    """What a caller may see and manage. ``everything`` for admins (and auditors, read-only)."""

    everything: bool
    users: frozenset[str] = frozenset()  # themself and the members of the groups they administer
    groups: frozenset[str] = frozenset()  # the groups they are in or administer
    managed_groups: frozenset[str] = frozenset()  # the groups they administer
    service_accounts: frozenset[str] = frozenset()  # the service accounts of those groups
    me: str = ""  # the caller's own user name (empty for admins and auditors)

    def sees(self, owner: str | None) -> bool:
        """Whether a key or usage owner (``user:NAME``, ``group:NAME``, ``serviceaccount:NAME``) is theirs."""
        if self.everything:
            return True
        if owner is None:
            return False
        kind, _, name = owner.partition(":")
        if kind == "user":
            return name in self.users
        if kind == "group":
            return name in self.managed_groups
        if kind == "serviceaccount":
            return name in self.service_accounts
        return False

    def manages(self, owner: str | None) -> bool:
        """Whether the caller may change keys of ``owner``: their own, their groups' and their groups'
        service accounts' keys; never another user's personal key, even a member's they can see."""
        if self.everything:
            return True
        if owner is not None and owner.startswith("user:"):
            return bool(self.me) and owner == f"user:{self.me}"
        return self.sees(owner)

    @property
    def owners(self) -> frozenset[str] | None:
        """Every owner in the tenant, or None for everything."""
        if self.everything:
            return None
        return frozenset(
            [f"user:{name}" for name in self.users]
            + [f"group:{name}" for name in self.managed_groups]
            + [f"serviceaccount:{name}" for name in self.service_accounts]
        )


EVERYTHING = Tenancy(everything=True)


async def tenancy_of(conn: AsyncConnection, principal: Principal) -> Tenancy:
    if principal.reads_everything:
        return EVERYTHING
    managed = principal.admin_of
    members = await identity_repo.members_of(conn, managed) if managed else frozenset()
    accounts = await identity_repo.service_accounts_of(conn, managed) if managed else frozenset()
    return Tenancy(
        everything=False,
        users=members | {principal.name},
        groups=principal.groups | managed,
        managed_groups=managed,
        service_accounts=accounts,
        me=principal.name,
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """The authorised caller of one admin API request."""

    principal: Principal
    origin: Origin
    permission: str
    tenancy: Tenancy

    @property
    def actor(self) -> str:
        return self.principal.actor


def request_origin(request: Request, actor: str) -> Origin:
    return Origin(actor=actor, request_id=request_id(request), source_ip=source_ip(request))


def target_of(request: Request, permission: str) -> tuple[str, str]:
    kind = permission.partition(".")[0]
    params = request.path_params
    return kind, str(params.get("key_id") or params.get("name") or "")


async def deny(
    cp: ControlPlane, origin: Origin, permission: str, target: tuple[str, str], detail: str
) -> None:
    """Record a refused admin action (never fails the request it refuses)."""
    entry = Entry(
        action=permission, target_type=target[0], target_id=target[1], outcome="denied", detail=detail
    )
    try:
        await record_alone(cp.engine, origin, entry)
    except Exception:
        log.exception("could not record a denied action in the audit trail")


async def authorise(request: Request, cp: ControlPlane, principal: Principal) -> Caller:
    path = request.url.path
    permission = permission_for(request.method, path)
    origin = request_origin(request, principal.actor)
    if permission is None:
        log.error("admin route %s %s has no permission: refused", request.method, path)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This route is not open to anyone.")
    if not allowed(principal, permission):
        message = f"Your role ({principal.role}) may not perform {permission}."
        await deny(cp, origin, permission, target_of(request, permission), message)
        raise HTTPException(status.HTTP_403_FORBIDDEN, message)
    async with cp.read() as conn:
        tenancy = await tenancy_of(conn, principal)
    return Caller(principal=principal, origin=origin, permission=permission, tenancy=tenancy)
