"""headwater policies list | show | create | delete"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient
from headwater.cli.output import console, details, print_json, table

app = typer.Typer(help="Policies (tiers): access, limits, budgets, schedules.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _summary(policy: dict[str, Any]) -> dict[str, Any]:
    models = policy["assets"]["models"]
    targets = policy["targets"]
    limits = [
        ", ".join(
            f"{limit[m]} {m}" for m in ("requests", "tokens", "inputTokens", "outputTokens") if limit.get(m)
        )
        + f" / {limit['window']} per {limit['scope']}"
        for limit in policy["limits"]
    ]
    budget = policy.get("budget")
    return {
        **policy,
        "models": models if models == "all" else ", ".join(models),
        "who": ", ".join(
            [f"group:{g}" for g in targets["groups"]]
            + [f"user:{u}" for u in targets["users"]]
            + [f"serviceaccount:{s}" for s in targets["serviceAccounts"]]
        ),
        "limit_text": "; ".join(limits),
        "budget_text": f"{budget['amount']} {budget['currency']} {budget['period']}" if budget else None,
    }


COLUMNS = [
    ("name", "Name"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("models", "Models"),
    ("who", "Targets"),
    ("limit_text", "Limits"),
    ("budget_text", "Budget"),
    ("overLimit", "Over limit"),
]


@app.command("list")
def list_policies(as_json: JsonFlag = False) -> None:
    """List policies."""
    with AdminClient() as client:
        page = client.get("/policies")
    if as_json:
        print_json(page)
    else:
        table([_summary(p) for p in page["items"]], COLUMNS)


@app.command("show")
def show(name: str, as_json: JsonFlag = False) -> None:
    """Show one policy."""
    with AdminClient() as client:
        policy = client.get(f"/policies/{name}")
    if as_json:
        print_json(policy)
    else:
        details(
            _summary(policy), [*COLUMNS, ("description", "Description"), ("nextRenewal", "Budget renews")]
        )


@app.command("create")
def create(
    name: str,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help="A model it covers (repeatable); none: all open models."),
    ] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="A targeted group (repeatable).")] = None,
    user: Annotated[list[str] | None, typer.Option("--user", help="A targeted user (repeatable).")] = None,
    service_account: Annotated[list[str] | None, typer.Option("--service-account")] = None,
    requests: Annotated[int | None, typer.Option("--requests", min=1, help="Requests per --window.")] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", min=1, help="Tokens per --window.")] = None,
    window: Annotated[str, typer.Option("--window", help="30s, 1m, 1h, 1d")] = "1m",
    scope: Annotated[str, typer.Option("--scope", help="user, key, group or policy")] = "user",
    budget: Annotated[str | None, typer.Option("--budget", help="Amount per --period, e.g. 50.00")] = None,
    currency: Annotated[str, typer.Option("--currency")] = "USD",
    period: Annotated[str, typer.Option("--period", help="daily, weekly or monthly")] = "monthly",
    soft: Annotated[bool, typer.Option("--soft", help="Warn instead of refusing over the limits.")] = False,
    priority: Annotated[int, typer.Option("--priority")] = 0,
    description: Annotated[str, typer.Option("--description")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a policy (for every field, write a Policy document and use `headwater apply`)."""
    limit: dict[str, Any] = {"window": window, "scope": scope}
    if requests:
        limit["requests"] = requests
    if tokens:
        limit["tokens"] = tokens
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "assets": {"models": model or "all"},
        "targets": {"groups": group or [], "users": user or [], "serviceAccounts": service_account or []},
        "limits": [limit] if requests or tokens else [],
        "overLimit": "soft" if soft else "hard",
        "priority": priority,
    }
    if budget is not None:
        body["budget"] = {"amount": budget, "currency": currency, "period": period, "scope": scope}
    with AdminClient() as client:
        created = client.post("/policies", body)
    if as_json:
        print_json(created)
    else:
        console.print(f"created policy {created['name']}")


@app.command("delete")
def delete(name: str) -> None:
    """Delete a policy."""
    with AdminClient() as client:
        client.request("DELETE", f"/policies/{name}")
    console.print(f"deleted policy {name}")
