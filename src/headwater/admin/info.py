"""GET /api/v1/info: what a client needs before signing in (public, no database work).

The web console reads it first: the version, the gateway's URL (the OpenAI base URL is it plus
``/v1``), which ways of signing in are open and the usage dashboard to link to. It needs no
authentication (it is in :data:`headwater.admin.gate.OPEN_PATHS`) and reads only the settings the
admin app was built with, so calling it costs no query and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from headwater import __version__

router = APIRouter(prefix="/api/v1", tags=["identity"])


@dataclass(frozen=True)
class ServerInfo:
    """The settings ``/info`` tells (built by the composition root)."""

    public_url: str = ""  # HEADWATER_PUBLIC_URL, without a trailing slash; empty: from the request
    dashboard_url: str | None = None  # HEADWATER_DASHBOARD_URL


class SignInRead(BaseModel):
    oidc: bool = Field(description="Browser sign-in (/auth/login) is configured.")
    token: bool = Field(
        description="An admin token can be used (the bootstrap token or a stored one): always true."
    )


class InfoRead(BaseModel):
    version: str
    gateway_url: str = Field(
        description="Where Headwater is reached (HEADWATER_PUBLIC_URL, else this request's base URL), "
        "without a trailing slash; the OpenAI-compatible base URL is this plus /v1."
    )
    sign_in: SignInRead
    dashboard_url: str | None = Field(
        description="A usage dashboard to link to (HEADWATER_DASHBOARD_URL); {key_id} in it stands for "
        "a key's id. Null when not configured."
    )


@router.get("/info", summary="About this server: version, gateway URL, sign-in (public)")
async def info(request: Request, response: Response) -> InfoRead:
    server: ServerInfo = request.app.state.info
    # Without HEADWATER_PUBLIC_URL the URL comes from the request's Host: never kept by a shared cache,
    # so a request with a forged Host cannot hand its answer to others.
    response.headers["Cache-Control"] = "no-store"
    base = server.public_url or str(request.base_url)
    return InfoRead(
        version=__version__,
        gateway_url=base.rstrip("/"),
        sign_in=SignInRead(oidc=request.app.state.signin is not None, token=True),
        dashboard_url=server.dashboard_url,
    )
