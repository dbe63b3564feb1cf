"""GET /api/v1/me: the caller as Headwater sees them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from headwater.identity.principal import Principal, Role, Via


class MeRead(BaseModel):
    actor: str
    name: str
    role: Role
    via: Via
    groups: list[str]
    admin_of: list[str]
    viewing_as_by: str | None = Field(
        description="The admin (their actor) viewing, read-only, as this user with X-Headwater-View-As; "
        "null when the caller is themself.",
    )

    @classmethod
    def of(cls, principal: Principal, viewing_as_by: str | None = None) -> MeRead:
        return cls(
            actor=principal.actor,
            name=principal.name,
            role=principal.role,
            via=principal.via,
            groups=sorted(principal.groups),
            admin_of=sorted(principal.admin_of),
            viewing_as_by=viewing_as_by,
        )
