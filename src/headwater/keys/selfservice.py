"""The limits admins set on keys that non-admins create for themselves (HEADWATER_KEYS_*).

A self-service key (made or changed by anyone but an admin) lives at most ``max_expiry``, and its
limits never exceed the maxima: a dimension the key leaves out (or a key with no limits at all) gets
the maximum, so a key asking for nothing is as bound as one asking for the most. The budget maximum is
what a key may spend in a calendar month, in ``max_budget_currency``: a daily budget counts 31 times,
a weekly one 6 times (a month touches at most 31 days and 6 weeks). The rotation grace maximum binds
everyone, admins included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from headwater.keys.schemas import KeyBudget, KeyLimits
from headwater.problems import InvalidProblem

#: How many budget periods of each kind a calendar month touches at most.
PERIODS_PER_MONTH = {"daily": 31, "weekly": 6, "monthly": 1}


@dataclass(frozen=True, slots=True)
class KeyRules:
    default_expiry: timedelta | None = None
    max_expiry: timedelta | None = None
    max_active_per_user: int = 0
    max_requests_per_minute: int = 0
    max_tokens_per_minute: int = 0
    max_budget: Decimal = Decimal(0)
    max_budget_currency: str = "USD"
    max_rotation_grace: timedelta | None = None

    def expiry(self, requested: datetime | None, now: datetime, field: str) -> datetime | None:
        """The expiry a self-service key gets: the default when none is asked, never past the maximum."""
        if requested is None:
            fallback = self.default_expiry or self.max_expiry
            return now + fallback if fallback else None
        if self.max_expiry is not None and requested > now + self.max_expiry:
            raise InvalidProblem(
                ("body", field),
                f"keys may live at most {_span(self.max_expiry)} (HEADWATER_KEYS_MAX_EXPIRY); ask for less",
            )
        return requested

    def filled(self, limits: KeyLimits | None) -> KeyLimits | None:
        """A self-service key's limits, with the maximum for every dimension it leaves out."""
        given = limits or KeyLimits()
        missing: dict[str, object] = {}
        if self.max_requests_per_minute and given.requests_per_minute is None:
            missing["requests_per_minute"] = self.max_requests_per_minute
        if self.max_tokens_per_minute and given.tokens_per_minute is None:
            missing["tokens_per_minute"] = self.max_tokens_per_minute
        if self.max_budget and given.budget is None:
            missing["budget"] = KeyBudget(
                amount=self.max_budget, currency=self.max_budget_currency, period="monthly"
            )
        result = given.model_copy(update=missing)
        return None if result == KeyLimits() else result

    def check_limits(self, limits: KeyLimits | None) -> None:
        if limits is None:
            return
        checks = (
            ("requests_per_minute", limits.requests_per_minute, self.max_requests_per_minute),
            ("tokens_per_minute", limits.tokens_per_minute, self.max_tokens_per_minute),
        )
        for name, value, maximum in checks:
            if maximum and value is not None and value > maximum:
                setting = f"HEADWATER_KEYS_MAX_{name.upper()}"
                raise InvalidProblem(
                    ("body", "limits", name), f"at most {maximum} for a self-service key ({setting})"
                )
        budget = limits.budget
        if not self.max_budget or budget is None:
            return
        currency = self.max_budget_currency
        if budget.currency != currency:
            raise InvalidProblem(
                ("body", "limits", "budget", "currency"),
                f"self-service budgets are in {currency} (HEADWATER_KEYS_MAX_BUDGET_CURRENCY)",
            )
        times = PERIODS_PER_MONTH[budget.period]
        if budget.amount * times > self.max_budget:
            counted = f"; a {budget.period} budget counts {times} times" if times > 1 else ""
            raise InvalidProblem(
                ("body", "limits", "budget", "amount"),
                f"at most {format(self.max_budget, 'f')} {currency} a month for a self-service key "
                f"(HEADWATER_KEYS_MAX_BUDGET){counted}",
            )

    def check_count(self, owner: str, active: int) -> None:
        if self.max_active_per_user and active >= self.max_active_per_user:
            raise InvalidProblem(
                ("body", "owner"),
                f"{owner} already has {active} active keys, the most allowed "
                "(HEADWATER_KEYS_MAX_ACTIVE_PER_USER); revoke one first",
            )

    def check_grace(self, grace: timedelta) -> None:
        """A rotation grace within the maximum, for everyone."""
        if self.max_rotation_grace is not None and grace > self.max_rotation_grace:
            raise InvalidProblem(
                ("body", "grace"),
                f"at most {_span(self.max_rotation_grace)} (HEADWATER_KEYS_MAX_ROTATION_GRACE)",
            )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"
