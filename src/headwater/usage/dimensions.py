"""The dimensions usage is grouped and filtered by, and how each is read from a stored row.

Every dimension is read from one column that the raw events and the hourly rollup share (the daily
and monthly rollups lack ``key_id`` and ``principal``: :data:`NEEDS_PRINCIPAL`):

- ``user`` and ``serviceAccount`` from the principal (``user:NAME``, ``serviceaccount:NAME``); any
  other principal has no user (or no service account): ``unassigned``;
- ``key`` from the key id (a caller who used no API key has none);
- ``group`` from the caller's groups at the time of the call: an event counts once in *each* of its
  groups, so the group rows of one answer may add up to more than its totals;
- the others from their own column; an empty one (or NULL: events older than the ledger) is
  ``unassigned``.

A filter value ``unassigned`` matches the events without that dimension.
"""

from __future__ import annotations

from typing import Final

from headwater.usage.events import NOT_KEYS
from headwater.usage.rollup import UNASSIGNED, groups_of

DIMENSIONS: Final = (
    "model",
    "user",
    "group",
    "serviceAccount",
    "key",
    "costCenter",
    "policy",
    "provider",
    "deployment",
)
#: The column each dimension is read from.
COLUMN: Final = {
    "model": "model",
    "user": "principal",
    "group": "groups",
    "serviceAccount": "principal",
    "key": "key_id",
    "costCenter": "cost_center",
    "policy": "policy",
    "provider": "provider",
    "deployment": "deployment",
}
#: Dimensions only the hourly rollup and the raw events hold.
NEEDS_PRINCIPAL: Final = frozenset({"user", "serviceAccount", "key"})
#: Principal prefixes of the dimensions read from the principal.
PREFIX: Final = {"user": "user:", "serviceAccount": "serviceaccount:"}


def allowed_list(names: tuple[str, ...] = DIMENSIONS) -> str:
    return ", ".join(names)


def values_of(dimension: str, stored: str | None) -> tuple[str, ...]:
    """The dimension's value(s) for a stored column value (several only for ``group``)."""
    if dimension == "group":
        return groups_of(stored) or (UNASSIGNED,)
    if dimension in PREFIX:
        prefix = PREFIX[dimension]
        return (stored[len(prefix) :],) if stored and stored.startswith(prefix) else (UNASSIGNED,)
    if dimension == "key":
        return (stored,) if stored and stored not in NOT_KEYS else (UNASSIGNED,)
    return (stored or UNASSIGNED,)


def parse_by(text: str | None, most: int, allowed: tuple[str, ...] = DIMENSIONS) -> tuple[str, ...]:
    """``by`` (comma-separated dimensions) checked; raises ValueError saying what is allowed."""
    if text is None or not text.strip():
        return ()
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if name not in allowed:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ValueError(f"unknown dimension {shown!r}: one of {allowed_list(allowed)}")
    if len(set(names)) != len(names):
        raise ValueError("a dimension is named twice")
    if len(names) > most:
        raise ValueError(f"at most {most} dimension{'s' if most > 1 else ''}")
    return names
