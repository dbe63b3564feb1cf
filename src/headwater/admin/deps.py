"""Dependencies of the admin API: the control plane and the authorised caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from headwater.admin.access import authorise
from headwater.admin.auth import IdentityConfig, authenticate
from headwater.admin.gate import PRINCIPAL_STATE
from headwater.control import ControlPlane
from headwater.identity.access import Caller

#: Documents the scheme in OpenAPI; authentication itself is :func:`headwater.admin.auth.authenticate`.
bearer_scheme = HTTPBearer(
    auto_error=False, description="The admin token, or an OIDC access token (or a session cookie)."
)


def control_plane(request: Request) -> ControlPlane:
    cp: ControlPlane = request.app.state.control_plane
    return cp


ControlPlaneDep = Annotated[ControlPlane, Depends(control_plane)]


def identity_config(request: Request) -> IdentityConfig:
    config: IdentityConfig = request.app.state.identity
    return config


async def caller(request: Request, cp: ControlPlaneDep) -> Caller:
    """Authenticates and authorises the request once (FastAPI caches it for the request)."""
    found: Caller | None = getattr(request.state, "caller", None)
    if found is not None:
        return found
    principal = getattr(request.state, PRINCIPAL_STATE, None)  # the gate authenticated it
    if principal is None:
        principal = await authenticate(request, cp, identity_config(request))
    authorised = await authorise(request, cp, principal)
    request.state.caller = authorised
    return authorised


CallerDep = Annotated[Caller, Depends(caller)]
