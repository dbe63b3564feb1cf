"""The admin API application."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater import __version__, request_ids
from headwater.admin.access import deny, target_of
from headwater.admin.auth import IdentityConfig, viewer
from headwater.admin.deps import CallerDep, bearer_scheme, caller
from headwater.admin.gate import AdminGate, BodyLimits
from headwater.admin.info import ServerInfo
from headwater.admin.info import router as info_router
from headwater.admin.me import MeRead
from headwater.admin.signin import SignIn
from headwater.admin.signin import router as signin_router
from headwater.admin.view_as import router as view_as_router
from headwater.audit.views import router as audit_router
from headwater.catalog.runtime import RuntimeScraper
from headwater.catalog.views import router as models_router
from headwater.control import ControlPlane
from headwater.credentials.views import router as credentials_router
from headwater.directory.views import router as directory_router
from headwater.keys.selfservice import KeyRules
from headwater.keys.views import router as keys_router
from headwater.policies.quota import LiveLimits
from headwater.policies.views import router as policies_router
from headwater.problems import ForbiddenProblem, InvalidProblem, OutsideTenantProblem, Problem
from headwater.resources.views import router as apply_router
from headwater.snapshot import Snapshot
from headwater.usage.views import router as usage_router

DESCRIPTION = """
The control plane of Headwater: API keys, models and their deployments, users, groups, service
accounts, policies, usage, the audit trail and declarative apply.

Authenticate with `Authorization: Bearer <admin token | OIDC access token>`, or sign in with the
browser at `/auth/login` (a session cookie; state-changing calls then need `X-CSRF-Token`).
What each role may do is in `docs/identity.md`. `GET /api/v1/info` is public. An admin may add
`X-Headwater-View-As: <user>` to a GET to be served as that user, read-only (start with
`POST /api/v1/users/{name}/view-as`, which is audited).

The OpenAI-compatible gateway (`/v1/*`) is documented by OpenAI's own API reference.
"""


def _text(value: object) -> str:
    """Text any JSON encoder takes (a lone surrogate from the request is escaped, not a 500)."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's 422 ``detail`` without ``input`` and ``ctx``: the field (``loc``), the message and
    the type. Echoing the input would send back whatever was sent (megabytes, invalid text)."""
    return [
        {
            "loc": [part if isinstance(part, int) else _text(part) for part in error.get("loc", ())],
            "msg": _text(error.get("msg", "")),
            "type": _text(error.get("type", "value_error")),
        }
        for error in errors
    ]


#: The methods a 405's ``Allow`` may name (no admin route takes another).
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """What a 405's ``Allow`` names: every method some route serves on the request's path.
    Starlette's own names only the first route that matched the path, and ``GET /keys`` and
    ``POST /keys`` are two routes."""
    allowed = []
    for method in HTTP_METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


class RequestIds:
    """Gives each admin request an id (the client's ``X-Request-Id`` when sane, else a generated
    one), echoed back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")
        request_id = request_ids.sane(given) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_admin_app(
    control_plane: ControlPlane,
    identity: IdentityConfig,
    signin: SignIn | None,
    key_rules: KeyRules,
    snapshot: Callable[[], Snapshot],
    body_limits: BodyLimits | None = None,
    live_limits: LiveLimits | None = None,
    runtime: RuntimeScraper | None = None,
    usage_retention_days: int = 90,
    info: ServerInfo | None = None,
) -> FastAPI:
    """``snapshot`` gives the gateway's current view (what policies allow, for self-service keys);
    ``body_limits`` bound request bodies (see :mod:`headwater.admin.gate`); ``live_limits`` is the
    gateway's limiter, which the quota routes read (none: they answer 503); ``runtime`` the scraper of
    the model servers' metrics (none: not scraped); ``info`` what the public ``/api/v1/info`` tells."""
    app = FastAPI(
        title="Headwater admin API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.control_plane = control_plane
    app.state.identity = identity
    app.state.signin = signin
    app.state.key_rules = key_rules
    app.state.snapshot = snapshot
    app.state.runtime = runtime or RuntimeScraper(snapshot, 0.0)  # none: not scraped
    app.state.live_limits = live_limits
    app.state.usage_retention_days = usage_retention_days  # raw-event usage queries refuse older ranges
    app.state.info = info or ServerInfo()
    # The last added runs first: request ids, then the gate (authentication, body bounds), then routes.
    app.add_middleware(AdminGate, cp=control_plane, identity=identity, limits=body_limits or BodyLimits())
    app.add_middleware(RequestIds)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(caller), Depends(bearer_scheme)])
    routers = (
        keys_router,
        models_router,
        credentials_router,
        policies_router,
        directory_router,
        usage_router,
        audit_router,
        apply_router,
        view_as_router,
    )
    for router in routers:
        api.include_router(router)

    @api.get("/me", tags=["identity"], summary="Who you are: name, role, groups and how you signed in")
    async def me(who: CallerDep, request: Request) -> MeRead:
        return MeRead.of(who.principal, viewing_as_by=viewer(request))

    app.include_router(api)
    app.include_router(info_router)  # public: not behind the caller dependency
    app.include_router(signin_router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(error.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 405:
            allow = allowed_methods(app.router.routes, request.scope)
            headers = {**(error.headers or {}), "Allow": allow} if allow else error.headers
            return JSONResponse({"detail": error.detail}, status_code=405, headers=headers)
        return await http_exception_handler(request, error)

    @app.exception_handler(Problem)
    async def _problem(request: Request, problem: Problem) -> JSONResponse:
        if isinstance(problem, OutsideTenantProblem | ForbiddenProblem):
            who = getattr(request.state, "caller", None)
            if who is not None:
                target = target_of(request, who.permission)
                why = (
                    "outside the caller's tenant"
                    if isinstance(problem, OutsideTenantProblem)
                    else problem.message
                )
                await deny(control_plane, who.origin, who.permission, target, why)
        if isinstance(problem, InvalidProblem):
            detail = [{"loc": list(problem.loc), "msg": problem.message, "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=problem.status)
        return JSONResponse({"detail": problem.message}, status_code=problem.status)

    return app
