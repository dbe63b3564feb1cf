"""/api/v1/usage: usage and limit events, and the usage queries (summary, time series, top,
chargeback report), narrowed to the caller's tenant.

Admins and auditors read every event; anyone else only the events of the owners in their tenant
(themself; for a group admin, also their groups' members, service accounts and group keys). A
filter naming someone outside the tenant simply matches nothing. The queries are answered from the
raw events and the rollups (:mod:`headwater.usage.query`, :mod:`headwater.storage.sql.usage_queries`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from headwater.admin.deps import CallerDep, ControlPlaneDep
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.instants import Instant
from headwater.problems import InvalidProblem
from headwater.storage.sql import limit_events, usage_queries
from headwater.storage.sql import usage as repo
from headwater.usage import answers
from headwater.usage.dimensions import DIMENSIONS, allowed_list, parse_by
from headwater.usage.query import Query as UsageQuery
from headwater.usage.query import Tally
from headwater.usage.query_schemas import Report, Summary, Timeseries, Top
from headwater.usage.ranges import (
    DEFAULT_RANGE,
    DEFAULT_RETENTION_DAYS,
    MAX_POINTS,
    PERIOD_FORMATS,
    RangeError,
    RangeName,
    Step,
    default_step,
    outside_raw,
    point_count,
    raw_kept_from,
    resolve,
)
from headwater.usage.ranges import period as period_range
from headwater.usage.report import DEFAULT_BY, REPORT_DIMENSIONS, csv_text, report
from headwater.usage.report import filename as csv_filename
from headwater.usage.schemas import LimitEventPage, UsagePage

router = APIRouter(prefix="/usage", tags=["usage"])


@router.get("/events", summary="Usage events, newest first (order=asc to follow new ones)")
async def list_events(
    request: Request,
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
    kept_from = raw_kept_from(utcnow(), _retention_days(request))
    if from_ is not None and from_ < kept_from:
        raise InvalidProblem(("query", "from"), _kept(request, kept_from))
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


# ---- queries: summary, time series, top, chargeback report ------------------------------------
_FILTER = "Only calls with this {}; `unassigned`: those without one."
ModelFilter = Annotated[str | None, Query(description=_FILTER.format("model"))]
UserFilter = Annotated[str | None, Query(description=_FILTER.format("user (principal user:NAME)"))]
GroupFilter = Annotated[str | None, Query(description=_FILTER.format("group (at the time of the call)"))]
AccountFilter = Annotated[
    str | None, Query(alias="serviceAccount", description=_FILTER.format("service account"))
]
KeyFilter = Annotated[str | None, Query(description=_FILTER.format("API key id"))]
CostCenterFilter = Annotated[str | None, Query(alias="costCenter", description=_FILTER.format("cost center"))]
PolicyFilter = Annotated[str | None, Query(description=_FILTER.format("admitting policy"))]
ProviderFilter = Annotated[str | None, Query(description=_FILTER.format("provider"))]
DeploymentFilter = Annotated[str | None, Query(description=_FILTER.format("deployment"))]


def _filters(
    model: ModelFilter = None,
    user: UserFilter = None,
    group: GroupFilter = None,
    service_account: AccountFilter = None,
    key: KeyFilter = None,
    cost_center: CostCenterFilter = None,
    policy: PolicyFilter = None,
    provider: ProviderFilter = None,
    deployment: DeploymentFilter = None,
) -> dict[str, str]:
    given = {
        "model": model,
        "user": user,
        "group": group,
        "serviceAccount": service_account,
        "key": key,
        "costCenter": cost_center,
        "policy": policy,
        "provider": provider,
        "deployment": deployment,
    }
    return {name: value for name, value in given.items() if value is not None}


FiltersDep = Annotated[dict[str, str], Depends(_filters)]
RangeQuery = Annotated[
    RangeName | None, Query(alias="range", description="A range ending at `to` (default 24h); or give from")
]
FromQuery = Annotated[Instant | None, Query(alias="from", description="Inclusive; needs a timezone")]
ToQuery = Annotated[Instant | None, Query(description="Exclusive; needs a timezone (default: now)")]
_BY = f"Comma-separated dimensions: {allowed_list()}"


def _known(request: Request, *names: str) -> None:
    """Unknown query parameters are refused: a misspelt filter would silently widen the answer."""
    allowed = (*DIMENSIONS, *names)
    for name in request.query_params:
        if name not in allowed:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise InvalidProblem(("query", shown), f"unknown parameter: one of {', '.join(allowed)}")


def _retention_days(request: Request) -> int:
    days: int = getattr(request.app.state, "usage_retention_days", DEFAULT_RETENTION_DAYS)
    return days


def _kept(request: Request, kept_from: datetime) -> str:
    days = _retention_days(request)
    return (
        f"raw usage events are kept {days} days (HEADWATER_USAGE_RETENTION_DAYS): "
        f"from {kept_from.isoformat()} on"
    )


def _by(text: str | None, most: int, allowed: tuple[str, ...] = DIMENSIONS) -> tuple[str, ...]:
    try:
        return parse_by(text, most, allowed)
    except ValueError as exc:
        raise InvalidProblem(("query", "by"), str(exc)) from None


def _window(
    request: Request, range_: str | None, from_: datetime | None, to: datetime | None, default: str | None
) -> tuple[datetime, datetime]:
    now = utcnow()
    try:
        start, end = resolve(now, range_, from_, to, default)
    except RangeError as exc:
        raise InvalidProblem(("query", exc.field), str(exc)) from None
    return outside_raw(start, end, raw_kept_from(now, _retention_days(request)))


async def _tally(cp: ControlPlane, query: UsageQuery) -> Tally:
    tally = Tally(query)
    tally.add(await usage_queries.collect(cp.engine, query))
    return tally


@router.get("/summary", summary="Usage totals for a range, grouped by up to three dimensions")
async def get_summary(
    request: Request,
    cp: ControlPlaneDep,
    who: CallerDep,
    filters: FiltersDep,
    range_: RangeQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    by: Annotated[str | None, Query(description=_BY)] = None,
) -> Summary:
    _known(request, "range", "from", "to", "by")
    start, end = _window(request, range_, from_, to, DEFAULT_RANGE)
    query = UsageQuery(start, end, _by(by, 3), filters, who.tenancy.owners)
    return answers.summary(query, await _tally(cp, query))


@router.get("/timeseries", summary="Usage per time step (every step present), for charts")
async def get_timeseries(
    request: Request,
    cp: ControlPlaneDep,
    who: CallerDep,
    filters: FiltersDep,
    range_: RangeQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    step: Annotated[
        Step | None,
        Query(description="Default: 5m up to 6 hours (raw events kept), 1h up to 8 days, else 1d"),
    ] = None,
    by: Annotated[str | None, Query(description="One dimension: a series per value")] = None,
) -> Timeseries:
    _known(request, "range", "from", "to", "step", "by")
    start, end = _window(request, range_, from_, to, DEFAULT_RANGE)
    kept_from = raw_kept_from(utcnow(), _retention_days(request))
    chosen = step or default_step(start, end, kept_from)
    if chosen == "5m" and start < kept_from:
        message = f"5m reads raw events: {_kept(request, kept_from)}; use 1h or 1d"
        raise InvalidProblem(("query", "step"), message)
    if point_count(start, end, chosen) > MAX_POINTS:
        raise InvalidProblem(
            ("query", "step"),
            f"{chosen} gives more than {MAX_POINTS} points for this range: use a larger step",
        )
    query = UsageQuery(start, end, _by(by, 1), filters, who.tenancy.owners, chosen)
    return answers.timeseries(query, await _tally(cp, query))


@router.get("/top", summary="The top keys, users, groups or models by cost, tokens or requests")
async def get_top(
    request: Request,
    cp: ControlPlaneDep,
    who: CallerDep,
    filters: FiltersDep,
    dimension: Literal["key", "user", "group", "model"],
    metric: Literal["cost", "tokens", "requests"],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    currency: Annotated[
        str | None,
        Query(pattern=r"^[A-Z]{3}$", description="For metric cost (default: the one with the most cost)"),
    ] = None,
    range_: RangeQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
) -> Top:
    _known(request, "dimension", "metric", "limit", "currency", "range", "from", "to")
    start, end = _window(request, range_, from_, to, DEFAULT_RANGE)
    query = UsageQuery(start, end, (dimension,), filters, who.tenancy.owners)
    return answers.top(query, await _tally(cp, query), metric, limit, currency)


@router.get(
    "/report",
    summary="Chargeback: usage and cost per cost center (or group, user, key, model) for a period",
    response_model=Report,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with Accept: text/csv"}},
)
async def get_report(
    request: Request,
    cp: ControlPlaneDep,
    who: CallerDep,
    filters: FiltersDep,
    period: Annotated[str | None, Query(description=f"UTC: {PERIOD_FORMATS}; or give from and to")] = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    by: Annotated[
        str | None, Query(description=f"One or two of {allowed_list(REPORT_DIMENSIONS)} (default costCenter)")
    ] = None,
) -> Any:
    _known(request, "period", "from", "to", "by")
    if period is not None and (from_ is not None or to is not None):
        raise InvalidProblem(("query", "period"), "give a period or from/to, not both")
    if period is not None:
        try:
            start, end = period_range(period)
        except RangeError as exc:
            raise InvalidProblem(("query", exc.field), str(exc)) from None
        start, end = outside_raw(start, end, raw_kept_from(utcnow(), _retention_days(request)))
    elif from_ is None:
        raise InvalidProblem(("query", "period"), f"give a period ({PERIOD_FORMATS}) or from and to")
    else:
        start, end = _window(request, None, from_, to, None)
    dims = _by(by or DEFAULT_BY, 2, REPORT_DIMENSIONS)
    query = UsageQuery(start, end, dims, filters, who.tenancy.owners)
    answer = report(query, await _tally(cp, query), period)
    if "text/csv" in request.headers.get("accept", ""):
        rows = [row.model_dump(mode="json") for row in answer.rows]
        disposition = f'attachment; filename="{csv_filename(period, query)}"'
        return Response(
            csv_text(dims, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    return answer
