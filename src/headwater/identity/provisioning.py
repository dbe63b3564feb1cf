"""External identities (OIDC subjects, forwarded users) become Headwater users.

A user is created the first time an identity is seen. An OIDC identity is found again by its
subject (``sub``), the only thing an issuer guarantees to be stable and unique; nothing else ever
links an identity to an existing user by name: the first token that says ``preferred_username:
alice`` must not become the ``alice`` an admin declared in git. A new subject takes its preferred
username (else email, else subject) as its name, or that name with a suffix derived from the subject
when a user of that name exists already (declared, or another subject's). The one other way in:
with ``HEADWATER_OIDC_LINK_VERIFIED_EMAIL`` on, a new subject whose token says ``email_verified`` is
linked to the one declared user that has the same email and no subject yet. A forwarded user (a
trusted proxy's header) has no subject: the proxy vouches for the name itself.

Groups are synced from the claim at every sign-in (and whenever a bearer token's claim differs from
what is stored): groups named in the claim are joined (and created, as ``source: oidc``, when
missing); memberships of identity-provider groups (``source: oidc``) no longer named are dropped;
memberships of local groups that an admin made are kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry, Origin
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.jwt_verifier import TokenClaims
from headwater.identity.principal import (
    group_names,
    linkable_email,
    name_for_another_subject,
    user_name_for,
)
from headwater.storage.sql import identity as repo
from headwater.storage.sql.identity import UserRecord
from headwater.unit_of_work import UnitOfWork, perform

log = logging.getLogger("headwater.identity")


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    subject: str | None  # None for a forwarded (trusted-header) user
    username: str | None
    email: str | None
    #: Groups asserted by the identity provider; None when it asserts none (no groups header).
    groups: tuple[str, ...] | None
    source: Literal["oidc", "header"]
    email_verified: bool = False

    @classmethod
    def of_token(cls, claims: TokenClaims) -> ExternalIdentity:
        """The identity a verified OIDC token (access or ID token) asserts."""
        return cls(
            subject=claims.subject,
            username=claims.username,
            email=claims.email,
            groups=group_names(claims.groups),
            source="oidc",
            email_verified=claims.email_verified,
        )


async def _resolve(
    conn: AsyncConnection, identity: ExternalIdentity, link_verified_email: bool
) -> tuple[str, bool]:
    """(user name, whether the user must be created)."""
    name = user_name_for(identity.username, identity.email, identity.subject or "")
    subject = identity.subject
    if subject is None:  # a trusted proxy's user: the proxy vouches for the name
        return name, await repo.user_record(conn, name) is None
    known = await repo.name_by_subject(conn, subject)
    if known is not None:
        return known, False
    email = linkable_email(identity.email, identity.email_verified, link_verified_email)
    if email is not None:
        declared = await repo.unlinked_by_email(conn, email)
        if declared is not None:
            return declared, False
    if await repo.user_record(conn, name) is None:
        return name, True
    # The name is someone else's (declared in git, or another subject's): never take it over.
    name = name_for_another_subject(name, subject)
    existing = await repo.user_record(conn, name)
    if existing is not None:
        raise ValueError(f"the user name {name} derived for a new identity is taken")
    return name, True


def _pending(record: UserRecord, identity: ExternalIdentity) -> bool:
    if identity.subject is not None and record.subject != identity.subject:
        return True
    if identity.email and record.email != identity.email:
        return True
    if identity.groups is None:
        return False
    claimed = set(identity.groups)
    return not claimed <= record.groups or bool(record.external_groups - claimed)


async def provision(
    cp: ControlPlane,
    identity: ExternalIdentity,
    *,
    sign_in: bool = False,
    request_id: str = "",
    source_ip: str | None = None,
) -> UserRecord:
    """The user behind ``identity``, created or brought up to date (one transaction when needed).

    Concurrent first calls of one person (a client firing requests in parallel) create the user and
    groups once: changes run one at a time (:mod:`headwater.unit_of_work`), and the later ones find
    what the first created (a race lost on a unique key to a writer outside that lock is retried).
    """
    if not sign_in:
        async with cp.read() as conn:
            name, new = await _resolve(conn, identity, cp.link_verified_email)
            record = None if new else await repo.user_record(conn, name)
        if record is not None and not _pending(record, identity):
            return record
    return await _update(cp, identity, sign_in=sign_in, request_id=request_id, source_ip=source_ip)


async def _update(
    cp: ControlPlane, identity: ExternalIdentity, *, sign_in: bool, request_id: str, source_ip: str | None
) -> UserRecord:
    """Creates or updates the user; what changed goes to the audit trail, done by the user themself."""

    async def work(unit: UnitOfWork) -> UserRecord:
        conn = unit.conn
        name, new = await _resolve(conn, identity, cp.link_verified_email)
        unit.origin = Origin(f"user:{name}", request_id, source_ip)
        before = None if new else await repo.user_record(conn, name)
        if before is not None and not sign_in and not _pending(before, identity):
            return before  # a concurrent call brought the user up to date meanwhile
        if new:
            await repo.create_user(conn, name, identity.subject, identity.email)
        values: dict[str, object] = {"updated_at": utcnow()}
        if identity.subject is not None:
            values["subject"] = identity.subject
        if identity.email:
            values["email"] = identity.email
        if sign_in:
            values["last_login_at"] = utcnow()
            unit.allow_unrecorded("the time of a sign-in, which is recorded apart as user.sign_in")
        await repo.set_user(conn, name, **values)
        created_groups: list[str] = []
        if identity.groups is not None:
            created_groups = await _sync_groups(conn, name, set(identity.groups))
        record = await repo.user_record(conn, name)
        assert record is not None
        unit.record(
            *(
                Entry("group.create", "group", group, after={"name": group, "source": "oidc"})
                for group in created_groups
            )
        )
        if before is None:
            unit.record(Entry("user.create", "user", name, after=_state(record), detail=_how(identity)))
        elif _state(before) != _state(record):
            entry = Entry(
                "user.update",
                "user",
                name,
                before=_state(before),
                after=_state(record),
                detail=_how(identity),
            )
            unit.record(entry)
        return record

    return await perform(cp, Origin("system", request_id, source_ip), work)


def _state(record: UserRecord) -> dict[str, object]:
    return {
        "name": record.name,
        "subject": record.subject,
        "email": record.email,
        "status": record.status,
        "groups": sorted(record.groups),
    }


def _how(identity: ExternalIdentity) -> str:
    return "from the identity provider" if identity.source == "oidc" else "from a trusted proxy's headers"


async def _sync_groups(conn: AsyncConnection, user: str, claimed: set[str]) -> list[str]:
    """Joins the claimed groups and leaves the provider's groups no longer claimed; returns the
    groups it had to create."""
    record = await repo.user_record(conn, user)
    assert record is not None
    sources = await repo.group_sources(conn, claimed | record.groups)
    created = sorted(claimed - sources.keys())
    await repo.create_external_groups(conn, created)
    add = sorted(claimed - record.groups)
    remove = sorted(g for g in record.groups - claimed if sources.get(g) == "oidc")
    await repo.set_memberships(conn, user, add, remove)
    return created


class FirstSeen:
    """Creates, off the gateway's hot path, the users first seen there with an access token.

    The gateway never waits on the database: it serves the call under the name the user will get
    and hands the claims here, which provisions the user (and their groups) in the background, so
    that they appear in the directory, the showback and the audit trail like users who signed in.
    """

    def __init__(self, cp: ControlPlane, max_pending: int = 10_000) -> None:
        self._cp = cp
        self._max_pending = max_pending
        self._pending: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, claims: TokenClaims) -> None:
        if claims.subject in self._pending or len(self._pending) >= self._max_pending:
            return
        self._pending.add(claims.subject)
        task = asyncio.get_running_loop().create_task(self._provision(claims))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _provision(self, claims: TokenClaims) -> None:
        try:
            await provision(self._cp, ExternalIdentity.of_token(claims))
        except Exception:
            log.exception("could not create a user first seen on the gateway; retried at their next call")
        # Once created, the snapshot knows the subject and the gateway stops asking.
        self._pending.discard(claims.subject)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
