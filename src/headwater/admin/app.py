"""The admin API application."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from headwater import __version__
from headwater.admin.deps import admin_actor
from headwater.catalog.views import router as models_router
from headwater.control import ControlPlane
from headwater.directory.views import router as directory_router
from headwater.keys.views import router as keys_router
from headwater.policies.views import router as policies_router
from headwater.problems import InvalidProblem, Problem
from headwater.resources.views import router as apply_router
from headwater.usage.views import router as usage_router

DESCRIPTION = """
The control plane of Headwater: API keys, models and their deployments, users, groups, service
accounts, usage and declarative apply. Authenticate with `Authorization: Bearer <admin token>`.

The OpenAI-compatible gateway (`/v1/*`) is documented by OpenAI's own API reference.
"""


def create_admin_app(control_plane: ControlPlane, admin_token_hash: str | None) -> FastAPI:
    app = FastAPI(
        title="Headwater admin API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.control_plane = control_plane
    app.state.admin_token_hash = admin_token_hash

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(admin_actor)])
    routers = (keys_router, models_router, policies_router, directory_router, usage_router, apply_router)
    for router in routers:
        api.include_router(router)
    app.include_router(api)

    @app.exception_handler(Problem)
    async def _problem(_request: Request, problem: Problem) -> JSONResponse:
        if isinstance(problem, InvalidProblem):
            detail = [{"loc": list(problem.loc), "msg": problem.message, "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=problem.status)
        return JSONResponse({"detail": problem.message}, status_code=problem.status)

    @app.get("/", include_in_schema=False)
    async def _root() -> RedirectResponse:
        return RedirectResponse("/api/docs")

    return app
