"""Writing audit events: what an entry holds, and appending entries to the chain.

Services describe their changes as :class:`Entry` values (:func:`change` builds the usual ones); the
unit of work (:mod:`headwater.unit_of_work`) appends them with :func:`record` in the change's own
transaction. Events that are not changes of state (a denied action, a sign-in) are appended alone,
in a transaction of their own (:func:`record_alone`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.audit.chain import event_hash, json_value
from headwater.audit.redact import redact, scrub
from headwater.clock import utcnow
from headwater.storage.sql import audit as repo

Outcome = Literal["success", "denied", "failure"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

#: Column sizes, checked here so that SQLite (which does not enforce them) fails like PostgreSQL.
_LIMITS = {
    "actor": 200,
    "action": 64,
    "target_type": 32,
    "target_id": 256,
    "request_id": 128,
    "source_ip": 64,
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Who and from where: filled by the admin API per request."""

    actor: str  # "user:alice", "admin:bootstrap", "serviceaccount:ci", "system"
    request_id: str
    source_ip: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """What happened: ``action`` is ``<type>.<verb>``, e.g. ``key.revoke``."""

    action: str
    target_type: str
    target_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    outcome: Outcome = "success"
    detail: str | None = None


def change(
    target_type: str,
    target_id: str,
    before: Mapping[str, Any] | BaseModel | None,
    after: Mapping[str, Any] | BaseModel | None,
    detail: str | None = None,
) -> Entry:
    """``<type>.create``, ``.update`` or ``.delete``, told apart by the states around the change."""
    verb = "create" if before is None else "delete" if after is None else "update"
    return Entry(
        action=f"{target_type}.{verb}",
        target_type=target_type,
        target_id=target_id,
        before=_dumped(before),
        after=_dumped(after),
        detail=detail,
    )


def _dumped(value: Mapping[str, Any] | BaseModel | None) -> Mapping[str, Any] | None:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _state(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    cleaned: dict[str, Any] = redact(json_value(value))
    return cleaned


def _check(fields: Mapping[str, Any]) -> None:
    action = fields["action"]
    if "." not in action or action.startswith(".") or action.endswith("."):
        raise ValueError(f"audit action {action!r} is not <type>.<verb>")
    if fields["outcome"] not in OUTCOMES:
        raise ValueError(f"audit outcome {fields['outcome']!r} is not one of {sorted(OUTCOMES)}")
    for name, limit in _LIMITS.items():
        value = fields[name]
        if value is not None and len(value) > limit:
            raise ValueError(f"audit {name} is longer than {limit} characters")


async def record(conn: AsyncConnection, origin: Origin, *entries: Entry) -> None:
    """Append ``entries`` to the chain inside the caller's transaction (last in it: the unit of work).

    The head row is updated first, which serialises writers across processes on SQLite and
    PostgreSQL; the events are committed, or rolled back, with the caller's change.
    """
    if not entries:
        return
    rows: list[dict[str, Any]] = []
    for entry in entries:
        fields: dict[str, Any] = {
            "actor": origin.actor,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "before": _state(entry.before),
            "after": _state(entry.after),
            "request_id": origin.request_id,
            "source_ip": origin.source_ip,
            "outcome": entry.outcome,
            "detail": scrub(entry.detail) if entry.detail is not None else None,
        }
        _check(fields)
        rows.append(fields)
    seq, prev_hash = await repo.advance_head(conn, len(rows))
    ts = utcnow()  # read under the lock, so that time order is seq order
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["ts"] = ts
        row["prev_hash"] = prev_hash
        row["hash"] = prev_hash = event_hash(row, prev_hash)
    await repo.append(conn, rows)


async def record_alone(engine: AsyncEngine, origin: Origin, *entries: Entry) -> None:
    """Append ``entries`` in a transaction of their own (denied actions, sign-ins)."""
    if not entries:
        return
    async with engine.begin() as conn:
        await record(conn, origin, *entries)
