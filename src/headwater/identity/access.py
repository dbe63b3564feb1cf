"""Who may do what: each permission's rule, a caller's tenant, and the authorised caller.

This is domain knowledge, so it lives beside the principals and roles it is about (``identity/``),
free of any web framework: the services check a :class:`Caller` they are handed, and importing a
service never loads FastAPI. The admin API (:mod:`headwater.admin.access`) only translates it to
HTTP: which route needs which permission, 403 for a role that may not, the denied-audit entry.

A permission names a rule:

- ``admin``: admins only;
- ``read``: admins and auditors;
- ``tenant``: everyone signed in, narrowed to their tenant; auditors only on reads;
- ``group-admin``: admins, and group admins within the groups they administer;
- ``signed-in``: everyone signed in.

A caller's tenant: admins and auditors see everything; a user sees themself and their own keys and
usage; a group admin also sees their groups' service accounts, members and group-owned keys.
Objects outside the tenant answer 404, exactly as if they did not exist, so ids cannot be probed.

Seeing is not managing (:meth:`Tenancy.manages`): a user manages their own keys; a group admin also
their groups' keys and their service accounts' keys, but never a member's personal key, which they
only see (metadata, usage). Changing a key one sees but does not manage is 403 (audited as denied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Origin
from headwater.identity.principal import Principal
from headwater.storage.sql import identity as identity_repo

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
    "model.test_connection": "admin",
    "credential.read": "read",
    "credential.update": "admin",
    "credential.delete": "admin",
    "policy.read": "tenant",
    "policy.create": "admin",
    "policy.update": "admin",
    "policy.delete": "admin",
    "user.read": "tenant",
    "user.create": "admin",
    "user.update": "admin",
    "user.delete": "admin",
    "user.view_as": "admin",
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
    """The authorised caller of one admin action: who, from where, for which permission, and their tenant."""

    principal: Principal
    origin: Origin
    permission: str
    tenancy: Tenancy

    @property
    def actor(self) -> str:
        return self.principal.actor
