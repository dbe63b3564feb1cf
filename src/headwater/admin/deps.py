"""Dependencies of the admin API: the control plane and the authenticated actor."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from headwater.control import ControlPlane
from headwater.keys.secret import hash_key
from headwater.storage.sql.tables import admin_tokens

_bearer = HTTPBearer(auto_error=False, description="The admin token (HEADWATER_ADMIN_TOKEN).")

BOOTSTRAP_ACTOR = "admin:bootstrap"


def control_plane(request: Request) -> ControlPlane:
    cp: ControlPlane = request.app.state.control_plane
    return cp


ControlPlaneDep = Annotated[ControlPlane, Depends(control_plane)]


async def admin_actor(
    request: Request,
    cp: ControlPlaneDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller, when it presents an admin token; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing bearer token: send `Authorization: Bearer <admin token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    presented = hash_key(credentials.credentials)
    configured: str | None = request.app.state.admin_token_hash
    if configured is not None:
        valid = hmac.compare_digest(presented, configured)
    else:
        async with cp.read() as conn:
            query = select(admin_tokens.c.id).where(admin_tokens.c.hash == presented)
            valid = (await conn.execute(query)).first() is not None
    if not valid:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Invalid admin token.", headers={"WWW-Authenticate": "Bearer"}
        )
    return BOOTSTRAP_ACTOR


Actor = Annotated[str, Depends(admin_actor)]
