"""/api/v1/audit: read, export and verify the audit trail. There are no routes that change it.

The CSV export is opened by people in spreadsheets, and some of its cells come from callers (a
detail, a name, a request id): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'`` (OWASP's advice against CSV injection), so that it is shown as text and
never run as a formula. The JSON API returns the stored values unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from headwater.admin.deps import ControlPlaneDep
from headwater.audit.chain import CONTENT_FIELDS, format_ts
from headwater.audit.schemas import AuditHead, AuditPage, AuditVerifyRead
from headwater.control import ControlPlane
from headwater.instants import Instant
from headwater.problems import InvalidProblem
from headwater.storage.sql import audit as repo

router = APIRouter(prefix="/audit", tags=["audit"])

CSV_COLUMNS = (*CONTENT_FIELDS, "prev_hash", "hash")

ActorQuery = Annotated[str | None, Query(description="Exact actor, e.g. user:alice")]
ActionQuery = Annotated[
    str | None, Query(description="Exact action (key.revoke), or a prefix ending in '.' (key.)")
]
TargetQuery = Annotated[str | None, Query(description="The target's id")]
FromQuery = Annotated[Instant | None, Query(alias="from", description="Inclusive; needs a timezone")]
ToQuery = Annotated[Instant | None, Query(description="Exclusive; needs a timezone")]
OutcomeQuery = Literal["success", "denied", "failure"] | None


def _filters(
    actor: str | None,
    action: str | None,
    target: str | None,
    from_: datetime | None,
    to: datetime | None,
    outcome: str | None,
) -> dict[str, Any]:
    filters = {"actor": actor, "action": action, "target": target, "outcome": outcome}
    return {**filters, "since": from_, "until": to}


@router.get("/events", summary="Audit events, newest first (order=asc for oldest first)")
async def list_events(
    cp: ControlPlaneDep,
    actor: ActorQuery = None,
    action: ActionQuery = None,
    target: TargetQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    outcome: OutcomeQuery = None,
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> AuditPage:
    filters = _filters(actor, action, target, from_, to, outcome)
    async with cp.read() as conn:
        try:
            items, next_cursor = await repo.page(conn, **filters, order=order, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise InvalidProblem(("query", "cursor"), str(exc)) from None
    return AuditPage(items=items, next=next_cursor)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a would-be formula gets a leading ``'``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in ("before", "after"):
        return spreadsheet_safe(json.dumps(value, sort_keys=True, separators=(",", ":")))
    if name == "ts":
        return format_ts(value)
    return spreadsheet_safe(str(value))


async def _csv(cp: ControlPlane, filters: dict[str, Any]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async with cp.read() as conn:
        count = 0
        async for event in repo.iterate(conn, **filters):
            writer.writerow([_csv_cell(name, event[name]) for name in CSV_COLUMNS])
            count += 1
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/events.csv",
    summary="Every matching audit event as CSV, oldest first",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_events(
    cp: ControlPlaneDep,
    actor: ActorQuery = None,
    action: ActionQuery = None,
    target: TargetQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    outcome: OutcomeQuery = None,
) -> StreamingResponse:
    filters = _filters(actor, action, target, from_, to, outcome)
    return StreamingResponse(
        _csv(cp, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
    )


@router.get("/head", summary="The chain's newest seq and hash (seq 0 when empty)")
async def get_head(cp: ControlPlaneDep) -> AuditHead:
    async with cp.read() as conn:
        seq, digest = await repo.head(conn)
    return AuditHead(seq=seq, hash=digest)


@router.get("/verify", summary="Verify the whole hash chain on the server")
async def verify_chain(cp: ControlPlaneDep) -> AuditVerifyRead:
    async with cp.read() as conn:
        result, (head_seq, head_hash) = await repo.verify_stored(conn)
    return AuditVerifyRead(
        ok=result.ok,
        checked=result.checked,
        first_broken_seq=result.first_broken_seq,
        reason=result.reason,
        head_seq=head_seq,
        head_hash=head_hash,
    )
