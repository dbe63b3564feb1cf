"""GET /api/v1/me: the caller as Headwater sees them."""

from __future__ import annotations

from pydantic import BaseModel

from headwater.identity.principal import Principal, Role, Via


class MeRead(BaseModel):
    actor: str
    name: str
    role: Role
    via: Via
    groups: list[str]
    admin_of: list[str]

    @classmethod
    def of(cls, principal: Principal) -> MeRead:
        return cls(
            actor=principal.actor,
            name=principal.name,
            role=principal.role,
            via=principal.via,
            groups=sorted(principal.groups),
            admin_of=sorted(principal.admin_of),
        )
