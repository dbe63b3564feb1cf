"""headwater usage summary | timeseries | top | report (through the admin API)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console, print_json, table

RangeOption = Annotated[str | None, typer.Option("--range", help="1h, 24h, 7d, 30d or 1y (default 24h).")]
FromOption = Annotated[str | None, typer.Option("--from", help="ISO time with a timezone (inclusive).")]
ToOption = Annotated[
    str | None, typer.Option("--to", help="ISO time with a timezone (exclusive; default now).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON answer.")]
ModelOption = Annotated[str | None, typer.Option("--model", help="Only this model.")]
UserOption = Annotated[str | None, typer.Option("--user", help="Only this user ('unassigned': no user).")]
GroupOption = Annotated[str | None, typer.Option("--group", help="Only calls made in this group.")]
AccountOption = Annotated[str | None, typer.Option("--service-account", help="Only this service account.")]
KeyOption = Annotated[str | None, typer.Option("--key", help="Only this API key id.")]
CostCenterOption = Annotated[str | None, typer.Option("--cost-center", help="Only this cost center.")]
PolicyOption = Annotated[str | None, typer.Option("--policy", help="Only calls this policy admitted.")]
ProviderOption = Annotated[str | None, typer.Option("--provider", help="Only this provider.")]
DeploymentOption = Annotated[str | None, typer.Option("--deployment", help="Only this deployment.")]

MEASURE_COLUMNS = [
    ("requests", "Requests"),
    ("success", "Success"),
    ("prompt_tokens", "Prompt"),
    ("completion_tokens", "Completion"),
    ("cost", "Cost"),
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("ttft_p50", "TTFT p50"),
]


def _filters(**given: str | None) -> dict[str, str | None]:
    names = {"service_account": "serviceAccount", "cost_center": "costCenter"}
    return {names.get(name, name): value for name, value in given.items()}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _flat(measured: dict[str, Any], dimensions: dict[str, str]) -> dict[str, Any]:
    """One table row: the dimensions, then the measures as people read them."""
    rate = measured["success_rate"]
    return {
        **dimensions,
        "requests": measured["requests"],
        "success": "-" if rate is None else f"{rate:.1%}",
        "prompt_tokens": measured["prompt_tokens"],
        "completion_tokens": measured["completion_tokens"],
        "cost": ", ".join(f"{c['amount']} {c['currency']}" for c in measured["costs"]) or "-",
        "p50": _ms(measured["latency_ms"]["p50"]),
        "p95": _ms(measured["latency_ms"]["p95"]),
        "ttft_p50": _ms(measured["ttft_ms"]["p50"]),
    }


def _dimension_columns(by: list[str]) -> list[tuple[str, str]]:
    return [(name, name) for name in by]


def summary(
    range_: RangeOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Up to 3 dimensions, e.g. model,user.")] = None,
    model: ModelOption = None,
    user: UserOption = None,
    group: GroupOption = None,
    service_account: AccountOption = None,
    key: KeyOption = None,
    cost_center: CostCenterOption = None,
    policy: PolicyOption = None,
    provider: ProviderOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Usage totals for a range, grouped by up to three dimensions."""
    filters = _filters(
        model=model,
        user=user,
        group=group,
        service_account=service_account,
        key=key,
        cost_center=cost_center,
        policy=policy,
        provider=provider,
        deployment=deployment,
    )
    with AdminClient() as client:
        answer = client.get("/usage/summary", range=range_, to=to, by=by, **{"from": from_}, **filters)
    if as_json:
        print_json(answer)
        return
    rows = [_flat(row, row["dimensions"]) for row in answer["rows"]] if answer["by"] else []
    total = _flat(answer["totals"], dict.fromkeys(answer["by"], "total") if answer["by"] else {})
    table([*rows, total], _dimension_columns(answer["by"]) + MEASURE_COLUMNS, title=_title(answer))
    if "group" in answer["by"]:
        console.print("a call counts in each of its groups: group rows may add up to more than the total")


def _title(answer: dict[str, Any]) -> str:
    return f"usage from {answer['from']} to {answer['to']}"


