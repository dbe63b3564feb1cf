"""The dashboards in deploy/dashboards/ ask only for metrics Headwater really exposes.

Every PromQL expression of every Grafana and Perses dashboard (panel queries and the selectors of
the variables) is parsed with a PromQL parser; each metric it names must be a sample name on the
``/metrics`` of a real Headwater after real calls (and a model server's runtime metrics read), and
each label it matches on must be one of that metric's labels.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import promql_parser
import pytest
import yaml

from tests.support import Server, Sim, apply, create_key, database, model_doc, start_server, stop, wait_for
from tests.usage.scrape import Scrape, scrape

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "dashboards"
#: The time built-ins of Grafana and Perses, which a range selector may hold.
BUILTIN_RANGES = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]


def grafana_expressions(path: Path) -> Iterator[str]:
    dashboard = json.loads(path.read_text())

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found = LABEL_VALUES.match(variable["definition"])
            assert found, variable["definition"]
            yield found["selector"]


def perses_expressions(path: Path) -> Iterator[str]:
    dashboard = yaml.safe_load(path.read_text())
    assert dashboard["kind"] == "Dashboard"
    spec = dashboard["spec"]
    for panel in spec["panels"].values():
        for query in panel["spec"].get("queries", []):
            yield query["spec"]["plugin"]["spec"]["query"]
    for variable in spec.get("variables", []):
        plugin = variable["spec"]["plugin"]
        yield from plugin["spec"].get("matchers", [])
        if "expr" in plugin["spec"]:
            yield plugin["spec"]["expr"]


def expressions() -> list[tuple[str, str]]:
    """(dashboard file, PromQL) for every expression of every dashboard."""
    found = [
        (path.name, expr)
        for path in sorted(DASHBOARDS.glob("grafana/*.json"))
        for expr in grafana_expressions(path)
    ]
    found += [
        (path.name, expr)
        for path in sorted(DASHBOARDS.glob("perses/*.yaml"))
        for expr in perses_expressions(path)
    ]
    return found


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Each metric ``expr`` selects, with the labels it matches on."""
    parsed = promql_parser.parse(BUILTIN_RANGES.sub("5m", expr))
    found: list[tuple[str, set[str]]] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers.matchers
            name = node.name or next((m.value for m in matchers if m.name == "__name__"), None)
            assert name, f"a selector without a metric name in {expr}"
            found.append((name, {m.name for m in matchers if m.name != "__name__"}))

    promql_parser.walk(parsed, visit)
    return found


def test_the_dashboard_files_are_rendered_from_their_definitions() -> None:
    result = subprocess.run(
        [sys.executable, str(DASHBOARDS / "render.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_dashboard_is_there_in_both_formats() -> None:
    names = {"admin-overview", "model-runtime", "team-usage"}
    assert {path.stem for path in DASHBOARDS.glob("grafana/*.json")} == names
    assert {path.stem for path in DASHBOARDS.glob("perses/*.yaml")} == names
    per_file: dict[str, int] = {}
    for file, _ in expressions():
        per_file[file] = per_file.get(file, 0) + 1
    assert len(per_file) == 6 and min(per_file.values()) >= 5


@pytest.fixture(scope="module")
def exposed(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    """/metrics of a real server after calls of every kind, with principal labels and runtime metrics."""
    env = {"HEADWATER_METRICS_PRINCIPAL_LABELS": "true", "HEADWATER_RUNTIME_SCRAPE_INTERVAL_S": "0.5"}
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        server = start_server(url, extra_env=env)
        try:
            yield exercised(server, sim)
        finally:
            stop(server.process)


def exercised(server: Server, sim: Sim) -> Scrape:
    apply(
        server,
        model_doc("d-chat", sim.url),
        model_doc("d-limited", sim.url, limits=[{"requests": 1, "window": "1h"}]),
        model_doc("d-broken", sim.url, upstream="x:fail-500"),
    )
    with openai.OpenAI(base_url=server.v1, api_key=create_key(server)["key"], max_retries=0) as sdk:
        sdk.chat.completions.create(model="d-chat", messages=MESSAGES)
        for _ in sdk.chat.completions.create(model="d-chat", messages=MESSAGES, stream=True):
            pass
        sdk.chat.completions.create(model="d-limited", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError):
            sdk.chat.completions.create(model="d-limited", messages=MESSAGES)
        with pytest.raises(openai.APIStatusError):
            sdk.chat.completions.create(model="d-broken", messages=MESSAGES)

    def complete() -> Scrape | None:
        found = scrape(server.url)
        wanted = (
            "headwater_upstream_errors_total",
            "headwater_limit_refusals_total",
            "headwater_time_per_output_token_seconds_count",
            "headwater_model_runtime_up",
            "headwater_model_time_to_first_token_seconds_bucket",
            "headwater_model_generation_tokens_total",
        )
        return found if all(found.series(name) for name in wanted) else None

    result: Scrape = wait_for(complete, timeout=20, interval=0.25)
    return result


@pytest.mark.parametrize(("file", "expr"), expressions())
def test_each_expression_names_exposed_metrics_and_labels(exposed: Scrape, file: str, expr: str) -> None:
    for name, labels in selectors(expr):
        assert name in exposed.names(), f"{file}: {name} is not on /metrics ({expr})"
        known = {label for series in exposed.series(name) for label in series}
        assert labels <= known, f"{file}: {name} has no label {labels - known} ({expr})"
