"""Admission: access, schedule and limits, reserved before the call and settled after it.

Reserve: requests +1, tokens = prompt estimate + the most output the upstream may generate
(:mod:`headwater.gateway.output_cap`: per choice ``max_completion_tokens``, else ``max_tokens``, else
the model's or the configured default, times ``max(n, best_of)``), cost = that estimate at the
model's prices, on every counter that applies, all or nothing. When the client gave no maximum and
a token or budget rule applies, the ticket carries the ``max_tokens`` the proxy sends upstream, so
the reservation really bounds the output. Settle: the real usage replaces the estimate (more than
reserved is charged too). A counter can therefore exceed its limit by at most what the calls in
flight under-estimated their prompts by; see docs/policies.md.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from headwater.clock import epoch
from headwater.errors import Forbidden, LimitsUnavailable, RateLimited
from headwater.gateway.accounting import estimate_prompt
from headwater.gateway.asgi import Headers
from headwater.gateway.output_cap import output_cap
from headwater.limits.base import Charge, Decision, Limit, Limiter, LimiterUnavailable, Reservation
from headwater.policies.calendar import budget_period, schedule_open
from headwater.policies.plan import MONEY_UNITS, Plan, Rule, plan
from headwater.snapshot import KeyView, ModelView, Snapshot
from headwater.usage.events import LimitEvent

log = logging.getLogger("headwater.admission")
_NO_COST = Decimal(0)


def reset_text(seconds: float) -> str:
    """OpenAI's ``x-ratelimit-reset-*`` format: ``20ms``, ``1s``, ``6m0s``, ``1h2m3s``."""
    if seconds < 1:
        return f"{max(int(seconds * 1000), 0)}ms"
    return _whole_seconds_text(math.ceil(seconds))


@functools.lru_cache(maxsize=4096)
def _whole_seconds_text(whole: int) -> str:
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def money_units(amount: Decimal) -> int:
    return math.ceil(amount * MONEY_UNITS)


@dataclass(slots=True)
class Ticket:
    """An admitted call's reservation, to be settled with the real usage."""

    rules: tuple[Rule, ...]
    reservation: Reservation
    #: The ``max_tokens`` to send upstream (the client gave none and the output is counted), or None.
    max_tokens: int | None = None
    #: The prompt estimate reserved (None when no rule needed one).
    prompt_estimate: int | None = None


class Admission:
    def __init__(
        self,
        limiter: Limiter,
        *,
        default_max_tokens: int,
        events: Callable[[LimitEvent], None],
        key_prefix: str = "",
        clock: Callable[[], float] = epoch,
    ) -> None:
        self._limiter = limiter
        self._prefix = key_prefix
        self._limits: dict[tuple[str, int, float], Limit] = {}
        self._default_max_tokens = default_max_tokens
        self._emit = events
        self._clock = clock
        self._plans: dict[tuple[object, ...], Plan] = {}
        self._revision = -1
        self._periods: dict[str, tuple[float, float]] = {}

    def plan(self, snapshot: Snapshot, key: KeyView, model: ModelView) -> Plan:
        if snapshot.revision != self._revision:
            self._plans = {}
            self._revision = snapshot.revision
        # A key's owner and groups follow from its id; an access token's or a forwarded user's do not.
        cache_key = (key.id, key.owner, key.groups, model.name)
        found = self._plans.get(cache_key)
        if found is None:
            found = self._plans[cache_key] = plan(snapshot, key, model)
        return found

    async def admit(
        self,
        snapshot: Snapshot,
        key: KeyView,
        model: ModelView,
        payload: dict[str, Any],
        request_id: str,
        headers: Headers,
        body_bytes: int = 0,
    ) -> Ticket | None:
        """The call's reservation (None when no limit applies); ``body_bytes``, the request body's
        size, decides whether the prompt is estimated off the event loop."""
        current = self.plan(snapshot, key, model)
        if not current.allowed:
            raise Forbidden(
                f"You have no policy that allows the model `{model.name}`.",
                code="model_not_allowed",
                param="model",
            )
        if current.problem:
            raise Forbidden(current.problem, code="policy_misconfigured")
        now = self._clock()
        if current.schedule is not None and not schedule_open(current.schedule, now):
            policy = current.policy.name if current.policy else ""
            self._event(
                request_id,
                key,
                model,
                policy,
                "schedule " + current.schedule.describe(),
                "schedule",
                "denied",
                now,
            )
            window = current.schedule.describe()
            raise Forbidden(
                f"The model `{model.name}` is available to you {window} only (policy {policy}).",
                code="outside_schedule",
            )
        output = output_cap(payload, model, self._default_max_tokens, current.needs_estimate)
        if not current.rules:
            return None
        prompt = await estimate_prompt(payload, body_bytes) if current.needs_estimate else 0
        out = output.total
        cost = model.pricing.cost(prompt, out) if current.needs_cost else _NO_COST
        amounts = quantities(current.rules, prompt, out, cost)
        charges = [
            Charge(self.limit_for(rule, now), amount)
            for rule, amount in zip(current.rules, amounts, strict=True)
        ]
        decision = await self._reserve(charges)
        if not decision.allowed:
            rule = current.rules[decision.denied_index or 0]
            if not rule.soft:
                self._event(request_id, key, model, rule.policy, rule.description, _kind(rule), "denied", now)
                raise _refusal(rule, current, decision)
            # soft: let it through, still counting it (the soft counters get the real usage at settle)
            soft = [
                Charge(c.limit, 0 if r.soft else c.amount)
                for r, c in zip(current.rules, charges, strict=True)
            ]
            decision = await self._reserve(soft)
            if not decision.allowed:
                hard = current.rules[decision.denied_index or 0]
                self._event(request_id, key, model, hard.policy, hard.description, _kind(hard), "denied", now)
                raise _refusal(hard, current, decision)
            self._event(request_id, key, model, rule.policy, rule.description, _kind(rule), "warned", now)
            headers.append((b"x-headwater-limit-warning", f"over {rule.description}".encode()))
        headers.extend(_rate_headers(current, decision))
        assert decision.reservation is not None
        return Ticket(
            current.rules, decision.reservation, output.inject, prompt if current.needs_estimate else None
        )

    async def settle(self, ticket: Ticket, prompt: int, completion: int, cost: Decimal) -> None:
        actual = quantities(ticket.rules, prompt, completion, cost)
        try:
            await self._limiter.settle(ticket.reservation, actual)
        except Exception as exc:  # settling must never fail a call that already happened
            log.warning("could not settle a reservation: %s", exc)

    # ---- counters -------------------------------------------------------------------------------
    def limit_for(self, rule: Rule, now: float) -> Limit:
        """The limiter's counter for a rule at ``now``, built once per rule (and per budget period)."""
        if rule.budget is None:
            cache_key = (rule.key, rule.capacity, float(rule.window_s or 0))
            limit = self._limits.get(cache_key)
            if limit is None:
                limit = Limit(key=self._prefix + rule.key, capacity=rule.capacity, window_s=rule.window_s)
                self._limits[cache_key] = limit
            return limit
        period = self._periods.get(rule.key)
        if period is None or not period[0] <= now < period[1]:
            period = self._periods[rule.key] = budget_period(rule.budget, now)
        cache_key = (rule.key, rule.capacity, period[0])
        limit = self._limits.get(cache_key)
        if limit is None:
            if len(self._limits) > 100_000:
                self._limits.clear()
            limit = Limit(
                key=self._prefix + rule.key,
                capacity=rule.capacity,
                period_start=period[0],
                period_end=period[1],
            )
            self._limits[cache_key] = limit
        return limit

    async def _reserve(self, charges: list[Charge]) -> Decision:
        try:
            return await self._limiter.reserve(charges)
        except LimiterUnavailable:
            raise LimitsUnavailable(
                "Limits cannot be checked right now (the shared limiter is unreachable); try again shortly.",
                code="limits_unavailable",
                headers=((b"retry-after", b"1"),),
            ) from None

    def _event(
        self,
        request_id: str,
        key: KeyView,
        model: ModelView,
        policy: str | None,
        limit: str,
        kind: str,
        action: str,
        now: float,
    ) -> None:
        self._emit(
            LimitEvent(now, request_id, key.id, key.principal, model.name, policy, limit, kind, action)
        )


