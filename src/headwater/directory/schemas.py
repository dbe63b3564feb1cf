"""User, group and service account schemas, shared by the admin API and YAML documents.

Every string and list is bounded (422 naming the field past a bound): names by
:data:`headwater.names.Name`, descriptions 2,000 characters, display names 256, cost centers
128, emails as RFC 5321 allows (254), at most 1,000 groups per user and admins per group.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from headwater.names import Name

Status = Literal["active", "disabled"]
#: The most groups a user may be in (as declared), and admins a group may have.
MAX_GROUPS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupSpec(_Strict):
    description: str = Field("", max_length=2000)
    cost_center: str | None = Field(None, max_length=128)
    admins: list[Name] = Field(
        default_factory=list,
        max_length=MAX_GROUPS,
        description="Users who administer the group: its service accounts, group keys and usage.",
    )

    @field_validator("admins")
    @classmethod
    def _sorted(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class GroupCreate(GroupSpec):
    name: Name


class GroupRead(GroupSpec):
    name: str
    source: str
    created_at: datetime
    updated_at: datetime


class UserSpec(_Strict):
    email: EmailStr | None = None
    display_name: str | None = Field(None, max_length=256)
    groups: list[Name] = Field(default_factory=list, max_length=MAX_GROUPS)
    status: Status = "active"
    cost_center: str | None = Field(None, max_length=128)

    @field_validator("groups")
    @classmethod
    def _sorted(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class UserCreate(UserSpec):
    name: Name


class UserRead(UserSpec):
    name: str
    role: str
    created_at: datetime
    updated_at: datetime


class ServiceAccountSpec(_Strict):
    group: Name
    description: str = Field("", max_length=2000)
    status: Status = "active"
    cost_center: str | None = Field(None, max_length=128)


class ServiceAccountCreate(ServiceAccountSpec):
    name: Name


class ServiceAccountRead(ServiceAccountSpec):
    name: str
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserRead]
    next: str | None


class GroupPage(BaseModel):
    items: list[GroupRead]
    next: str | None


class ServiceAccountPage(BaseModel):
    items: list[ServiceAccountRead]
    next: str | None
