"""Accessibility checks with axe-core (the console's own copy, ui/node_modules/axe-core).

axe is evaluated in the page through the DevTools protocol (``page.evaluate``), not added as a
``<script>``: the console's Content-Security-Policy allows scripts from its own origin only, and the
test keeps that policy on.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "ui" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
#: WCAG 2.x A and AA, and axe's best practices.
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci --prefix ui` (or `make console`)")
    return AXE.read_text()


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Every axe violation on the page as it is now (WCAG 2.x A and AA rules and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        """async (RULES) => await window.axe.run(document, {
            resultTypes: ['violations'],
            runOnly: {type: 'tag', values: RULES},
        })""",
        RULES,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [violation for violation in violations if violation.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as a reader wants them: rule, impact, what is wrong, where (a few nodes each)."""
    lines = []
    for violation in violations:
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            target = " ".join(str(part) for part in node.get("target", []))
            lines.append(f"    at {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
            lines.append(f"      {node.get('html', '')[:200]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)
