"""Identity rows: external identities mapped to users, group sync, group admins, sessions, sign-ins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.clock import utcnow
from headwater.storage.sql.tables import (
    group_admins,
    group_members,
    groups,
    login_states,
    service_accounts,
    sessions,
    users,
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    subject: str | None
    email: str | None
    role: str
    status: str
    groups: frozenset[str]
    admin_of: frozenset[str]
    #: The groups among ``groups`` that came from the identity provider (``source: oidc``).
    external_groups: frozenset[str] = frozenset()


async def user_record(conn: AsyncConnection, name: str) -> UserRecord | None:
    row = (await conn.execute(select(users).where(users.c.name == name))).mappings().first()
    if row is None:
        return None
    member = (
        select(group_members.c.group_name, groups.c.source)
        .join(groups, groups.c.name == group_members.c.group_name)
        .where(group_members.c.user_name == name)
    )
    admin = select(group_admins.c.group_name).where(group_admins.c.user_name == name)
    memberships = (await conn.execute(member)).all()
    return UserRecord(
        name=row["name"],
        subject=row["subject"],
        email=row["email"],
        role=row["role"],
        status=row["status"],
        groups=frozenset(row.group_name for row in memberships),
        admin_of=frozenset((await conn.execute(admin)).scalars()),
        external_groups=frozenset(row.group_name for row in memberships if row.source == "oidc"),
    )


async def name_by_subject(conn: AsyncConnection, subject: str) -> str | None:
    query = select(users.c.name).where(users.c.subject == subject)
    value = (await conn.execute(query)).scalar_one_or_none()
    return str(value) if value is not None else None


async def unlinked_by_email(conn: AsyncConnection, email: str) -> str | None:
    """The user with this email (any case) not yet linked to a subject, when there is exactly one."""
    query = select(users.c.name).where(users.c.subject.is_(None), func.lower(users.c.email) == email.lower())
    names = (await conn.execute(query.limit(2))).scalars().all()
    return str(names[0]) if len(names) == 1 else None


async def create_user(conn: AsyncConnection, name: str, subject: str | None, email: str | None) -> None:
    now = utcnow()
    await conn.execute(
        users.insert().values(
            name=name,
            subject=subject,
            email=email,
            role="user",
            status="active",
            created_at=now,
            updated_at=now,
        )
    )


async def set_user(conn: AsyncConnection, name: str, **values: Any) -> None:
    await conn.execute(update(users).where(users.c.name == name).values(**values))


async def group_sources(conn: AsyncConnection, names: Iterable[str]) -> dict[str, str]:
    query = select(groups.c.name, groups.c.source).where(groups.c.name.in_(list(names)))
    return {row.name: row.source for row in await conn.execute(query)}


async def create_external_groups(conn: AsyncConnection, names: Iterable[str]) -> None:
    now = utcnow()
    rows = [
        {"name": name, "description": "", "source": "oidc", "created_at": now, "updated_at": now}
        for name in names
    ]
    if rows:
        await conn.execute(groups.insert(), rows)


async def set_memberships(
    conn: AsyncConnection, user: str, add: Iterable[str], remove: Iterable[str]
) -> None:
    removed = list(remove)
    if removed:
        await conn.execute(
            delete(group_members).where(
                group_members.c.user_name == user, group_members.c.group_name.in_(removed)
            )
        )
    added = [{"user_name": user, "group_name": name} for name in add]
    if added:
        await conn.execute(group_members.insert(), added)


# ---- tenancy ------------------------------------------------------------------------------------
async def members_of(conn: AsyncConnection, group_names: Iterable[str]) -> frozenset[str]:
    query = select(group_members.c.user_name).where(group_members.c.group_name.in_(list(group_names)))
    return frozenset((await conn.execute(query)).scalars())


async def service_accounts_of(conn: AsyncConnection, group_names: Iterable[str]) -> frozenset[str]:
    query = select(service_accounts.c.name).where(service_accounts.c.group_name.in_(list(group_names)))
    return frozenset((await conn.execute(query)).scalars())


async def set_group_admins(conn: AsyncConnection, group: str, names: Iterable[str]) -> None:
    await conn.execute(delete(group_admins).where(group_admins.c.group_name == group))
    rows = [{"group_name": group, "user_name": name} for name in sorted(set(names))]
    if rows:
        await conn.execute(group_admins.insert(), rows)


# ---- sessions -----------------------------------------------------------------------------------
async def create_session(
    conn: AsyncConnection,
    session_hash: str,
    user: str,
    csrf: str,
    expires_at: datetime,
    source_ip: str | None,
) -> None:
    await conn.execute(
        sessions.insert().values(
            id=session_hash,
            user_name=user,
            csrf=csrf,
            created_at=utcnow(),
            expires_at=expires_at,
            source_ip=source_ip,
        )
    )


async def find_session(conn: AsyncConnection, session_hash: str) -> tuple[str, str] | None:
    """The session's user and CSRF token, while it is unexpired."""
    query = select(sessions.c.user_name, sessions.c.csrf).where(
        sessions.c.id == session_hash, sessions.c.expires_at > utcnow()
    )
    row = (await conn.execute(query)).first()
    return (row.user_name, row.csrf) if row else None


async def delete_session(conn: AsyncConnection, session_hash: str) -> bool:
    result = await conn.execute(delete(sessions).where(sessions.c.id == session_hash))
    return bool(result.rowcount)


async def delete_expired(conn: AsyncConnection, login_older_than: datetime) -> None:
    await conn.execute(delete(sessions).where(sessions.c.expires_at <= utcnow()))
    await conn.execute(delete(login_states).where(login_states.c.created_at < login_older_than))


# ---- sign-ins under way -------------------------------------------------------------------------
async def save_login(
    conn: AsyncConnection, state: str, code_verifier: str, nonce: str, return_to: str
) -> None:
    await conn.execute(
        login_states.insert().values(
            state=state, code_verifier=code_verifier, nonce=nonce, return_to=return_to, created_at=utcnow()
        )
    )


async def pending_logins(conn: AsyncConnection) -> int:
    """How many sign-ins are under way (call after deleting the expired ones)."""
    return int((await conn.execute(select(func.count()).select_from(login_states))).scalar_one())


async def take_login(conn: AsyncConnection, state: str, not_before: datetime) -> tuple[str, str, str] | None:
    """Removes and returns (code_verifier, nonce, return_to): each state is good for one callback."""
    query = select(login_states).where(login_states.c.state == state)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    await conn.execute(delete(login_states).where(login_states.c.state == state))
    if row["created_at"] < not_before:
        return None
    return row["code_verifier"], row["nonce"], row["return_to"]
