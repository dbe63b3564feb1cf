"""Authorisation in the admin API: which permission each route needs, and what a refusal looks like.

Every ``/api/v1`` route has an entry in :data:`PERMISSIONS` (a route without one is refused to
everybody, and a test fails). What each permission's rule allows, and a caller's tenant, are decided
by :mod:`headwater.identity.access`, free of FastAPI; this module is its HTTP face: it reads the
request, answers 403 to a role that may not act at all (recording the denial in the audit trail) and
hands the services an authorised :class:`~headwater.identity.access.Caller`.
"""

from __future__ import annotations

import logging
import re

from fastapi import HTTPException, Request, status
from starlette.routing import compile_path

from headwater.admin.auth import request_id, source_ip, viewer
from headwater.audit.record import Entry, Origin, record_alone
from headwater.control import ControlPlane
from headwater.identity.access import Caller, allowed, tenancy_of
from headwater.identity.principal import Principal

log = logging.getLogger("headwater.admin")

#: (method, route) → permission, for every admin API route but the public ones
#: (:data:`headwater.admin.gate.OPEN_PATHS`: ``/api/v1/info``, the OpenAPI document).
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/me"): "me.read",
    ("GET", "/api/v1/keys"): "key.read",
    ("POST", "/api/v1/keys"): "key.create",
    ("GET", "/api/v1/keys/{key_id}"): "key.read",
    ("GET", "/api/v1/keys/{key_id}/quota"): "key.read",
    ("PATCH", "/api/v1/keys/{key_id}"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/disable"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/enable"): "key.update",
    ("POST", "/api/v1/keys/{key_id}/revoke"): "key.revoke",
    ("POST", "/api/v1/keys/{key_id}/rotate"): "key.rotate",
    ("POST", "/api/v1/keys/revoke"): "key.bulk_revoke",
    ("GET", "/api/v1/models"): "model.read",
    ("POST", "/api/v1/models"): "model.create",
    ("POST", "/api/v1/models/test-connection"): "model.test_connection",
    ("GET", "/api/v1/models/{name:path}"): "model.read",  # a model name may hold /
    ("GET", "/api/v1/models/{name:path}/runtime"): "model.read",
    ("PUT", "/api/v1/models/{name:path}"): "model.update",
    ("DELETE", "/api/v1/models/{name:path}"): "model.delete",
    ("GET", "/api/v1/credentials"): "credential.read",
    ("GET", "/api/v1/credentials/{name}"): "credential.read",
    ("PUT", "/api/v1/credentials/{name}"): "credential.update",
    ("DELETE", "/api/v1/credentials/{name}"): "credential.delete",
    ("GET", "/api/v1/policies"): "policy.read",
    ("POST", "/api/v1/policies"): "policy.create",
    ("GET", "/api/v1/policies/{name}"): "policy.read",
    ("PUT", "/api/v1/policies/{name}"): "policy.update",
    ("DELETE", "/api/v1/policies/{name}"): "policy.delete",
    ("GET", "/api/v1/users"): "user.read",
    ("POST", "/api/v1/users"): "user.create",
    ("GET", "/api/v1/users/{name}"): "user.read",
    ("GET", "/api/v1/users/{name}/quota"): "user.read",
    ("PUT", "/api/v1/users/{name}"): "user.update",
    ("DELETE", "/api/v1/users/{name}"): "user.delete",
    ("POST", "/api/v1/users/{name}/view-as"): "user.view_as",
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
    ("GET", "/api/v1/usage/summary"): "usage.read",
    ("GET", "/api/v1/usage/timeseries"): "usage.read",
    ("GET", "/api/v1/usage/top"): "usage.read",
    ("GET", "/api/v1/usage/report"): "usage.read",
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
    origin = request_origin(request, viewer(request) or principal.actor)  # the admin, when viewing as
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
