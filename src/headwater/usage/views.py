"""/api/v1/usage: usage and limit events, narrowed to the caller's tenant.

Admins and auditors read every event; anyone else only the events of the owners in their tenant
(themself; for a group admin, also their groups' members, service accounts and group keys). A
filter naming someone outside the tenant simply matches nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.instants import Instant
from headwater.problems import InvalidProblem
from headwater.storage.sql import limit_events
from headwater.storage.sql import usage as repo
from headwater.usage.schemas import LimitEventPage, UsagePage

router = APIRouter(prefix="/usage", tags=["usage"])


@router.get("/events", summary="Usage events, newest first (order=asc to follow new ones)")
async def list_events(
    cp: ControlPlaneDep,
    who: CallerDep,
    key_id: str | None = None,
    model: str | None = None,
    user: Annotated[str | None, Query(description="A user's name: events attributed to user:NAME")] = None,
    principal: Annotated[str | None, Query(description="Any principal, e.g. group:devs or key:ID")] = None,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Instant | None = None,
    after_id: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Only events with a larger id (to follow)")
    ] = None,
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> UsagePage:
    if user is not None and principal is not None:
        raise InvalidProblem(("query", "principal"), "give user or principal, not both")
    async with cp.read() as conn:
        try:
            items, next_cursor = await repo.page(
                conn,
                key_id=key_id,
                model=model,
                principal=f"user:{user}" if user is not None else principal,
                principals=who.tenancy.owners,
                since=from_,
                until=to,
                after_id=after_id,
                order=order,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as exc:
            raise InvalidProblem(("query", "cursor"), str(exc)) from None
    return UsagePage(items=items, next=next_cursor)


@router.get("/limit-events", summary="Calls refused or warned by a limit, budget or schedule, newest first")
async def list_limit_events(
    cp: ControlPlaneDep,
    who: CallerDep,
    principal: str | None = None,
    policy: str | None = None,
    key_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> LimitEventPage:
    async with cp.read() as conn:
        try:
            return await limit_events.page(
                conn,
                principal=principal,
                principals=who.tenancy.owners,
                policy=policy,
                key_id=key_id,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as exc:
            raise InvalidProblem(("query", "cursor"), str(exc)) from None
