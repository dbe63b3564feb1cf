"""Usage schemas of the admin API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from headwater.names import Amount


class UsageEventRead(BaseModel):
    id: int
    time: datetime
    request_id: str
    key_id: str
    principal: str
    model: str
    deployment: str
    provider: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Amount
    currency: str
    status: str
    http_status: int
    latency_ms: float
    ttft_ms: float | None
    streamed: bool
    estimated: bool
    groups: list[str] = Field(
        default_factory=list, description="The caller's groups at the time of the call."
    )
    cost_center: str | None = Field(None, description="None: unassigned (docs/usage.md).")
    policy: str | None = Field(None, description="The policy (tier) that admitted the call.")


class UsagePage(BaseModel):
    items: list[UsageEventRead]
    next: str | None


class LimitEventRead(BaseModel):
    id: int
    time: datetime
    request_id: str
    key_id: str
    principal: str
    model: str
    policy: str | None
    limit: str
    kind: str
    action: str


class LimitEventPage(BaseModel):
    items: list[LimitEventRead]
    next: str | None
