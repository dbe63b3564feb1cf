"""Which limits apply to a (key, model) pair: computed once per snapshot revision, then cached.

* The **tier** is the highest-priority active policy that targets the caller (the user or service
  account itself, or one of its groups) and covers the model (`assets.models: all` covers every
  open model; restricted models must be listed by name).
* A **restricted** model is usable only when such a policy exists.
* The tier's limits and budget apply, plus the key's own limits and the model's capacity limits,
  which are always hard. All of them are reserved together, all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from headwater.policies.schemas import BudgetSpec, PolicySpec, ScheduleSpec, window_seconds
from headwater.snapshot import KeyView, ModelView, PolicyView, Snapshot

Metric = Literal["requests", "tokens", "input", "output", "cost"]
#: Money is counted in integer billionths of the currency unit (exact in Redis and in memory).
MONEY_UNITS = Decimal(1_000_000_000)
_NAMES = {"requests": "requests", "tokens": "tokens", "input": "input tokens", "output": "output tokens"}


@dataclass(frozen=True, slots=True)
class Rule:
    metric: Metric
    key: str
    capacity: int
    window_s: int | None  # rolling window; None for a budget (calendar period)
    budget: BudgetSpec | None
    soft: bool
    policy: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who a call is charged to, frozen when it is admitted (:func:`attribution`)."""

    groups: tuple[str, ...] = ()
    cost_center: str | None = None
    policy: str | None = None


NO_ATTRIBUTION = Attribution()


@dataclass(frozen=True, slots=True)
class Plan:
    allowed: bool
    policy: PolicyView | None
    schedule: ScheduleSpec | None
    rules: tuple[Rule, ...]
    problem: str | None = None  # a configuration error that refuses the call (fail closed)
    #: Positions of the request and token rules, for the x-ratelimit-* headers.
    request_rules: tuple[int, ...] = ()
    token_rules: tuple[int, ...] = ()
    #: Whether admission needs the prompt's token estimate (any rule other than a request count).
    needs_estimate: bool = False
    #: Whether any rule counts money (a budget): only then does admission price the estimate.
    needs_cost: bool = False
    attribution: Attribution = NO_ATTRIBUTION


def _targets(policy: PolicyView, principal: str, groups: tuple[str, ...]) -> bool:
    kind, _, name = principal.partition(":")
    if kind == "user" and name in policy.users:
        return True
    if kind == "serviceaccount" and name in policy.service_accounts:
        return True
    return any(group in policy.groups for group in groups)


def _covers(policy: PolicyView, model: ModelView) -> bool:
    if policy.models is None:
        return model.access == "open"
    return model.name in policy.models


def _scope_key(scope: str, policy: PolicyView, key: KeyView, groups: tuple[str, ...]) -> tuple[str, str]:
    if scope == "key":
        if not key.hash:  # an OIDC token or a trusted header: no key, so one counter per user
            return f"p:{policy.name}:u:{key.principal}", "per key (per user for token callers)"
        return f"p:{policy.name}:k:{key.id}", "per key"
    if scope == "policy":
        return f"p:{policy.name}:all", "shared by everyone in the policy"
    if scope == "group":
        targeted = [group for group in groups if group in policy.groups]
        group = (targeted or list(groups) or [key.principal])[0]
        return f"p:{policy.name}:g:{group}", f"per group ({group})"
    return f"p:{policy.name}:u:{key.principal}", "per user"


def _policy_rules(policy: PolicyView, key: KeyView, groups: tuple[str, ...]) -> list[Rule]:
    spec: PolicySpec = policy.spec
    soft = spec.overLimit == "soft"
    rules: list[Rule] = []
    for limit in spec.limits:
        base, who = _scope_key(limit.scope, policy, key, groups)
        seconds = window_seconds(limit.window)
        metrics: tuple[tuple[Metric, int | None], ...] = (
            ("requests", limit.requests),
            ("tokens", limit.tokens),
            ("input", limit.inputTokens),
            ("output", limit.outputTokens),
        )
        for metric, capacity in metrics:
            if capacity is not None:
                text = f"{capacity} {_NAMES[metric]} per {limit.window} {who} (policy {policy.name})"
                rules.append(
                    Rule(
                        metric, f"{base}:{metric}:{seconds}", capacity, seconds, None, soft, policy.name, text
                    )
                )
    if spec.budget is not None:
        base, who = _scope_key(spec.budget.scope, policy, key, groups)
        budget = spec.budget
        text = f"budget of {budget.amount} {budget.currency} {budget.period} {who} (policy {policy.name})"
        capacity = int(spec.budget.amount * MONEY_UNITS)
        rules.append(Rule("cost", f"{base}:cost", capacity, None, spec.budget, soft, policy.name, text))
    return rules


