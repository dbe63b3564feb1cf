"""Who calls the admin API: the bootstrap token, an OIDC access token, a session, or a trusted header.

Tried in that order. A session-authenticated call that changes something must echo the session's
CSRF token in ``X-CSRF-Token`` (the ``hw_csrf`` cookie holds it); bearer calls need none.

An admin's call carrying ``X-Headwater-View-As: <user>`` is then served as that user, read-only
(:func:`_viewed`; the audited start is :mod:`headwater.admin.view_as`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status
from sqlalchemy import select

from headwater.control import ControlPlane
from headwater.identity.jwt_verifier import InvalidToken, JwtVerifier
from headwater.identity.principal import (
    BOOTSTRAP,
    Principal,
    Via,
    role_from_groups,
    strongest,
)
from headwater.identity.provisioning import ExternalIdentity, provision
from headwater.identity.trusted import TrustedHeaders
from headwater.keys.secret import hash_key
from headwater.names import NAME_PATTERN
from headwater.storage.sql import identity as repo
from headwater.storage.sql.identity import UserRecord
from headwater.storage.sql.tables import admin_tokens

log = logging.getLogger("headwater.admin")

SESSION_COOKIE = "hw_session"
CSRF_COOKIE = "hw_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIEW_AS_HEADER = "x-headwater-view-as"
#: The request state's key for the admin (their actor) viewing as the caller, read-only.
VIEWER_STATE = "viewing_as_by"
VIEW_AS_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class IdentityConfig:
    """How the admin API recognises callers (built by the composition root)."""

    admin_token_hash: str | None = None
    verifier: JwtVerifier | None = None
    trusted: TrustedHeaders = field(default_factory=lambda: TrustedHeaders((), ()))
    admin_groups: tuple[str, ...] = ()
    auditor_groups: tuple[str, ...] = ()


class Unauthenticated(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def source_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _bootstrap_token(cp: ControlPlane, config: IdentityConfig, token: str) -> bool:
    presented = hash_key(token)
    if config.admin_token_hash is not None:
        return hmac.compare_digest(presented, config.admin_token_hash)
    async with cp.read() as conn:
        query = select(admin_tokens.c.id).where(admin_tokens.c.hash == presented)
        return (await conn.execute(query)).first() is not None


def principal_for(
    record: UserRecord, config: IdentityConfig, via: Via, groups: frozenset[str] | None = None
) -> Principal:
    """A user's principal: the stronger of their stored role and the role their groups map to."""
    if record.status != "active":
        raise Unauthenticated(f"The user {record.name} is disabled.")
    member_of = record.groups if groups is None else groups
    mapped = role_from_groups(member_of, config.admin_groups, config.auditor_groups)
    role = strongest(mapped, record.role if record.role in ("admin", "auditor") else "user")  # type: ignore[arg-type]
    return Principal(
        kind="user", name=record.name, role=role, via=via, groups=member_of, admin_of=record.admin_of
    )


async def _bearer(request: Request, cp: ControlPlane, config: IdentityConfig, token: str) -> Principal:
    if await _bootstrap_token(cp, config, token):
        return BOOTSTRAP
    if config.verifier is None or not config.verifier.looks_like_jwt(token):
        raise Unauthenticated("Invalid bearer token: use an admin token or an OIDC access token.")
    try:
        claims = await config.verifier.verify(token)
    except InvalidToken as exc:
        raise Unauthenticated(f"Invalid access token: {exc}") from None
    identity = ExternalIdentity.of_token(claims)
    record = await provision(cp, identity, request_id=request_id(request), source_ip=source_ip(request))
    return principal_for(record, config, "oidc", frozenset(identity.groups or ()) | _local(record))


def _local(record: UserRecord) -> frozenset[str]:
    return record.groups - record.external_groups


async def _session(cp: ControlPlane, config: IdentityConfig, request: Request, token: str) -> Principal:
    async with cp.read() as conn:
        found = await repo.find_session(conn, session_hash(token))
        record = await repo.user_record(conn, found[0]) if found else None
    if found is None or record is None:
        raise Unauthenticated("Your session has ended; sign in again at /auth/login.")
    principal = principal_for(record, config, "session")
    csrf = found[1]
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented or not hmac.compare_digest(presented.encode(), csrf.encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "Missing or wrong CSRF token: send the hw_csrf cookie's value in X-CSRF-Token.",
            )
    return Principal(
        kind="user",
        name=principal.name,
        role=principal.role,
        via="session",
        groups=principal.groups,
        admin_of=principal.admin_of,
        csrf=csrf,
    )


def viewer(request: Request) -> str | None:
    """The admin viewing, read-only, as the caller (``X-Headwater-View-As``); None for anyone else."""
    found = getattr(request.state, VIEWER_STATE, None)
    return found if isinstance(found, str) else None


async def _viewed(request: Request, cp: ControlPlane, config: IdentityConfig, real: Principal) -> Principal:
    """The user an admin's call names in ``X-Headwater-View-As``, read-only; ``real`` without it."""
    name = request.headers.get(VIEW_AS_HEADER)
    if name is None:
        return real
    if not real.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins may view as a user (X-Headwater-View-As)")
    name = name.strip()
    valid = re.fullmatch(NAME_PATTERN, name) is not None  # else no user's name: not looked up nor echoed
    if request.method not in VIEW_AS_METHODS:  # refused before anything is read
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"read-only while viewing as {name if valid else 'a user'}"
        )
    record = None
    if valid:
        async with cp.read() as conn:
            record = await repo.user_record(conn, name)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "X-Headwater-View-As: no such user.")
    if record.status != "active":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"The user {name} is disabled: nothing to view as.")
    log.info("%s views as user:%s: %s %s", real.actor, name, request.method, request.url.path)
    setattr(request.state, VIEWER_STATE, real.actor)
    return principal_for(record, config, real.via)


async def authenticate(request: Request, cp: ControlPlane, config: IdentityConfig) -> Principal:
    return await _viewed(request, cp, config, await _caller(request, cp, config))


async def _caller(request: Request, cp: ControlPlane, config: IdentityConfig) -> Principal:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use `Authorization: Bearer <token>`.")
        return await _bearer(request, cp, config, token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await _session(cp, config, request, cookie)
    forwarded = config.trusted.identify(request.headers.raw, source_ip(request))
    if forwarded is not None:
        identity = ExternalIdentity(
            subject=None,
            username=forwarded.user,
            email=None,
            groups=forwarded.groups,
            source="header",
        )
        record = await provision(cp, identity, request_id=request_id(request), source_ip=source_ip(request))
        return principal_for(record, config, "header")
    raise Unauthenticated(
        "Not signed in: send `Authorization: Bearer <admin token | OIDC access token>` "
        "or sign in at /auth/login."
    )
