"""The authenticated caller of the admin API, and how identity-provider groups map to roles."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["admin", "auditor", "user"]
Via = Literal["token", "oidc", "session", "header"]

_RANK = {"user": 0, "auditor": 1, "admin": 2}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def strongest(*roles: Role) -> Role:
    return max(roles, key=_RANK.__getitem__)


def role_from_groups(
    groups: Iterable[str], admin_groups: Iterable[str], auditor_groups: Iterable[str]
) -> Role:
    """``admin`` for a member of an admin group, ``auditor`` for an auditor group, else ``user``."""
    member = set(groups)
    if member & set(admin_groups):
        return "admin"
    if member & set(auditor_groups):
        return "auditor"
    return "user"


def user_name_for(username: str | None, email: str | None, subject: str) -> str:
    """The Headwater user name for an identity first seen: preferred_username, else email, else sub."""
    for candidate in (username, email, subject):
        if candidate:
            cleaned = _NAME_UNSAFE.sub("-", candidate).strip("-._@")[:128]
            if cleaned:
                return cleaned
    raise ValueError("the identity has no usable name")


def name_for_another_subject(name: str, subject: str) -> str:
    """The name a new identity gets when ``name`` is already a user's (declared, or another subject's)."""
    return f"{name[:119]}-{hashlib.sha256(subject.encode()).hexdigest()[:8]}"


def linkable_email(email: str | None, verified: bool, allowed: bool) -> str | None:
    """The email a first sign-in may be linked by (lower case): only when the setting allows it
    (HEADWATER_OIDC_LINK_VERIFIED_EMAIL) and the issuer says the email is verified."""
    return email.lower() if allowed and verified and email else None


def group_names(groups: Iterable[str]) -> tuple[str, ...]:
    """Groups from a claim or header, reduced to valid group names (others are ignored)."""
    names = {_NAME_UNSAFE.sub("-", group.strip().lstrip("/")).strip("-._@")[:128] for group in groups}
    return tuple(sorted(name for name in names if name))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls the admin API. ``admin_of`` lists the groups the user administers."""

    kind: Literal["bootstrap", "user"]
    name: str
    role: Role
    via: Via
    groups: frozenset[str] = field(default_factory=frozenset)
    admin_of: frozenset[str] = field(default_factory=frozenset)
    #: The CSRF token a session-authenticated caller must echo on state-changing calls.
    csrf: str | None = None

    @property
    def actor(self) -> str:
        return "admin:bootstrap" if self.kind == "bootstrap" else f"user:{self.name}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_everything(self) -> bool:
        return self.role in ("admin", "auditor")

    @property
    def is_group_admin(self) -> bool:
        return bool(self.admin_of)


BOOTSTRAP = Principal(kind="bootstrap", name="bootstrap", role="admin", via="token")
