"""Rebuilding counters from usage events: which counters, which amounts, which buckets and periods.

NOW is Friday 2027-01-15 08:00 UTC, so today's (daily, UTC) budget period began 8 hours ago.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from headwater.gateway.admission import Admission
from headwater.gateway.recount import Recount
from headwater.keys.schemas import KeyLimits
from headwater.limits.base import Charge
from headwater.limits.memory import MemoryLimiter
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot
from headwater.usage.history import UsageRow, UsageTotal

NOW = 1_800_000_000.0
MODEL = ModelView("m", "chat", "open", "active", Pricing(Decimal(1), Decimal(2), "USD"), (), 0)


def tier() -> PolicyView:
    spec = PolicySpec.model_validate(
        {
            "targets": {"users": ["ann"], "groups": ["devs"]},
            "limits": [{"tokens": 1000, "window": "1h"}, {"requests": 100, "window": "1m"}],
            "budget": {"amount": "1", "period": "daily"},
        }
    )
    return PolicyView("t", spec, None, frozenset({"devs"}), frozenset({"ann"}), frozenset())


def key(key_id: str, status: str = "active", limits: KeyLimits | None = None) -> KeyView:
    return KeyView(key_id, "hash-" + key_id, key_id, "user:ann", None, status, None, limits)


SNAPSHOT = Snapshot(
    1,
    MappingProxyType(
        {"k1": key("k1", limits=KeyLimits(tokens_per_minute=500)), "k2": key("k2", status="revoked")}
    ),
    MappingProxyType({"m": MODEL}),
    (tier(),),
    MappingProxyType({"user:bob": ("devs",)}),
)


def row(n: int, ago: float, key_id: str, prompt: int, completion: int, **other: Any) -> UsageRow:
    cost = (prompt + 2 * completion) / Decimal(1_000_000)
    return UsageRow(
        n,
        NOW - ago,
        key_id,
        other.get("principal", "user:ann"),
        other.get("model", "m"),
        prompt,
        completion,
        cost,
    )


class History:
    def __init__(self, rows: list[UsageRow]) -> None:
        self.stored = rows

    async def rows(self, since: float, until: float) -> AsyncIterator[UsageRow]:
        for found in self.stored:
            if since <= found.ts < until:
                yield found

    async def totals(self, since: float, until: float) -> list[UsageTotal]:
        sums: dict[tuple[str, str, str], UsageTotal] = {}
        for r in self.stored:
            if since <= r.ts < until:
                was = sums.get((r.key_id, r.principal, r.model))
                calls, p, c, cost = (
                    (was.calls, was.prompt_tokens, was.completion_tokens, was.cost)
                    if was
                    else (0, 0, 0, Decimal(0))
                )
                sums[(r.key_id, r.principal, r.model)] = UsageTotal(
                    r.key_id,
                    r.principal,
                    r.model,
                    calls + 1,
                    p + r.prompt_tokens,
                    c + r.completion_tokens,
                    cost + r.cost,
                )
        return list(sums.values())


async def counters(rows: list[UsageRow], caller: KeyView, now: float = NOW) -> list[int]:
    """What each rule of ``caller``'s plan holds after a rebuild from ``rows``."""
    limiter = MemoryLimiter(clock=lambda: now)
    admission = Admission(limiter, default_max_tokens=16, events=lambda event: None, clock=lambda: now)
    await limiter.restore(Recount(History(rows), admission, lambda: SNAPSHOT))
    rules = admission.plan(SNAPSHOT, caller, MODEL).rules
    decision = await limiter.reserve([Charge(admission.limit_for(rule, now), 0) for rule in rules], now)
    return [state.used for state in decision.states]


async def test_every_key_of_a_user_counts_for_the_users_rules() -> None:
    rows = [
        row(1, 30, "k1", 10, 20),  # an active key
        row(2, 200, "k2", 5, 5),  # a revoked key
        row(3, 300, "k3", 1, 1),  # a key no longer known
        row(4, 10, "k1", 7, 7, model="gone"),  # a model no longer known: skipped
        row(5, 4000, "k1", 100, 0),  # out of the hour, still today
        row(6, 9 * 3600, "k1", 1000, 0),  # yesterday
    ]
    # tokens per hour, requests per minute, today's budget (billionths), k1's own tokens per minute
    assert await counters(rows, key("k1")) == [
        30 + 10 + 2,
        1,
        (10 + 40) * 1000 + (5 + 10) * 1000 + (1 + 2) * 1000 + 100 * 1000,
        30,
    ]


async def test_token_callers_count_as_their_user_with_directory_groups() -> None:
    bob = KeyView("oidc", "", "OIDC access token", "user:bob", None, "active", None)
    rows = [row(1, 5, "oidc", 3, 4, principal="user:bob"), row(2, 6, "k1", 50, 50)]
    assert await counters(rows, bob) == [7, 1, 11_000]


async def test_late_events_are_counted_once() -> None:
    history = History([row(1, 5, "k1", 1, 1)])
    limiter = MemoryLimiter(clock=lambda: NOW)
    admission = Admission(limiter, default_max_tokens=16, events=lambda event: None, clock=lambda: NOW)
    rebuilt = await Recount(history, admission, lambda: SNAPSHOT)(NOW)
    today = "p:t:u:user:ann:cost:1799971200"  # the daily budget's counter for the period from 00:00
    assert {seed.limit.counter_key: seed.amount for seed in rebuilt.seeds} == {
        "p:t:u:user:ann:tokens:3600": 2,
        "p:t:u:user:ann:requests:60": 1,
        today: 3000,
        "k:k1:tokens:60": 2,
    }
    history.stored += [row(2, 3, "k1", 4, 0), row(3, -1, "k1", 8, 0)]  # stored since; 3 ended after
    late = await rebuilt.late(NOW)  # row 1 was seen, row 3 ended after NOW
    assert {seed.limit.counter_key: seed.amount for seed in late} == {
        "p:t:u:user:ann:tokens:3600": 4,
        "p:t:u:user:ann:requests:60": 1,
        today: 4000,
        "k:k1:tokens:60": 4,
    }
