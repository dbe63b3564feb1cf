"""API key schemas of the admin API.

Every number and date has a bound, so absurd values are a 422 naming the field, never an overflow
deeper down: rates at most 10^12 a minute, a budget at most 10^9 (the limiter counts money in
billionths in a signed 64-bit integer), an expiry at most 100 years ahead, at most 1,000 models in a
scope. Fields that cannot be empty cannot be ``null`` in a change either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.clock import utcnow
from headwater.names import MAX_DURATION, Amount, ModelName, Name, Owner, parse_duration

KeyStatus = Literal["active", "disabled", "expired", "revoked"]

#: The largest per-minute rate a key may set.
MAX_RATE = 10**12
#: The largest budget amount a key may set (in billionths, it still fits a signed 64-bit integer).
MAX_BUDGET = 10**9
#: The most models a key's scope may list.
MAX_MODELS = 1000


def check_expiry(value: datetime | None) -> datetime | None:
    """An expiry: with a timezone, and at most :data:`~headwater.names.MAX_DURATION` ahead (UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("expires_at needs a timezone, e.g. 2027-01-01T00:00:00Z")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("expires_at is out of range: at most 100 years ahead") from None
    if value - utcnow() > MAX_DURATION:
        raise ValueError("expires_at is too far ahead: at most 100 years")
    return value


class KeyBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount = Field(gt=0, le=MAX_BUDGET, max_digits=18, decimal_places=6)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    period: Literal["daily", "weekly", "monthly"] = "monthly"


class KeyLimits(BaseModel):
    """A key's own limits: they apply on top of its owner's policy, never instead of it."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1, le=MAX_RATE)
    tokens_per_minute: int | None = Field(None, ge=1, le=MAX_RATE)
    budget: KeyBudget | None = None


class KeyRestrictions(BaseModel):
    """What an admin set on a key: anyone else may only tighten it (absent: not restricted)."""

    models: list[str] | None = Field(None, description="The key's models must stay within these.")
    expires_at: datetime | None = Field(None, description="The key must expire no later than this.")
    limits: KeyLimits | None = Field(None, description="Each limit given here may not be raised or removed.")
    disabled: bool = Field(False, description="An admin disabled the key: only an admin may enable it.")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=2000)
    owner: Owner | None = Field(None, description="user:NAME, group:NAME or serviceaccount:NAME")
    models: list[ModelName] | None = Field(
        None, max_length=MAX_MODELS, description="Model scope; null means every model."
    )
    expires_at: datetime | None = None
    expires_in: str | None = Field(None, description="Relative expiry such as 30d, 12h, 2w.")
    limits: KeyLimits | None = None

    @field_validator("expires_in")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("expires_at")
    @classmethod
    def _expiry(cls, value: datetime | None) -> datetime | None:
        return check_expiry(value)


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=2000)
    models: list[ModelName] | None = Field(None, max_length=MAX_MODELS, description="null: every model.")
    expires_at: datetime | None = Field(None, description="null: never expires.")
    status: Literal["active", "disabled"] | None = None
    limits: KeyLimits | None = Field(None, description="null: no limits of its own.")

    @field_validator("name", "description", "status")
    @classmethod
    def _not_null(cls, value: str | None) -> str | None:
        # Only an explicit null gets here (an absent field is not validated): these fields
        # always have a value, so null is a mistake, not "clear it".
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value

    @field_validator("expires_at")
    @classmethod
    def _expiry(cls, value: datetime | None) -> datetime | None:
        return check_expiry(value)


class KeyRead(BaseModel):
    id: str
    prefix: str
    name: str
    description: str
    owner: str | None
    models: list[str] | None
    status: KeyStatus
    expires_at: datetime | None
    last_used_at: datetime | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    limits: KeyLimits | None = None
    restrictions: KeyRestrictions | None = Field(
        None, description="What an admin set on the key, which its owner may only tighten."
    )


class KeyCreated(KeyRead):
    key: str = Field(description="The secret. Shown once, never again.")


class KeyPage(BaseModel):
    items: list[KeyRead]
    next: str | None


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace: str | None = Field(
        None,
        description="How long the old secret keeps working (10m, 24h; at most "
        "HEADWATER_KEYS_MAX_ROTATION_GRACE); none: it stops at once.",
    )

    @field_validator("grace")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class KeyBulkRevoke(BaseModel):
    """Exactly one of ``user``, ``group`` or ``service_account``."""

    model_config = ConfigDict(extra="forbid")

    user: Name | None = Field(None, description="Revoke the keys this user owns.")
    group: Name | None = Field(None, description="Revoke the keys the group and its service accounts own.")
    service_account: Name | None = Field(None, description="Revoke the keys this service account owns.")
    dry_run: bool = Field(False, description="List what would be revoked; change nothing.")

    @model_validator(mode="after")
    def _one(self) -> KeyBulkRevoke:
        given = [v for v in (self.user, self.group, self.service_account) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of user, group or service_account")
        return self


class KeyBulkRevoked(BaseModel):
    dry_run: bool
    count: int
    keys: list[KeyRead] = Field(description="The keys revoked (or, in a dry run, that would be).")
