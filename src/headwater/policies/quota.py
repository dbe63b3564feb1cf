"""How much is left: every counter a key or a user counts on, read from the gateway's own limiter.

Which counters: for each caller, every model it may call now (active, within the key's scope, allowed
by its policies, not refused as misconfigured), the rules of the gateway's own plan for that caller
and model (:meth:`Planner.plan`: the tier's limits and budget, the key's own limits, the model's
capacity) and the counters the gateway reserves on for them (:meth:`Planner.limit_for`). A counter
shared by several models or callers (a per-user limit, a policy budget) is listed once, with the
models and callers it covers.

* A **key**: its own calls.
* A **user**: their calls without a key (an OIDC access token or trusted headers; they count with
  the user's directory groups, as the usage history rebuild counts them) and those of each of their
  active keys. Keys of the user's groups and service accounts are not theirs: ask for those keys.

The figures come from one :meth:`~headwater.limits.base.Limiter.peek` of every counter, read with the
limiter's clock, so they are what the next call is checked against: ``used`` includes the calls in
flight at what they reserved, until they settle. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from headwater.clock import epoch
from headwater.control import ControlPlane
from headwater.directory import service as directory
from headwater.identity.access import Caller
from headwater.keys import service as keys
from headwater.keys.schemas import KeyRead
from headwater.limits.base import Limit, Limiter, LimiterUnavailable, Reading, Rebuilding
from headwater.policies.plan import MONEY_UNITS, Plan, Rule
from headwater.policies.quota_schemas import QuotaItem, QuotaRead, Source
from headwater.problems import Problem
from headwater.snapshot import KeyView, ModelView, Snapshot
from headwater.storage.sql import keys as keys_repo
from headwater.usage.events import TOKEN_KEY_ID

_SOURCES: dict[Source, int] = {"policy": 0, "key": 1, "model": 2}


class Planner(Protocol):
    """What admission knows (:class:`headwater.gateway.admission.Admission`): the rules of a call and
    the limiter's counter of each rule."""

    def plan(self, snapshot: Snapshot, key: KeyView, model: ModelView) -> Plan: ...

    def limit_for(self, rule: Rule, now: float) -> Limit: ...


@dataclass(frozen=True, slots=True)
class LiveLimits:
    """The running gateway's planner, limiter and snapshot: what a quota reads."""

    planner: Planner
    limiter: Limiter
    snapshot: Callable[[], Snapshot]
    clock: Callable[[], float] = epoch


class LimitsUnreadable(Problem):
    """503: the limiter cannot be read (the shared one is unreachable, or rebuilding its counters)."""

    status = 503


@dataclass(slots=True)
class Counter:
    """A counter that applies, with the models and callers that count on it."""

    rule: Rule
    limit: Limit
    models: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    token: bool = False

    @property
    def source(self) -> Source:
        if self.rule.policy is not None:
            return "policy"
        return "key" if self.rule.key.startswith("k:") else "model"


def counters(snapshot: Snapshot, planner: Planner, callers: Sequence[KeyView], now: float) -> list[Counter]:
    """Every counter the callers' calls count on at ``now``, once each: the tiers' first, then the
    keys' own, then the models' capacity, each in the order the plans list them."""
    found: dict[tuple[str, int], Counter] = {}
    models = sorted(snapshot.models.values(), key=lambda model: model.name)
    for caller in callers:
        for model in models:
            if not model.enabled or not caller.allows(model.name):
                continue
            plan = planner.plan(snapshot, caller, model)
            if not plan.allowed or plan.problem:
                continue  # refused: nothing of this model is counted
            for rule in plan.rules:
                limit = planner.limit_for(rule, now)
                counter = found.get((limit.counter_key, limit.capacity))
                if counter is None:
                    counter = found[(limit.counter_key, limit.capacity)] = Counter(rule, limit)
                counter.models.add(model.name)
                if caller.hash:
                    counter.keys.add(caller.id)
                else:
                    counter.token = True
    return sorted(found.values(), key=lambda counter: _SOURCES[counter.source])  # stable: plan order


