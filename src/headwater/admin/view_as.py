"""Viewing as a user: an admin sees, read-only, what a user sees (the console's "View as").

``POST /api/v1/users/{name}/view-as`` (admins only) is the audited start: it writes ``user.view_as``
(actor: the admin, target: the user) to the audit trail and answers the user as ``GET /me`` will
show them. Then the console sends ``X-Headwater-View-As: <name>`` with each call, and the gate's
authentication (:func:`headwater.admin.auth.authenticate`) serves a call carrying it as that user:
their stored role, groups and groups administered. Only for a caller whose real role is admin
(anyone else: 403), for an active user (unknown: 404, disabled: 403), and only GET and HEAD (any
other method: 403, "read-only while viewing as <name>"). Each such call is logged at INFO; what the
audit trail records during one (a denied read) names the admin, not the user.

The header alone is honoured without a new audit entry: it gives an admin nothing they could not
already read as themself, and only narrows what they see.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request

from headwater.admin.auth import principal_for
from headwater.admin.deps import CallerDep, ControlPlaneDep, identity_config
from headwater.admin.me import MeRead
from headwater.audit.record import Entry, record_alone
from headwater.problems import ForbiddenProblem, NotFoundProblem
from headwater.storage.sql import identity as repo

log = logging.getLogger("headwater.admin")

router = APIRouter(tags=["identity"])


@router.post(
    "/users/{name}/view-as",
    summary="Start viewing as a user, read-only (audited); then send X-Headwater-View-As",
)
async def start_viewing_as(
    name: Annotated[str, Path(max_length=128)], request: Request, cp: ControlPlaneDep, who: CallerDep
) -> MeRead:
    async with cp.read() as conn:
        record = await repo.user_record(conn, name)
    if record is None:
        raise NotFoundProblem(f"user {name} not found")
    if record.status != "active":
        raise ForbiddenProblem(f"The user {name} is disabled: nothing to view as.")
    await record_alone(cp.engine, who.origin, Entry("user.view_as", "user", name))
    log.info("%s starts viewing as user:%s", who.actor, name)
    viewed = principal_for(record, identity_config(request), who.principal.via)
    return MeRead.of(viewed, viewing_as_by=who.actor)
