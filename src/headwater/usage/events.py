"""A usage event: one per admitted gateway call, completed or failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

#: The ``key_id`` of usage and limit events of callers who used no API key.
TOKEN_KEY_ID = "oidc"  # noqa: S105 (a label, not a secret)
HEADER_KEY_ID = "header"
NOT_KEYS = frozenset({TOKEN_KEY_ID, HEADER_KEY_ID})


@dataclass(slots=True)
class UsageEvent:
    ts: float
    request_id: str
    key_id: str
    principal: str
    model: str
    deployment: str
    provider: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    currency: str
    status: str  # success | error | cancelled
    http_status: int
    latency_ms: float
    ttft_ms: float | None
    streamed: bool
    estimated: bool


class UsageSink(Protocol):
    def emit(self, event: UsageEvent) -> None: ...


E_contra = TypeVar("E_contra", contravariant=True)


class EventStore(Protocol[E_contra]):
    async def write(self, events: Sequence[E_contra]) -> None:
        """Persist a batch of events in one transaction."""


@dataclass(slots=True)
class LimitEvent:
    """A call refused (``denied``) or let through over a soft limit (``warned``)."""

    ts: float
    request_id: str
    key_id: str
    principal: str
    model: str
    policy: str | None
    limit: str
    kind: str  # rate | budget | schedule
    action: str  # denied | warned