def timeseries(
    range_: RangeOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    step: Annotated[str | None, typer.Option("--step", help="5m, 1h or 1d (default: by the range).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="One dimension: a series per value.")] = None,
    model: ModelOption = None,
    user: UserOption = None,
    group: GroupOption = None,
    service_account: AccountOption = None,
    key: KeyOption = None,
    cost_center: CostCenterOption = None,
    policy: PolicyOption = None,
    provider: ProviderOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Usage per time step (every step present)."""
    filters = _filters(
        model=model,
        user=user,
        group=group,
        service_account=service_account,
        key=key,
        cost_center=cost_center,
        policy=policy,
        provider=provider,
        deployment=deployment,
    )
    with AdminClient() as client:
        params = {"range": range_, "from": from_, "to": to, "step": step, "by": by, **filters}
        answer = client.get("/usage/timeseries", **params)
    if as_json:
        print_json(answer)
        return
    by_names = [by] if by else []
    rows = [
        {"time": point["time"], **_flat(point, series["dimensions"])}
        for series in answer["series"]
        for point in series["points"]
    ]
    columns = [("time", "Time"), *_dimension_columns(by_names), *MEASURE_COLUMNS]
    table(rows, columns, title=f"{_title(answer)}, every {answer['step']}")


def top(
    dimension: Annotated[str, typer.Option("--dimension", help="key, user, group or model.")] = "key",
    metric: Annotated[str, typer.Option("--metric", help="cost, tokens or requests.")] = "cost",
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 10,
    currency: Annotated[str | None, typer.Option("--currency", help="For --metric cost.")] = None,
    range_: RangeOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    model: ModelOption = None,
    user: UserOption = None,
    group: GroupOption = None,
    service_account: AccountOption = None,
    key: KeyOption = None,
    cost_center: CostCenterOption = None,
    policy: PolicyOption = None,
    provider: ProviderOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """The top keys, users, groups or models by cost, tokens or requests."""
    filters = _filters(
        model=model,
        user=user,
        group=group,
        service_account=service_account,
        key=key,
        cost_center=cost_center,
        policy=policy,
        provider=provider,
        deployment=deployment,
    )
    with AdminClient() as client:
        params = {"dimension": dimension, "metric": metric, "limit": limit, "currency": currency}
        answer = client.get("/usage/top", **params, range=range_, to=to, **{"from": from_}, **filters)
    if as_json:
        print_json(answer)
        return
    rows = [
        {"rank": rank, "name": item["name"], **_flat(item, {})}
        for rank, item in enumerate(answer["items"], 1)
    ]
    ranked = f"{metric}{' in ' + answer['currency'] if answer['currency'] else ''}"
    columns = [("rank", "#"), ("name", dimension), *MEASURE_COLUMNS]
    table(rows, columns, title=f"top {dimension}s by {ranked}, {_title(answer)}")


REPORT_COLUMNS = [
    ("requests", "Requests"),
    ("prompt_tokens", "Prompt"),
    ("completion_tokens", "Completion"),
    ("total_tokens", "Total tokens"),
    ("cost", "Cost"),
    ("currency", "Currency"),
]


def report(
    period: Annotated[
        str | None,
        typer.Option("--period", help="A month (2026-11), ISO week (2026-W47) or day (2026-11-05)."),
    ] = None,
    from_: FromOption = None,
    to: ToOption = None,
    by: Annotated[
        str, typer.Option("--by", help="One or two dimensions, e.g. costCenter,model.")
    ] = "costCenter",
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE (csv or json).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
) -> None:
    """Chargeback: usage and cost per cost center (or group, user, key, model) for a period."""
    output_format = "json" if as_json else output_format
    if output_format not in ("table", "csv", "json"):
        raise CliError("--format must be table, csv or json")
    if output is not None and output_format == "table":
        raise CliError("-o writes csv or json: add --format csv or --format json")
    params = {"period": period, "from": from_, "to": to, "by": by}
    with AdminClient() as client:
        if output_format == "csv":
            _emit(client.get_text("/usage/report", "text/csv", **params), output)
            return
        answer = client.get("/usage/report", **params)
    if output_format == "json":
        _emit(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() + "\n", output)
        return
    names = answer["by"]
    title = f"usage report {answer['period'] or ''} ({answer['from']} to {answer['to']})".replace("  ", " ")
    table(answer["rows"], _dimension_columns(names) + REPORT_COLUMNS, title=title)
    table(answer["totals"], [("currency", "Currency"), *REPORT_COLUMNS[:3], ("cost", "Cost")], title="totals")
    if "group" in names:
        console.print("a call counts in each of its groups: group rows may add up to more than the totals")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    console.print(f"wrote {output}", markup=False)
