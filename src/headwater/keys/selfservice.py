"""The limits admins set on keys that non-admins create for themselves (HEADWATER_KEYS_*)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from headwater.keys.schemas import KeyLimits
from headwater.problems import InvalidProblem


@dataclass(frozen=True, slots=True)
class KeyRules:
    default_expiry: timedelta | None = None
    max_expiry: timedelta | None = None
    max_active_per_user: int = 0
    max_requests_per_minute: int = 0
    max_tokens_per_minute: int = 0
    max_budget: Decimal = Decimal(0)

    def expiry(self, requested: datetime | None, now: datetime, field: str) -> datetime | None:
        """The expiry a self-service key gets: the default when none is asked, never past the maximum."""
        if requested is None:
            fallback = self.default_expiry or self.max_expiry
            return now + fallback if fallback else None
        if self.max_expiry is not None and requested > now + self.max_expiry:
            raise InvalidProblem(
                ("body", field),
                f"keys may live at most {_days(self.max_expiry)} (HEADWATER_KEYS_MAX_EXPIRY); ask for less",
            )
        return requested

    def check_limits(self, limits: KeyLimits | None) -> None:
        if limits is None:
            return
        checks = (
            ("requests_per_minute", limits.requests_per_minute, self.max_requests_per_minute),
            ("tokens_per_minute", limits.tokens_per_minute, self.max_tokens_per_minute),
        )
        for name, value, maximum in checks:
            if maximum and value is not None and value > maximum:
                raise InvalidProblem(("body", "limits", name), f"at most {maximum} for a self-service key")
        if self.max_budget and limits.budget is not None and limits.budget.amount > self.max_budget:
            raise InvalidProblem(
                ("body", "limits", "budget", "amount"),
                f"at most {format(self.max_budget, 'f')} for a self-service key",
            )

    def check_count(self, owner: str, active: int) -> None:
        if self.max_active_per_user and active >= self.max_active_per_user:
            raise InvalidProblem(
                ("body", "owner"),
                f"{owner} already has {active} active keys, the most allowed "
                "(HEADWATER_KEYS_MAX_ACTIVE_PER_USER); revoke one first",
            )


def _days(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 86400} days" if seconds % 86400 == 0 else f"{seconds} seconds"
