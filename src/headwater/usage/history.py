"""The stored usage events, read back to rebuild the limit counters (``gateway.recount``).

The gateway never imports storage: it reads the history through :class:`UsageHistory`, which
``storage.sql.usage_history`` implements and ``headwater.main`` wires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One usage event, as much of it as counting needs (``ts``: when the call ended)."""

    id: int
    ts: float
    key_id: str
    principal: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """The events of one (key, principal, model) in a time range, summed."""

    key_id: str
    principal: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


class UsageHistory(Protocol):
    def rows(self, since: float, until: float) -> AsyncIterator[UsageRow]:
        """Every event with ``since <= ts < until`` (epoch seconds), streamed."""
        ...

    async def totals(self, since: float, until: float) -> list[UsageTotal]:
        """The events with ``since <= ts < until``, summed per (key, principal, model), exactly."""
        ...
