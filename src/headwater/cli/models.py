"""headwater models list"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient
from headwater.cli.output import print_json, table

app = typer.Typer(help="Models served by the gateway.", no_args_is_help=True)


def _row(model: dict[str, Any]) -> dict[str, Any]:
    pricing = model["pricing"]
    return {
        **model,
        "price": f"{pricing['input_per_million']} / {pricing['output_per_million']} {pricing['currency']}",
        "upstreams": [f"{d['base_url']} ({d['upstream_model']})" for d in model["deployments"]],
    }


@app.command("list")
def list_models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List models and their deployments."""
    with AdminClient() as client:
        page = client.get("/models")
    if as_json:
        print_json(page)
        return
    columns = [
        ("name", "Name"),
        ("kind", "Kind"),
        ("access", "Access"),
        ("status", "Status"),
        ("price", "Price per 1M in / out"),
        ("upstreams", "Deployments"),
    ]
    table([_row(model) for model in page["items"]], columns)
