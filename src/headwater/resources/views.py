"""/api/v1/apply"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.resources.apply import ApplyResult, apply

router = APIRouter(tags=["apply"])


class ApplyRequest(BaseModel):
    documents: list[Any] = Field(
        description="Resource documents (apiVersion, kind, metadata, spec), spelled as in YAML: camelCase "
        "spec fields (snake_case ones are deprecated: see the result's warnings)."
    )
    dry_run: bool = False
    prune: bool = Field(
        False,
        description="Also delete the resources apply manages (created or adopted by apply) that no document "
        "names, in the same transaction; never what was made by hand, never keys. Refused with no documents.",
    )


@router.post("/apply", summary="Apply resource documents idempotently (GitOps)")
async def apply_documents(body: ApplyRequest, cp: ControlPlaneDep, who: CallerDep) -> ApplyResult:
    return await apply(cp, body.documents, who.origin, dry_run=body.dry_run, prune=body.prune)
