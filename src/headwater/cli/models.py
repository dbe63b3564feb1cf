"""headwater models list | show | delete

A model's name may hold ``/`` and ``:`` (``meta-llama/Llama-3.1-8B-Instruct``, ``llama3.1:8b``): it is
sent as one percent-encoded path segment (:func:`headwater.cli.client.path_of`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient, path_of
from headwater.cli.output import console, details, print_json, table

app = typer.Typer(help="Models served by the gateway.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NameArgument = Annotated[str, typer.Argument(help="The model's name, e.g. meta-llama/Llama-3.1-8B-Instruct")]
COLUMNS = [
    ("name", "Name"),
    ("kind", "Kind"),
    ("access", "Access"),
    ("status", "Status"),
    ("price", "Price per 1M in / out"),
    ("upstreams", "Deployments"),
]


def _row(model: dict[str, Any]) -> dict[str, Any]:
    pricing = model["pricing"]
    return {
        **model,
        "price": f"{pricing['input_per_million']} / {pricing['output_per_million']} {pricing['currency']}",
        "upstreams": [f"{d['base_url']} ({d['upstream_model']})" for d in model["deployments"]],
    }


@app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """List models and their deployments."""
    with AdminClient() as client:
        page = client.get("/models")
    if as_json:
        print_json(page)
        return
    table([_row(model) for model in page["items"]], COLUMNS)


@app.command("show")
def show(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Show one model."""
    with AdminClient() as client:
        model = client.get(path_of("models", name))
    if as_json:
        print_json(model)
    else:
        details(_row(model), [*COLUMNS, ("description", "Description"), ("updated_at", "Updated")])


@app.command("delete")
def delete(name: NameArgument) -> None:
    """Delete a model (its deployments and capacity limits with it)."""
    with AdminClient() as client:
        client.request("DELETE", path_of("models", name))
    console.print(f"deleted model {name}")
