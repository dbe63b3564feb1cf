"""/api/v1/models

A model's name may hold ``/`` (``meta-llama/Llama-3.1-8B-Instruct``), so the routes of one model take
the rest of the path (``{name:path}``): the name may be sent raw or percent-encoded
(``meta-llama%2FLlama-3.1-8B-Instruct``; the server decodes it before routing). No other route may
live under ``/models/{name}/...``: it would be read as a model's name, except ``GET
/models/{name}/runtime``, which matches only when ``/runtime`` is sent as such: ``a/runtime`` is the
runtime of model ``a``, ``a%2Fruntime`` the model named ``a/runtime`` (and ``a%2Fruntime/runtime``
its runtime). ``POST /models/test-connection`` takes no name: no model route takes POST, so GET, PUT
and DELETE on that path still mean a model named ``test-connection``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.catalog import service
from headwater.catalog.connection import try_connection
from headwater.catalog.runtime import RuntimeScraper
from headwater.catalog.runtime_schemas import ModelRuntimeRead, model_runtime_read
from headwater.catalog.schemas import (
    ConnectionResult,
    ConnectionTest,
    ModelCreate,
    ModelPage,
    ModelRead,
    ModelSpec,
)
from headwater.credentials import service as credentials
from headwater.names import MODEL_NAME_MAX, MODEL_NAME_PATTERN

router = APIRouter(prefix="/models", tags=["models"])

_DESCRIPTION = "The model's name, raw (meta-llama/Llama-3.1-8B-Instruct) or percent-encoded."
#: A name to look up: anything that is no model's name is simply not found (404).
NamePath = Annotated[str, Path(description=_DESCRIPTION)]
#: A name to create under: refused (422, ``path.name``) unless it is a valid model name.
NewNamePath = Annotated[
    str, Path(description=_DESCRIPTION, pattern=MODEL_NAME_PATTERN, max_length=MODEL_NAME_MAX)
]


@router.get("", summary="List models")
async def list_models(cp: ControlPlaneDep, who: CallerDep) -> ModelPage:
    items = await service.list_models(cp, reads_everything=who.principal.reads_everything)
    return ModelPage(items=items, next=None)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a model")
async def create_model(body: ModelCreate, cp: ControlPlaneDep, who: CallerDep) -> ModelRead:
    spec = ModelSpec.model_validate(body.model_dump(exclude={"name"}))
    return await service.create(cp, body.name, spec, who.origin)


@router.post("/test-connection", summary="Test a deployment's server: GET {base_url}/models")
async def check_connection(body: ConnectionTest, cp: ControlPlaneDep) -> ConnectionResult:
    """Whether the server answers its model list, and lists ``upstream_model``: always 200 (see
    ``ok`` and ``error``), whatever the server does; 5 s at most, 1 MiB read at most."""
    stored = None
    if body.credential is not None:
        stored = await credentials.reveal(cp, body.credential, ("body", "credential"))
    return await try_connection(body, cp.credential_env_prefix, stored_credential=stored)


class _SentAsRuntime(APIRoute):
    """Matches only a path whose raw form ends with ``/runtime`` (not ``%2Fruntime``, a name's end)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and not raw.endswith(b"/runtime"):
            return Match.NONE, {}
        return super().matches(scope)


def runtime_scraper(request: Request) -> RuntimeScraper:
    scraper: RuntimeScraper = request.app.state.runtime
    return scraper


async def get_model_runtime(
    name: NamePath,
    cp: ControlPlaneDep,
    who: CallerDep,
    scraper: Annotated[RuntimeScraper, Depends(runtime_scraper)],
) -> ModelRuntimeRead:
    """What each deployment's server (vLLM ``/metrics``) reported at the last scrape."""
    await service.get(cp, name, reads_everything=who.principal.reads_everything)  # 404 when unknown
    return model_runtime_read(name, scraper.interval_s, scraper.of_model(name) or [])


# Before ``GET /{name:path}``, which would take ``a/runtime`` as a name.
router.add_api_route(
    "/{name:path}/runtime",
    get_model_runtime,
    methods=["GET"],
    summary="Show a model's runtime metrics",
    route_class_override=_SentAsRuntime,
)


@router.get("/{name:path}", summary="Show a model")
async def get_model(name: NamePath, cp: ControlPlaneDep, who: CallerDep) -> ModelRead:
    return await service.get(cp, name, reads_everything=who.principal.reads_everything)


@router.put("/{name:path}", summary="Create or replace a model")
async def put_model(name: NewNamePath, body: ModelSpec, cp: ControlPlaneDep, who: CallerDep) -> ModelRead:
    return await service.put(cp, name, body, who.origin)


@router.delete("/{name:path}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a model")
async def delete_model(name: NamePath, cp: ControlPlaneDep, who: CallerDep) -> Response:
    await service.delete(cp, name, who.origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