def _key_rules(key: KeyView) -> list[Rule]:
    limits = key.limits
    if limits is None:
        return []
    rules: list[Rule] = []
    if limits.requests_per_minute:
        text = f"{limits.requests_per_minute} requests per minute (key {key.id})"
        rules.append(
            Rule(
                "requests", f"k:{key.id}:requests:60", limits.requests_per_minute, 60, None, False, None, text
            )
        )
    if limits.tokens_per_minute:
        text = f"{limits.tokens_per_minute} tokens per minute (key {key.id})"
        rules.append(
            Rule("tokens", f"k:{key.id}:tokens:60", limits.tokens_per_minute, 60, None, False, None, text)
        )
    if limits.budget is not None:
        budget = BudgetSpec(
            amount=limits.budget.amount, currency=limits.budget.currency, period=limits.budget.period
        )
        text = f"budget of {budget.amount} {budget.currency} {budget.period} (key {key.id})"
        rules.append(
            Rule(
                "cost", f"k:{key.id}:cost", int(budget.amount * MONEY_UNITS), None, budget, False, None, text
            )
        )
    return rules


def _model_rules(model: ModelView) -> list[Rule]:
    rules: list[Rule] = []
    for limit in model.limits:
        seconds = window_seconds(limit.window)
        model_metrics: tuple[tuple[Metric, int | None], ...] = (
            ("requests", limit.requests),
            ("tokens", limit.tokens),
        )
        for metric, capacity in model_metrics:
            if capacity is not None:
                text = f"{capacity} {metric} per {limit.window} for everyone (model {model.name} capacity)"
                rules.append(
                    Rule(
                        metric,
                        f"m:{model.name}:{metric}:{seconds}",
                        capacity,
                        seconds,
                        None,
                        False,
                        None,
                        text,
                    )
                )
    return rules


def allowed_models(snapshot: Snapshot, principal: str) -> frozenset[str]:
    """The models a principal's policies let it call (open models, and restricted ones it is given)."""
    groups = snapshot.memberships.get(principal, ())
    return frozenset(
        model.name
        for model in snapshot.models.values()
        if model.access == "open"
        or any(_targets(p, principal, groups) and _covers(p, model) for p in snapshot.policies)
    )


def attribution(
    snapshot: Snapshot, principal: str, groups: tuple[str, ...], tier: PolicyView | None
) -> Attribution:
    """The cost center, most specific first: the caller's own (a user's, a service account's, or
    for a group's key the group's); then that of the caller's group that the admitting policy
    targets; then that of its other groups, by name; then the admitting policy's. None: unassigned."""
    centers = snapshot.cost_centers
    center = centers.get(principal)
    if center is None and groups:
        targeted = [g for g in groups if tier is not None and g in tier.groups]
        for group in (*targeted, *sorted(groups)):
            center = centers.get(f"group:{group}")
            if center is not None:
                break
    if center is None and tier is not None:
        center = tier.spec.costCenter
    return Attribution(tuple(sorted(groups)), center, tier.name if tier else None)


def plan(snapshot: Snapshot, key: KeyView, model: ModelView) -> Plan:
    principal = key.principal
    groups = key.groups if key.groups is not None else snapshot.memberships.get(principal, ())
    tier = next(
        (p for p in snapshot.policies if _targets(p, principal, groups) and _covers(p, model)),
        None,
    )
    if tier is None and model.access == "restricted":
        return Plan(allowed=False, policy=None, schedule=None, rules=())
    rules = (_policy_rules(tier, key, groups) if tier else []) + _key_rules(key) + _model_rules(model)
    problem = None
    for rule in rules:
        if rule.budget is not None and rule.budget.currency != model.pricing.currency:
            problem = (
                f"The {rule.description} is in {rule.budget.currency} but `{model.name}` is priced in "
                f"{model.pricing.currency}; ask an administrator to align them."
            )
    schedule = tier.spec.schedule if tier else None
    return Plan(
        allowed=True,
        policy=tier,
        schedule=schedule,
        rules=tuple(rules),
        problem=problem,
        request_rules=tuple(i for i, rule in enumerate(rules) if rule.metric == "requests"),
        token_rules=tuple(i for i, rule in enumerate(rules) if rule.metric == "tokens"),
        needs_estimate=any(rule.metric != "requests" for rule in rules),
        needs_cost=any(rule.metric == "cost" for rule in rules),
        attribution=attribution(snapshot, principal, groups, tier),
    )
