"""Admission reserves what the upstream may really generate: per choice, times n (and best_of).

Figures are literal. The chat prompt ``[{"role": "user", "content": "count to ten"}]`` is 10 tokens
(3 reply priming + 3 per message + count(2) to(1) ten(1)); the completions prompt ``"hi"`` is 1.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from headwater.errors import BadRequest, RateLimited
from headwater.gateway.admission import Admission, Ticket
from headwater.limits.base import Charge
from headwater.limits.memory import MemoryLimiter
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot

NOW = 1_800_000_000.0
CHAT: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "count to ten"}]}
TEXT: dict[str, Any] = {"model": "m", "prompt": "hi"}
DEFAULT_MAX_TOKENS = 5


def tier(**spec: Any) -> Snapshot:
    parsed = PolicySpec.model_validate({"targets": {"users": ["ann"]}, **spec})
    view = PolicyView("t", parsed, None, frozenset(), frozenset({"ann"}), frozenset())
    return Snapshot(1, MappingProxyType({}), MappingProxyType({}), (view,), MappingProxyType({}))


def model(max_output_tokens: int | None = None, kind: str = "chat") -> ModelView:
    pricing = Pricing(Decimal("1"), Decimal("2"), "USD")
    return ModelView("m", kind, "open", "active", pricing, (), 0, max_output_tokens=max_output_tokens)


KEY = KeyView("k1", "hash", "k", "user:ann", None, "active", None)
TOKENS_1000 = tier(limits=[{"tokens": 1000, "window": "1h"}])


def admission() -> Admission:
    return Admission(
        MemoryLimiter(clock=lambda: NOW),
        default_max_tokens=DEFAULT_MAX_TOKENS,
        events=lambda event: None,
        clock=lambda: NOW,
    )


async def reserved(payload: dict[str, Any], target: ModelView | None = None) -> tuple[int, Ticket | None]:
    """Tokens one call reserves on a 1000-token limit, read from OpenAI's remaining-tokens header."""
    headers: list[tuple[bytes, bytes]] = []
    ticket = await admission().admit(TOKENS_1000, KEY, target or model(), payload, "r", headers)
    return 1000 - int(dict(headers)[b"x-ratelimit-remaining-tokens"]), ticket


async def test_max_completion_tokens_wins_and_counts_for_every_choice() -> None:
    used, ticket = await reserved({**CHAT, "n": 4, "max_tokens": 10, "max_completion_tokens": 50})
    assert used == 10 + 4 * 50
    assert ticket is not None and ticket.max_tokens is None  # the client gave a maximum
    used, _ = await reserved({**CHAT, "n": 3, "max_tokens": 20})
    assert used == 10 + 3 * 20


async def test_completions_reserve_best_of_sequences() -> None:
    used, _ = await reserved({**TEXT, "n": 2, "best_of": 5, "max_tokens": 20})
    assert used == 1 + 5 * 20
    used, _ = await reserved({**TEXT, "n": 3, "max_tokens": 20})
    assert used == 1 + 3 * 20


async def test_without_a_maximum_the_default_is_reserved_and_sent_upstream() -> None:
    used, ticket = await reserved({**CHAT, "n": 3}, model(max_output_tokens=64))
    assert used == 10 + 3 * 64
    assert ticket is not None and ticket.max_tokens == 64  # the proxy adds max_tokens: 64
    used, ticket = await reserved({**CHAT, "n": 2})  # no model default: HEADWATER_DEFAULT_MAX_TOKENS
    assert used == 10 + 2 * 5
    assert ticket is not None and ticket.max_tokens == 5


async def test_no_maximum_is_added_when_no_token_or_budget_rule_counts_the_output() -> None:
    requests_only = tier(limits=[{"requests": 10, "window": "1h"}])
    ticket = await admission().admit(requests_only, KEY, model(64), CHAT, "r", [])
    assert ticket is not None and ticket.max_tokens is None
    budget = tier(budget={"amount": "1", "currency": "USD"})
    ticket = await admission().admit(budget, KEY, model(64), CHAT, "r", [])
    assert ticket is not None and ticket.max_tokens == 64
    assert await admission().admit(tier(), KEY, model(64), CHAT, "r", []) is None  # nothing counted


async def test_embeddings_reserve_their_input_only() -> None:
    used, ticket = await reserved({"model": "m", "input": "hello world"}, model(64, kind="embedding"))
    assert used == 4  # hel-lo wor-ld
    assert ticket is not None and ticket.max_tokens is None


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": 65}, "max_tokens"),
        ({"max_tokens": 8, "max_completion_tokens": 65}, "max_completion_tokens"),
        ({"n": 0}, "n"),
        ({"n": 129}, "n"),
        ({"n": "2"}, "n"),
        ({"n": True}, "n"),
        ({"best_of": 200}, "best_of"),
        ({"n": 3, "best_of": 2}, "best_of"),
    ],
)
async def test_out_of_range_requests_are_400_naming_the_param(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as refused:
        await admission().admit(tier(), KEY, model(64), {**CHAT, **extra}, "r", [])
    assert refused.value.param == param and refused.value.status == 400


async def test_the_budget_reserves_the_cost_of_every_choice() -> None:
    """Prices 1 and 2 per million: 10 prompt + 4 × 50 output = 0.00041 per call; 0.001 admits 2."""
    gate = admission()
    budget = tier(budget={"amount": "0.001", "currency": "USD"})
    call = {**CHAT, "n": 4, "max_completion_tokens": 50}
    assert await gate.admit(budget, KEY, model(), call, "r", [])
    assert await gate.admit(budget, KEY, model(), call, "r", [])
    with pytest.raises(RateLimited) as refused:
        await gate.admit(budget, KEY, model(), call, "r", [])
    assert refused.value.code == "insufficient_quota"


async def test_settling_charges_the_truth_even_beyond_the_reservation() -> None:
    """The bound: a counter goes over only by what the prompt estimates of the calls in flight missed."""
    limiter = MemoryLimiter(clock=lambda: NOW)
    gate = Admission(limiter, default_max_tokens=5, events=lambda event: None, clock=lambda: NOW)
    limit = tier(limits=[{"tokens": 100, "window": "1h"}])
    call = {**CHAT, "max_tokens": 40}
    tickets = [await gate.admit(limit, KEY, model(), call, "r", []) for _ in range(2)]
    with pytest.raises(RateLimited):  # 2 × (10 + 40) = 100: full
        await gate.admit(limit, KEY, model(), call, "r", [])
    for ticket in tickets:  # the upstream counted 13 prompt tokens (3 more than estimated) and 40 out
        assert ticket is not None
        await gate.settle(ticket, 13, 40, Decimal(0))
    rule = gate.plan(limit, KEY, model()).rules[0]
    state = (await limiter.reserve([Charge(gate.limit_for(rule, NOW), 0)], NOW)).states[0]
    assert state.used == 106  # over 100 by 2 calls in flight × 3 prompt tokens under-estimated
