"""What a dashboard is made of (rows of panels and their PromQL), and the PromQL helpers.

Each dashboard is written once, in its own module (``admin_overview.py``, ``model_runtime.py``,
``team_usage.py``); ``render.py`` writes it in two formats: Grafana JSON (``grafana/*.json``) and
Perses (``perses/*.yaml``, ``kind: Dashboard``), so the two never differ. Variables are ``$model``,
``$deployment`` and ``$principal``; ``$__rate_interval`` and ``$__range`` are the built-ins both
tools provide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RATE = "$__rate_interval"
Kind = Literal["timeseries", "stat", "bars", "text"]
#: Units, as Grafana names them (render.py maps them to Perses formats).
Unit = Literal["short", "reqps", "s", "percentunit", "bytes", "currency"]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    description: str
    kind: Kind
    queries: tuple[Query, ...] = ()
    unit: Unit = "short"
    width: int = 12
    height: int = 8
    text: str = ""


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    #: ``label_values(<selector>, <name>)``: the selector whose series give the values.
    selector: str


@dataclass(frozen=True)
class Dashboard:
    file: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = field(default_factory=tuple)


def rate(selector: str, by: str = "") -> str:
    grouping = f"sum by ({by}) " if by else "sum"
    return f"{grouping}(rate({selector}[{RATE}]))"


def quantile(q: float, metric: str, matchers: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{matchers}}}[{RATE}])))"


def percentiles(metric: str, matchers: str, by: str = "model") -> tuple[Query, ...]:
    return (
        Query(quantile(0.5, metric, matchers, by), f"{{{{{by}}}}} p50"),
        Query(quantile(0.95, metric, matchers, by), f"{{{{{by}}}}} p95"),
    )


MODEL = 'model=~"$model"'
REQUESTS = f"headwater_requests_total{{{MODEL}}}"


def share(status_class: str) -> str:
    """The share of the selected models' calls answered with ``status_class``."""
    matching = f'headwater_requests_total{{{MODEL},status_class="{status_class}"}}'
    return f"{rate(matching)} / {rate(REQUESTS)}"


MODEL_VARIABLE = Variable("model", "Model", "headwater_requests_total")