def quantities(rules: tuple[Rule, ...], prompt: int, output: int, cost: Decimal) -> list[int]:
    """What a call counts on each rule's counter: estimated at admission, actual at settlement."""
    per_metric = {"requests": 1, "tokens": prompt + output, "input": prompt, "output": output}
    return [per_metric[rule.metric] if rule.metric != "cost" else money_units(cost) for rule in rules]


def _kind(rule: Rule) -> str:
    return "budget" if rule.metric == "cost" else "rate"


def _refusal(rule: Rule, current: Plan, decision: Decision) -> RateLimited:
    retry = max(1, math.ceil(decision.retry_after_s))
    headers = ((b"retry-after", str(retry).encode()), *_rate_headers(current, decision))
    if rule.metric == "cost":
        message = f"You exceeded your {rule.description}. It renews in {reset_text(decision.retry_after_s)}."
        return RateLimited(message, code="insufficient_quota", type_="insufficient_quota", headers=headers)
    if decision.never:
        message = f"This request is larger than the limit of {rule.description}; send a smaller request."
    else:
        wait = reset_text(decision.retry_after_s)
        message = f"Rate limit reached: {rule.description}. Please try again in {wait}."
    type_ = "requests" if rule.metric == "requests" else "tokens"
    return RateLimited(message, code="rate_limit_exceeded", type_=type_, headers=headers)


def _rate_headers(current: Plan, decision: Decision) -> list[tuple[bytes, bytes]]:
    """OpenAI's headers for the tightest request counter and the tightest token counter."""
    out: list[tuple[bytes, bytes]] = []
    states = decision.states
    for positions, names in (
        (current.request_rules, _REQUEST_HEADERS),
        (current.token_rules, _TOKEN_HEADERS),
    ):
        if not positions:
            continue
        best = positions[0] if len(positions) == 1 else min(positions, key=lambda i: states[i].remaining)
        state = states[best]
        out.append((names[0], _capacity_text(current.rules[best].capacity)))
        out.append((names[1], str(state.remaining if state.remaining > 0 else 0).encode()))
        out.append((names[2], _reset_bytes(state.reset_s)))
    return out


@functools.lru_cache(maxsize=1024)
def _capacity_text(capacity: int) -> bytes:
    return str(capacity).encode()


def _reset_bytes(seconds: float) -> bytes:
    return reset_text(seconds).encode()


_REQUEST_HEADERS = (
    b"x-ratelimit-limit-requests",
    b"x-ratelimit-remaining-requests",
    b"x-ratelimit-reset-requests",
)
_TOKEN_HEADERS = (b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens", b"x-ratelimit-reset-tokens")