def _time(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


def item(counter: Counter, reading: Reading, now: float) -> QuotaItem:
    """A counter as the API shows it; money from billionths to the currency's Decimal amounts."""
    rule, limit = counter.rule, counter.limit

    def amount(units: int) -> int | Decimal:
        return Decimal(units) / MONEY_UNITS if rule.metric == "cost" else units

    budget = rule.budget
    resets: float | None
    empty: float | None
    if budget is not None:
        resets = empty = limit.end
    elif reading.used > 0:
        resets, empty = now + reading.frees_s, now + reading.reset_s
    else:
        resets = empty = None
    return QuotaItem(
        counter=rule.key,
        description=rule.description,
        source=counter.source,
        policy=rule.policy,
        metric=rule.metric,
        soft=rule.soft,
        limit=amount(limit.capacity),
        used=amount(reading.used),
        remaining=amount(reading.remaining),
        currency=budget.currency if budget is not None else None,
        window_s=rule.window_s,
        period=budget.period if budget is not None else None,
        period_start=_time(limit.period_start),
        resets_at=_time(resets),
        empty_at=_time(empty),
        models=sorted(counter.models),
        keys=sorted(counter.keys),
        token=counter.token,
    )


async def read(
    live: LiveLimits, snapshot: Snapshot, principal: str, key_id: str | None, callers: Sequence[KeyView]
) -> QuotaRead:
    """The quota of ``callers``, read with one peek of every counter."""
    found = counters(snapshot, live.planner, callers, live.clock())
    try:
        peek = await live.limiter.peek([counter.limit for counter in found])
    except Rebuilding:
        raise LimitsUnreadable(
            "The limit counters are being rebuilt from the usage history; try again shortly."
        ) from None
    except LimiterUnavailable:
        raise LimitsUnreadable(
            "Limits cannot be read right now (the shared limiter is unreachable); try again shortly."
        ) from None
    return QuotaRead(
        principal=principal,
        key_id=key_id,
        checked_at=datetime.fromtimestamp(peek.now, UTC),
        degraded=peek.degraded,
        items=[item(c, r, peek.now) for c, r in zip(found, peek.readings, strict=True)],
    )


# ---- the admin API's reads: tenancy as for reading the key or the user ----------------------------
def _live(live: LiveLimits | None) -> LiveLimits:
    if live is None:
        raise LimitsUnreadable("This process serves no gateway: it has no limits to read.")
    return live


def key_view(key: KeyRead) -> KeyView:
    """A key the gateway's snapshot does not hold yet (created a moment ago), as it will."""
    return KeyView(
        id=key.id,
        hash="-",
        name=key.name,
        owner=key.owner,
        models=frozenset(key.models) if key.models is not None else None,
        status=key.status,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        limits=key.limits,
    )


def token_view(principal: str) -> KeyView:
    """A user calling without a key, with their directory groups."""
    return KeyView(TOKEN_KEY_ID, "", "OIDC access token", principal, None, "active", None)


async def for_key(cp: ControlPlane, key_id: str, who: Caller, live: LiveLimits | None) -> QuotaRead:
    """A key's quota: 404 outside the caller's tenant, exactly as reading the key."""
    key = await keys.get(cp, key_id, who)
    current = _live(live)
    snapshot = current.snapshot()
    view = snapshot.keys.get(key_id) or key_view(key)
    return await read(current, snapshot, view.principal, key_id, [view])


async def for_user(cp: ControlPlane, name: str, who: Caller, live: LiveLimits | None) -> QuotaRead:
    """A user's quota (without a key, and with each active key): 404 outside the caller's tenant."""
    await directory.get_user(cp, name, who)
    current = _live(live)
    principal = f"user:{name}"
    async with cp.read() as conn:
        owned = await keys_repo.live_of(conn, frozenset({principal}))
    snapshot = current.snapshot()
    views = [token_view(principal)]
    views += [snapshot.keys.get(key.id) or key_view(key) for key in owned if key.status == "active"]
    return await read(current, snapshot, principal, None, views)
