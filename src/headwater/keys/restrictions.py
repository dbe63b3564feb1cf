"""Restrictions: what an admin set on a key, which anyone else may only tighten.

Whenever an admin sets a key's ``models`` (a list), ``expires_at``, ``limits`` or disables it, on
creation or on any later change, that setting is recorded in the key's ``restrictions`` (the JSON
column ``api_keys.restrictions``, shown read-only as ``KeyRead.restrictions``). An admin's later
change of a field replaces that field's restriction (setting it to ``null`` lifts it); an admin
enabling the key lifts ``disabled``. Admins are never bound.

Anyone else who may change the key (its owner; a group admin on a group's or service account's
key) may only tighten what is restricted:

- ``models``: a subset of the restricted list, never ``null`` (every model);
- ``expires_at``: no later than the restricted one, never removed;
- ``limits``: each restricted rate no higher and never removed; a restricted budget keeps its
  currency and period, its amount no higher, and is never removed;
- ``disabled``: the key stays disabled: enabling it is 403 (only an admin may).

Refusals are 422 naming the field (``body.limits.requests_per_minute``), except enabling: 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from headwater.keys.schemas import KeyLimits, KeyRead, KeyRestrictions
from headwater.problems import ForbiddenProblem, InvalidProblem

_RESTRICTED_BY_ADMIN = "set by an admin"


def stored(restrictions: KeyRestrictions | None) -> dict[str, Any] | None:
    """The column value: only what is restricted, or ``None`` for nothing."""
    if restrictions is None:
        return None
    value = restrictions.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return value or None


def set_by_admin(current: KeyRestrictions | None, values: dict[str, Any]) -> KeyRestrictions | None:
    """The restrictions after an admin wrote ``values`` (column values: ``models`` a sorted list or
    ``None``, ``expires_at`` a datetime or ``None``, ``limits`` a dict or ``None``, ``status``)."""
    fields: dict[str, Any] = current.model_dump(exclude_defaults=True) if current else {}
    if "models" in values:
        fields["models"] = values["models"]
    if "expires_at" in values:
        fields["expires_at"] = values["expires_at"]
    if "limits" in values:
        limits = KeyLimits.model_validate(values["limits"]) if values["limits"] else None
        fields["limits"] = limits if limits != KeyLimits() else None
    if "status" in values:
        fields["disabled"] = values["status"] == "disabled"
    restrictions = KeyRestrictions.model_validate(fields)
    return restrictions if restrictions != KeyRestrictions() else None


def check_enable(key: KeyRead) -> None:
    """A non-admin may not enable a key an admin disabled."""
    if key.restrictions is not None and key.restrictions.disabled:
        raise ForbiddenProblem(f"An admin disabled API key {key.id}: only an admin can enable it again.")


def check_tightened(key: KeyRead, values: dict[str, Any]) -> None:
    """A non-admin's change (column values, as for :func:`set_by_admin`) within the restrictions."""
    restrictions = key.restrictions
    if restrictions is None:
        return
    if values.get("status") == "active" and key.status == "disabled":
        check_enable(key)
    if "models" in values and restrictions.models is not None:
        _check_models(restrictions.models, values["models"])
    if "expires_at" in values and restrictions.expires_at is not None:
        _check_expiry(restrictions.expires_at, values["expires_at"])
    if "limits" in values and restrictions.limits is not None:
        limits = KeyLimits.model_validate(values["limits"]) if values["limits"] else None
        _check_limits(restrictions.limits, limits)


def _check_models(allowed: list[str], wanted: list[str] | None) -> None:
    if wanted is None:
        raise InvalidProblem(
            ("body", "models"),
            f"an admin limited this key to {', '.join(allowed)}: it may not be opened to every model",
        )
    for index, name in enumerate(wanted):
        if name not in allowed:
            raise InvalidProblem(
                ("body", "models", index),
                f"model {name!r} is outside the models an admin set for this key ({', '.join(allowed)})",
            )


def _check_expiry(latest: datetime, wanted: datetime | None) -> None:
    if wanted is None:
        raise InvalidProblem(
            ("body", "expires_at"), f"an admin set this key to expire at {latest.isoformat()}: keep an expiry"
        )
    if wanted > latest:
        raise InvalidProblem(
            ("body", "expires_at"),
            f"at the latest {latest.isoformat()} ({_RESTRICTED_BY_ADMIN})",
        )


def _check_limits(restricted: KeyLimits, wanted: KeyLimits | None) -> None:
    given = wanted or KeyLimits()
    rates = (
        ("requests_per_minute", restricted.requests_per_minute, given.requests_per_minute),
        ("tokens_per_minute", restricted.tokens_per_minute, given.tokens_per_minute),
    )
    for name, most, value in rates:
        if most is None:
            continue
        if value is None:
            raise InvalidProblem(
                ("body", "limits", name), f"may not be removed: at most {most} ({_RESTRICTED_BY_ADMIN})"
            )
        if value > most:
            raise InvalidProblem(("body", "limits", name), f"at most {most} ({_RESTRICTED_BY_ADMIN})")
    budget, new = restricted.budget, given.budget
    if budget is None:
        return
    shown = f"{format(budget.amount, 'f')} {budget.currency} {budget.period}"
    if new is None:
        raise InvalidProblem(
            ("body", "limits", "budget"), f"may not be removed: at most {shown} ({_RESTRICTED_BY_ADMIN})"
        )
    if new.currency != budget.currency:
        raise InvalidProblem(
            ("body", "limits", "budget", "currency"), f"must stay {budget.currency} ({_RESTRICTED_BY_ADMIN})"
        )
    if new.period != budget.period:
        raise InvalidProblem(
            ("body", "limits", "budget", "period"), f"must stay {budget.period} ({_RESTRICTED_BY_ADMIN})"
        )
    if new.amount > budget.amount:
        raise InvalidProblem(
            ("body", "limits", "budget", "amount"), f"at most {shown} ({_RESTRICTED_BY_ADMIN})"
        )
