"""Write the dashboards as Grafana JSON and Perses YAML: ``python deploy/dashboards/render.py``.

``--check`` writes nothing and exits 1 when a file differs from what would be written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from admin_overview import ADMIN_OVERVIEW
from model_runtime import MODEL_RUNTIME
from panels import Dashboard, Panel, Unit, Variable
from team_usage import TEAM_USAGE

HERE = Path(__file__).resolve().parent
DASHBOARDS = (ADMIN_OVERVIEW, MODEL_RUNTIME, TEAM_USAGE)
PERSES_PROJECT = "headwater"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Grafana's units, as Perses formats.
PERSES_FORMATS: dict[Unit, dict[str, Any]] = {
    "short": {"unit": "decimal"},
    "reqps": {"unit": "decimal"},
    "currency": {"unit": "decimal", "decimalPlaces": 4},
    "s": {"unit": "seconds"},
    "percentunit": {"unit": "percent-decimal"},
    "bytes": {"unit": "bytes"},
}


def layout(dashboard: Dashboard) -> list[tuple[str, list[tuple[Panel, int, int]]]]:
    """Each row's title and its panels with their x and y (in rows of 24 columns)."""
    rows = []
    for row in dashboard.rows:
        placed: list[tuple[Panel, int, int]] = []
        x = y = tallest = 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, tallest = 0, y + tallest, 0
            placed.append((panel, x, y))
            x += panel.width
            tallest = max(tallest, panel.height)
        rows.append((row.title, placed))
    return rows


# ---- Grafana ------------------------------------------------------------------------------------
def grafana_variable(variable: Variable) -> dict[str, Any]:
    query = f"label_values({variable.selector}, {variable.name})"
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": "variable"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {},
        "options": [],
        "sort": 1,
    }


def grafana_panel(panel: Panel, number: int, x: int, y: int) -> dict[str, Any]:
    common = {
        "id": number,
        "title": panel.title,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
    }
    if panel.kind == "text":
        return {**common, "type": "text", "options": {"mode": "markdown", "content": panel.text}}
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend,
        }
        for i, query in enumerate(panel.queries)
    ]
    found: dict[str, Any] = {
        **common,
        "type": {"timeseries": "timeseries", "stat": "stat", "bars": "bargauge"}[panel.kind],
        "description": panel.description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": targets,
    }
    if panel.kind == "timeseries":
        found["options"] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    else:
        found["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
        if panel.kind == "bars":
            found["options"]["orientation"] = "horizontal"
            for target in targets:
                target["instant"] = True
    return found


def grafana(dashboard: Dashboard) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    top = 0
    for title, placed in layout(dashboard):
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": top},
            }
        )
        top += 1
        bottom = top
        for panel, x, y in placed:
            panels.append(grafana_panel(panel, len(panels) + 1, x, top + y))
            bottom = max(bottom, top + y + panel.height)
        top = bottom
    datasource = {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "options": [],
        "refresh": 1,
    }
    return {
        "uid": f"headwater-{dashboard.file}",
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["headwater"],
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": [datasource, *map(grafana_variable, dashboard.variables)]},
        "panels": panels,
    }


# ---- Perses -------------------------------------------------------------------------------------
def perses_panel(panel: Panel) -> dict[str, Any]:
    display = {"name": panel.title, **({"description": panel.description} if panel.description else {})}
    if panel.kind == "text":
        return {
            "kind": "Panel",
            "spec": {"display": display, "plugin": {"kind": "Markdown", "spec": {"text": panel.text}}},
        }
    plugin: dict[str, Any]
    if panel.kind == "timeseries":
        plugin = {
            "kind": "TimeSeriesChart",
            "spec": {
                "legend": {"position": "bottom", "mode": "list"},
                "yAxis": {"format": dict(PERSES_FORMATS[panel.unit])},
            },
        }
    elif panel.kind == "stat":
        plugin = {
            "kind": "StatChart",
            "spec": {"calculation": "last-number", "format": dict(PERSES_FORMATS[panel.unit])},
        }
    else:
        plugin = {
            "kind": "BarChart",
            "spec": {
                "calculation": "last-number",
                "format": dict(PERSES_FORMATS[panel.unit]),
                "sort": "desc",
            },
        }
    queries = [
        {
            "kind": "TimeSeriesQuery",
            "spec": {
                "plugin": {
                    "kind": "PrometheusTimeSeriesQuery",
                    "spec": {
                        "query": query.expr,
                        **({"seriesNameFormat": query.legend} if query.legend else {}),
                    },
                }
            },
        }
        for query in panel.queries
    ]
    return {"kind": "Panel", "spec": {"display": display, "plugin": plugin, "queries": queries}}


def perses_variable(variable: Variable) -> dict[str, Any]:
    return {
        "kind": "ListVariable",
        "spec": {
            "name": variable.name,
            "display": {"name": variable.label},
            "allowAllValue": True,
            "allowMultiple": True,
            "customAllValue": ".*",
            "defaultValue": "$__all",
            "sort": "alphabetical-asc",
            "plugin": {
                "kind": "PrometheusLabelValuesVariable",
                "spec": {"labelName": variable.name, "matchers": [variable.selector]},
            },
        },
    }


def perses(dashboard: Dashboard) -> dict[str, Any]:
    panels: dict[str, Any] = {}
    layouts = []
    for title, placed in layout(dashboard):
        items = []
        for panel, x, y in placed:
            panels[panel.key] = perses_panel(panel)
            items.append(
                {
                    "x": x,
                    "y": y,
                    "width": panel.width,
                    "height": panel.height,
                    "content": {"$ref": f"#/spec/panels/{panel.key}"},
                }
            )
        layouts.append(
            {
                "kind": "Grid",
                "spec": {"display": {"title": title, "collapse": {"open": True}}, "items": items},
            }
        )
    return {
        "kind": "Dashboard",
        "metadata": {"name": f"headwater-{dashboard.file}", "project": PERSES_PROJECT},
        "spec": {
            "display": {"name": dashboard.title, "description": dashboard.description},
            "duration": "6h",
            "refreshInterval": "30s",
            "variables": [perses_variable(variable) for variable in dashboard.variables],
            "panels": panels,
            "layouts": layouts,
        },
    }


def files() -> dict[Path, str]:
    """Every dashboard file and its content."""
    rendered = {}
    for dashboard in DASHBOARDS:
        rendered[HERE / "grafana" / f"{dashboard.file}.json"] = (
            json.dumps(grafana(dashboard), indent=2) + "\n"
        )
        rendered[HERE / "perses" / f"{dashboard.file}.yaml"] = yaml.safe_dump(
            perses(dashboard), sort_keys=False, width=100, allow_unicode=True
        )
    return rendered


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in files().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(HERE))
        if not check:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
    if check and stale:
        print("stale (run python deploy/dashboards/render.py):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
