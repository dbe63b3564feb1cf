"""Rebuilding the limit counters from the stored usage events (docs/policies.md, "Restarts").

The usage events are the record; counters are a fast copy that a restart of Headwater (memory
limiter) or of Redis loses. A rebuild at ``now`` replays into the counters what each event charged,
under the current configuration:

* the rules of an event are the plan (:func:`headwater.policies.plan.plan`) of its key (revoked and
  disabled keys included; a key no longer known counts for its owner's rules), principal and model
  (a model no longer known is skipped), exactly as admission would build it now. Token and header
  callers (``key_id`` ``oidc``/``header``) are their user, with the user's directory groups;
* the amounts are what a settle charges (requests 1, tokens, input, output, cost in billionths),
  in the bucket of the event's end (``floor(ts / bucket_s)``; a call that started in an earlier
  bucket or period is counted later, never earlier) or the current budget period;
* rolling windows stream the events of the longest window; budgets are summed by the database per
  (key, principal, model) since each distinct period start (cost summed before rounding to
  billionths, so a rebuilt budget may count up to a billionth less per call than the live one).

:attr:`Rebuilt.late` then adds, once, the events stored after the rebuild read the history that
ended before a given time (the shared limiter calls it two flush intervals after its new epoch):
the events of the last :data:`LOOKBACK_S` that the rebuild did not see.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial

from headwater.gateway.admission import Admission, money_units, quantities
from headwater.limits.base import Limit, Rebuilt, Seed, slot_at
from headwater.policies.calendar import budget_period
from headwater.policies.plan import Rule
from headwater.policies.schemas import BudgetSpec, window_seconds
from headwater.snapshot import KeyView, Snapshot
from headwater.usage.events import NOT_KEYS
from headwater.usage.history import UsageHistory, UsageRow

#: How far back the late catch-up looks for events the rebuild did not see.
LOOKBACK_S = 10.0
#: A key's own limits are per minute.
KEY_WINDOW_S = 60


class Recount:
    def __init__(
        self,
        history: UsageHistory,
        admission: Admission,
        snapshot: Callable[[], Snapshot],
        *,
        lookback_s: float = LOOKBACK_S,
    ) -> None:
        self._history = history
        self._admission = admission
        self._snapshot = snapshot
        self._lookback_s = lookback_s

    async def __call__(self, now: float) -> Rebuilt:
        snapshot = self._snapshot()
        seeds: defaultdict[tuple[Limit, int], int] = defaultdict(int)
        windows = _rolling_windows(snapshot)
        rolling_since = min((_window_start(window, now) for window in windows), default=now)
        recent = now - self._lookback_s
        seen: set[int] = set()
        async for row in self._history.rows(min(rolling_since, recent), now):
            if row.ts >= recent:
                seen.add(row.id)
            if row.ts < rolling_since:
                continue
            for rule, amount in self._charges(snapshot, row.key_id, row.principal, row.model, row):
                if rule.window_s is None:
                    continue  # budgets: summed below
                limit = self._admission.limit_for(rule, now)
                slot = slot_at(limit, row.ts)
                if slot > math.floor(now / limit.bucket_s) - limit.buckets:
                    seeds[(limit, slot)] += amount
        for start in sorted({budget_period(budget, now)[0] for budget in _budgets(snapshot)}):
            for total in await self._history.totals(start, now):
                units = money_units(total.cost)
                for rule in self._rules(snapshot, total.key_id, total.principal, total.model):
                    if rule.budget is None:
                        continue
                    limit = self._admission.limit_for(rule, now)
                    if limit.period_start == start:
                        seeds[(limit, 0)] += units
        return Rebuilt(_seeds(seeds), partial(self._late, since=recent, seen=frozenset(seen)))

    async def _late(self, until: float, *, since: float, seen: frozenset[int]) -> list[Seed]:
        snapshot = self._snapshot()
        seeds: defaultdict[tuple[Limit, int], int] = defaultdict(int)
        async for row in self._history.rows(since, until):
            if row.id in seen:
                continue
            for rule, amount in self._charges(snapshot, row.key_id, row.principal, row.model, row):
                limit = self._admission.limit_for(rule, row.ts)  # the period the call ended in
                seeds[(limit, slot_at(limit, row.ts))] += amount
        return _seeds(seeds)

    def _charges(
        self, snapshot: Snapshot, key_id: str, principal: str, model: str, row: UsageRow
    ) -> Iterator[tuple[Rule, int]]:
        rules = self._rules(snapshot, key_id, principal, model)
        if rules:
            amounts = quantities(rules, row.prompt_tokens, row.completion_tokens, row.cost)
            yield from zip(rules, amounts, strict=True)

    def _rules(self, snapshot: Snapshot, key_id: str, principal: str, model: str) -> tuple[Rule, ...]:
        view = snapshot.models.get(model)
        if view is None:
            return ()
        return self._admission.plan(snapshot, _caller(snapshot, key_id, principal), view).rules


def _caller(snapshot: Snapshot, key_id: str, principal: str) -> KeyView:
    """The key view an event's call was admitted with, as well as it can be known now."""
    if key_id in NOT_KEYS:  # an access token or a trusted header: the user, with directory groups
        return KeyView(key_id, "", key_id, principal, None, "active", None)
    key = snapshot.keys.get(key_id)
    if key is not None:
        return key
    owner = None if principal.startswith("key:") else principal
    return KeyView(key_id, "-", "", owner, None, "revoked", None)


def _rolling_windows(snapshot: Snapshot) -> set[int]:
    windows = {window_seconds(limit.window) for p in snapshot.policies for limit in p.spec.limits}
    windows.update(window_seconds(limit.window) for m in snapshot.models.values() for limit in m.limits)
    if any(
        k.limits and (k.limits.requests_per_minute or k.limits.tokens_per_minute)
        for k in snapshot.keys.values()
    ):
        windows.add(KEY_WINDOW_S)
    return windows


def _window_start(window: int, now: float) -> float:
    """The start of the oldest bucket a rolling window of ``window`` seconds still counts at ``now``."""
    limit = Limit.per_window("window", 1, window)
    return (math.floor(now / limit.bucket_s) - limit.buckets + 1) * limit.bucket_s


def _budgets(snapshot: Snapshot) -> list[BudgetSpec]:
    budgets = [p.spec.budget for p in snapshot.policies if p.spec.budget is not None]
    for key in snapshot.keys.values():
        if key.limits is not None and key.limits.budget is not None:
            budget = key.limits.budget
            budgets.append(BudgetSpec(amount=budget.amount, currency=budget.currency, period=budget.period))
    return budgets


def _seeds(amounts: dict[tuple[Limit, int], int]) -> list[Seed]:
    return [Seed(limit, slot, amount) for (limit, slot), amount in amounts.items() if amount > 0]
