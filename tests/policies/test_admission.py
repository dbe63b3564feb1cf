"""Admission on the memory limiter: tier selection, the over-admission bound, headers."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from headwater.errors import Forbidden, RateLimited
from headwater.gateway.admission import Admission, reset_text
from headwater.limits.memory import MemoryLimiter
from headwater.policies.plan import plan
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot
from headwater.usage.events import LimitEvent

NOW = 1_800_000_000.0
PAYLOAD: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "count to ten"}]}
PROMPT = 10  # 3 (reply priming) + 3 (one message) + count(2: five letters) to(1) ten(1)


def policy(name: str, **spec: Any) -> PolicyView:
    parsed = PolicySpec.model_validate(spec)
    models = parsed.assets.models
    return PolicyView(
        name, parsed, None if models == "all" else frozenset(models), frozenset(parsed.targets.groups),
        frozenset(parsed.targets.users), frozenset(parsed.targets.serviceAccounts),
    )  # fmt: skip


def model(name: str = "m", access: str = "open", currency: str = "USD") -> ModelView:
    return ModelView(name, "chat", access, "active", Pricing(Decimal("1"), Decimal("2"), currency), (), 0)


def key(owner: str | None = "user:ann") -> KeyView:
    return KeyView("k1", "hash", "k", owner, None, "active", None)


def snapshot(*policies: PolicyView, memberships: dict[str, tuple[str, ...]] | None = None) -> Snapshot:
    ordered = tuple(sorted(policies, key=lambda p: (-p.spec.priority, p.name)))
    return Snapshot(
        1, MappingProxyType({}), MappingProxyType({}), ordered, MappingProxyType(memberships or {})
    )


def test_highest_priority_matching_policy_is_the_tier() -> None:
    low = policy("low", targets={"groups": ["devs"]}, priority=1)
    high = policy("high", targets={"users": ["ann"]}, priority=5)
    other = policy("other", targets={"groups": ["ops"]}, priority=99)
    snap = snapshot(low, high, other, memberships={"user:ann": ("devs",)})
    assert plan(snap, key(), model()).policy is high
    assert plan(snap, key("user:bob"), model()).policy is None
    # a service account is targeted through its group
    snap = snapshot(low, memberships={"serviceaccount:bot": ("devs",)})
    assert plan(snap, key("serviceaccount:bot"), model()).policy is low


def test_restricted_models_need_a_policy_listing_them() -> None:
    everything = policy("everything", targets={"users": ["ann"]}, assets={"models": "all"})
    assert not plan(snapshot(everything), key(), model(access="restricted")).allowed
    listed = policy("listed", targets={"users": ["ann"]}, assets={"models": ["m"]})
    assert plan(snapshot(listed), key(), model(access="restricted")).allowed
    assert not plan(snapshot(listed), key(None), model(access="restricted")).allowed


def test_budget_in_another_currency_is_refused_not_ignored() -> None:
    euro = policy("euro", targets={"users": ["ann"]}, budget={"amount": "5", "currency": "EUR"})
    found = plan(snapshot(euro), key(), model(currency="USD"))
    assert found.problem and "EUR" in found.problem


async def test_over_admission_is_bounded_by_the_calls_in_flight() -> None:
    """Calls without max_tokens reserve the default (5); each then produces 40 tokens."""
    limit = 100
    tier = policy("t", targets={"users": ["ann"]}, limits=[{"tokens": limit, "window": "1h"}])
    events: list[LimitEvent] = []
    admission = Admission(
        MemoryLimiter(clock=lambda: NOW), default_max_tokens=5, events=events.append, clock=lambda: NOW
    )
    snap, caller, target = snapshot(tier), key(), model()

    tickets = []
    with pytest.raises(RateLimited):
        for _ in range(100):  # concurrent: admitted while their reservations fit
            tickets.append(await admission.admit(snap, caller, target, PAYLOAD, "r", []))
    admitted = len(tickets)
    assert admitted == limit // (PROMPT + 5)
    for ticket in tickets:
        assert ticket is not None
        await admission.settle(ticket, PROMPT, 40, Decimal(0))
    used = admitted * (PROMPT + 40)
    assert used > limit  # the estimate was short …
    assert used - limit <= admitted * (40 - 5)  # … by at most what the calls in flight under-reserved
    with pytest.raises(RateLimited) as refused:  # … and it never grows: the next call is refused
        await admission.admit(snap, caller, target, PAYLOAD, "r", [])
    assert refused.value.error_type == "tokens" and refused.value.code == "rate_limit_exceeded"
    assert events and events[-1].action == "denied" and events[-1].policy == "t"


async def test_headers_and_soft_mode() -> None:
    tier = policy(
        "soft", targets={"users": ["ann"]}, limits=[{"requests": 2, "window": "1m"}], overLimit="soft"
    )
    events: list[LimitEvent] = []
    admission = Admission(
        MemoryLimiter(clock=lambda: NOW), default_max_tokens=5, events=events.append, clock=lambda: NOW
    )
    headers: list[tuple[bytes, bytes]] = []
    await admission.admit(snapshot(tier), key(), model(), PAYLOAD, "r", headers)
    found = dict(headers)
    assert found[b"x-ratelimit-limit-requests"] == b"2"
    assert found[b"x-ratelimit-remaining-requests"] == b"1"
    assert found[b"x-ratelimit-reset-requests"] == b"1m0s"  # until the counter is empty again
    await admission.admit(snapshot(tier), key(), model(), PAYLOAD, "r", [])
    headers = []
    assert await admission.admit(snapshot(tier), key(), model(), PAYLOAD, "r", headers) is not None
    assert b"x-headwater-limit-warning" in dict(headers)
    assert [e.action for e in events] == ["warned"]


def test_schedule_refusal_names_the_window() -> None:
    closed = policy(
        "night", targets={"users": ["ann"]}, schedule={"days": ["sun"], "start": "01:00", "end": "02:00"}
    )
    admission = Admission(MemoryLimiter(), default_max_tokens=5, events=lambda e: None, clock=lambda: NOW)
    import asyncio

    with pytest.raises(Forbidden) as refused:  # NOW is a Friday afternoon
        asyncio.run(admission.admit(snapshot(closed), key(), model(), PAYLOAD, "r", []))
    assert refused.value.code == "outside_schedule" and "Sun 01:00–02:00 UTC" in refused.value.message


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.02, "20ms"), (1, "1s"), (59.2, "1m0s"), (360, "6m0s"), (3723, "1h2m3s")]
)
def test_reset_format_is_openais(seconds: float, text: str) -> None:
    assert reset_text(seconds) == text


def test_per_key_limits_count_per_user_for_callers_without_a_key() -> None:
    """OIDC token and trusted-header callers share the label key id "oidc"/"header": never a counter."""
    tier = policy("t", targets={"groups": ["devs"]}, limits=[{"requests": 5, "window": "1m", "scope": "key"}])
    snap = snapshot(tier, memberships={"user:ann": ("devs",), "user:bob": ("devs",)})

    def token_caller(owner: str) -> KeyView:
        return KeyView("oidc", "", "OIDC access token", owner, None, "active", None)

    ann, bob = (plan(snap, token_caller(who), model()).rules[0].key for who in ("user:ann", "user:bob"))
    assert ann != bob and "user:ann" in ann
    one, two = KeyView("k1", "h1", "k", "user:ann", None, "active", None), key()
    assert plan(snap, one, model()).rules[0].key == plan(snap, two, model()).rules[0].key  # same key id
