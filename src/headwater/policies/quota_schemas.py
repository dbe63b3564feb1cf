"""What ``GET /api/v1/keys/{id}/quota`` and ``GET /api/v1/users/{name}/quota`` answer (see
:mod:`headwater.policies.quota` for how the figures are read)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from headwater.names import Amount

Source = Literal["policy", "key", "model"]
Metric = Literal["requests", "tokens", "input", "output", "cost"]
Period = Literal["daily", "weekly", "monthly"]


class QuotaItem(BaseModel):
    """One counter the gateway enforces, as the live limiter holds it."""

    counter: str = Field(
        description="The counter's id: the same for every caller and model that counts on it."
    )
    description: str = Field(description="The limit in words, as a refusal names it.")
    source: Source = Field(
        description="policy: the caller's tier; key: the key's own limits; model: the model's capacity."
    )
    policy: str | None = Field(description="The policy of a policy limit or budget, else null.")
    metric: Metric = Field(description="What is counted: requests, tokens, input or output tokens, cost.")
    soft: bool = Field(description="Over a soft limit calls go on, with a warning header.")
    limit: int | Amount = Field(description="The capacity: a count, or an amount of money (cost).")
    used: int | Amount = Field(
        description="Counted now, calls in flight included at what they reserved until they settle."
    )
    remaining: int | Amount = Field(description="limit - used, never below 0.")
    currency: str | None = Field(description="The currency of a budget (metric cost), else null.")
    window_s: int | None = Field(description="A rolling window's length in seconds; null for a budget.")
    period: Period | None = Field(description="A budget's calendar period; null for a rolling window.")
    period_start: datetime | None = Field(description="When the budget's current period began.")
    resets_at: datetime | None = Field(
        description=(
            "Rolling window: when the oldest usage still counted leaves the window, so that "
            "`remaining` grows (null when nothing is counted). Budget: the end of the current period, "
            "when `used` starts again from 0."
        )
    )
    empty_at: datetime | None = Field(
        description=(
            "When everything counted now has left the window (what `x-ratelimit-reset-*` tells); "
            "null when nothing is counted. Budget: the end of the period."
        )
    )
    models: list[str] = Field(description="The models whose calls count on this counter, by name.")
    keys: list[str] = Field(description="The keys (ids) whose calls count on this counter.")
    token: bool = Field(
        description="Whether the user's calls without a key (an OIDC access token, trusted headers) count."
    )


class QuotaRead(BaseModel):
    """How much is left: every counter that applies, read from the limiter the gateway uses."""

    principal: str = Field(description="Who the calls are attributed to: user:NAME, group:NAME, ...")
    key_id: str | None = Field(description="The key asked about (GET /keys/{id}/quota), else null.")
    checked_at: datetime = Field(description="When the counters were read, on the limiter's clock.")
    degraded: bool = Field(
        description=(
            "The shared limiter (Redis) is unreachable and fail-open is on: these are the "
            "per-process fallback counters of the process that answered, which it enforces meanwhile."
        )
    )
    items: list[QuotaItem]
