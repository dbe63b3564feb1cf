"""headwater models list | show | runtime | delete

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


RUNTIME_COLUMNS = [
    ("deployment", "Deployment"),
    ("state", "State"),
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("kv_cache", "KV cache"),
    ("ttft", "TTFT (mean)"),
    ("throughput", "Generated tok/s"),
    ("prompt", "Prompt tokens"),
    ("generation", "Generated tokens"),
    ("scraped_at", "Scraped"),
]


def _figure(value: float | None, template: str = "{:g}") -> str | None:
    return None if value is None else template.format(value)


def _state(deployment: dict[str, Any]) -> str:
    if deployment["up"]:
        return "up"
    if deployment["scraped_at"] is None:
        return "not scraped yet"
    return str(deployment["error"] or "down")


def _runtime_row(deployment: dict[str, Any]) -> dict[str, Any]:
    ttft = deployment["time_to_first_token_seconds"]
    mean = ttft["sum"] / ttft["count"] if ttft and ttft["count"] else None
    kv = deployment["kv_cache_usage_ratio"]
    return {
        "deployment": deployment["deployment"],
        "state": _state(deployment),
        "running": _figure(deployment["requests_running"]),
        "waiting": _figure(deployment["requests_waiting"]),
        "kv_cache": _figure(None if kv is None else kv * 100, "{:.1f}%"),
        "ttft": _figure(mean, "{:.3f} s"),
        "throughput": _figure(deployment["generation_tokens_per_second"], "{:.1f}"),
        "prompt": _figure(deployment["prompt_tokens_total"]),
        "generation": _figure(deployment["generation_tokens_total"]),
        "scraped_at": deployment["scraped_at"],
    }


@app.command("runtime")
def runtime(name: NameArgument, as_json: JsonFlag = False) -> None:
    """What the model's servers (vLLM /metrics) reported at the last scrape, per deployment."""
    with AdminClient() as client:
        found = client.get(path_of("models", name, "runtime"))
    if as_json:
        print_json(found)
        return
    if not found["scrape_interval_s"]:
        console.print("Model servers are not scraped (HEADWATER_RUNTIME_SCRAPE_INTERVAL_S is 0).")
    table([_runtime_row(d) for d in found["deployments"]], RUNTIME_COLUMNS, title=f"Runtime of {name}")
