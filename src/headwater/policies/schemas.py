"""Policy schemas: the admin API and ``kind: Policy`` documents share them.

Field names follow the resource documents (camelCase: ``serviceAccounts``, ``overLimit``,
``renewsOn``, ``inputTokens``), as the policies are written in YAML by people.

Every number and list is bounded (422 naming the field past a bound), so that what is stored is
what the limiter can count: requests and tokens per window at most :data:`MAX_COUNT` (10^12), a
budget at most :data:`MAX_BUDGET` (10^9 in its currency: the limiter counts money in billionths in
a signed 64-bit integer, which holds about 9.2 * 10^9 units), at most :data:`MAX_TARGETS` names per
target list and per model list, each weekday once.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.names import Amount, ModelName, Name

Scope = Literal["user", "key", "group", "policy"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_PATTERN = r"^[1-9][0-9]{0,5}[smhd]$"
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


#: The most requests or tokens a limit may count per window.
MAX_COUNT = 10**12
#: The largest budget, in its currency.
MAX_BUDGET = Decimal(10**9)
#: The most names in a list of targets or of models.
MAX_TARGETS = 1000


def window_seconds(window: str) -> int:
    return int(window[:-1]) * _UNITS[window[-1]]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assets(_Strict):
    models: Literal["all"] | list[ModelName] = Field(
        description="`all` (every open model) or a list; restricted models must be listed by name.",
        max_length=MAX_TARGETS,
    )


class Targets(_Strict):
    groups: list[Name] = Field(default_factory=list, max_length=MAX_TARGETS)
    users: list[Name] = Field(default_factory=list, max_length=MAX_TARGETS)
    serviceAccounts: list[Name] = Field(default_factory=list, max_length=MAX_TARGETS)


class LimitSpec(_Strict):
    requests: int | None = Field(None, ge=1, le=MAX_COUNT)
    tokens: int | None = Field(None, ge=1, le=MAX_COUNT, description="Input plus output tokens.")
    inputTokens: int | None = Field(None, ge=1, le=MAX_COUNT)
    outputTokens: int | None = Field(None, ge=1, le=MAX_COUNT)
    window: str = Field(pattern=WINDOW_PATTERN, description="Rolling window: 30s, 1m, 1h, 1d.")
    scope: Scope = "user"

    @model_validator(mode="after")
    def _something(self) -> LimitSpec:
        if all(v is None for v in (self.requests, self.tokens, self.inputTokens, self.outputTokens)):
            raise ValueError("a limit needs requests, tokens, inputTokens or outputTokens")
        return self


class BudgetSpec(_Strict):
    amount: Amount = Field(gt=0, le=MAX_BUDGET, max_digits=18, decimal_places=6)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    renewsOn: int = Field(1, ge=1, le=28, description="Monthly: day of month (1–28); weekly: 1=Mon … 7=Sun.")
    timezone: str = "UTC"
    scope: Scope = "user"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _zone(value)

    @model_validator(mode="after")
    def _weekday(self) -> BudgetSpec:
        if self.period == "weekly" and self.renewsOn > 7:
            raise ValueError("weekly budgets renew on a weekday: 1 (Monday) to 7 (Sunday)")
        return self


class ScheduleSpec(_Strict):
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1, max_length=7)
    start: str = "00:00"
    end: str = "24:00"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("days")
    @classmethod
    def _once(cls, value: list[Day]) -> list[Day]:
        if len(set(value)) != len(value):
            raise ValueError("name each day at most once")
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if value != "24:00" and not _CLOCK.match(value):
            raise ValueError("use HH:MM, e.g. 08:00 (24:00 for the end of the day)")
        return value

    @model_validator(mode="after")
    def _order(self) -> ScheduleSpec:
        if self.start == self.end:
            raise ValueError("start and end are the same: the window would be empty")
        return self

    def describe(self) -> str:
        days = ", ".join(day.capitalize() for day in self.days)
        return f"{days} {self.start}–{self.end} {self.timezone}"


class PolicySpec(_Strict):
    displayName: str | None = Field(None, max_length=200)
    description: str = Field("", max_length=2000)
    status: Literal["active", "inactive"] = "active"
    assets: Assets = Field(default_factory=lambda: Assets(models="all"))
    targets: Targets = Field(default_factory=Targets)
    limits: list[LimitSpec] = Field(default_factory=list, max_length=32)
    budget: BudgetSpec | None = None
    schedule: ScheduleSpec | None = None
    overLimit: Literal["hard", "soft"] = "hard"
    priority: int = Field(0, ge=-1000, le=1000)
    costCenter: str | None = Field(
        None,
        max_length=128,
        description="Charged for the calls this policy admits when neither the caller nor its groups "
        "have a cost center (docs/usage.md).",
    )


class PolicyCreate(PolicySpec):
    name: Name


class PolicyRead(PolicySpec):
    name: str
    nextRenewal: datetime | None = Field(None, description="When the budget renews next.")
    created_at: datetime
    updated_at: datetime


class PolicyPage(BaseModel):
    items: list[PolicyRead]
    next: str | None
