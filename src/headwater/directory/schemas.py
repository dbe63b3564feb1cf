"""User, group and service account schemas, shared by the admin API and YAML documents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from headwater.names import Name

Status = Literal["active", "disabled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupSpec(_Strict):
    description: str = Field("", max_length=2000)
    cost_center: str | None = Field(None, max_length=128)
    admins: list[Name] = Field(
        default_factory=list,
        max_length=1000,
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
    groups: list[Name] = Field(default_factory=list)
    status: Status = "active"

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
