"""API key schemas of the admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.names import Amount, Name, Owner, parse_duration

KeyStatus = Literal["active", "disabled", "expired", "revoked"]


class KeyBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount = Field(gt=0, max_digits=18, decimal_places=6)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    period: Literal["daily", "weekly", "monthly"] = "monthly"


class KeyLimits(BaseModel):
    """A key's own limits: they apply on top of its owner's policy, never instead of it."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    budget: KeyBudget | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=2000)
    owner: Owner | None = Field(None, description="user:NAME, group:NAME or serviceaccount:NAME")
    models: list[Name] | None = Field(None, description="Model scope; null means every model.")
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
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a timezone, e.g. 2027-01-01T00:00:00Z")
        return value


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=2000)
    models: list[Name] | None = None
    expires_at: datetime | None = None
    status: Literal["active", "disabled"] | None = None
    limits: KeyLimits | None = None


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


class KeyCreated(KeyRead):
    key: str = Field(description="The secret. Shown once, never again.")


class KeyPage(BaseModel):
    items: list[KeyRead]
    next: str | None


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace: str | None = Field(
        None, description="How long the old secret keeps working (10m, 24h); none: it stops at once."
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
