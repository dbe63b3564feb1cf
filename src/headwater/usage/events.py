"""A usage event: one per admitted gateway call, completed or failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


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


class UsageStore(Protocol):
    async def write(self, events: Sequence[UsageEvent]) -> None:
        """Persist events (and the keys' ``last_used_at``) in one transaction."""
