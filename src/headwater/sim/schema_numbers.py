"""Numeric ranges of a JSON Schema: its bounds (drafts 4 and 6+ alike), a finite window to draw
from, and the ``multipleOf`` check every validator agrees on."""

from __future__ import annotations

from typing import Any

from headwater.sim.schema_core import number


def exact(value: float, step: float) -> bool:
    """Whether ``value / step`` is an integer in binary floating point too. Validators differ on a
    fractional ``multipleOf``: jsonschema-rs divides exactly (``0.3`` is a multiple of ``0.1``),
    Python's ``jsonschema`` and others in floating point (``0.3 / 0.1`` is ``2.9999999999999996``);
    values both accept satisfy every client."""
    return float(step).is_integer() or (value / step).is_integer()


def window(low: Any, high: Any, width: Any) -> tuple[Any, Any]:
    """Both ends of a range given one, or none (then from 1 or 0 up)."""
    if low is None and high is None:
        return (1, width) if isinstance(width, int) else (0.0, width)
    if low is None:
        return high - width, high
    if high is None:
        return low, low + width
    return low, high


def bounds(schema: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """The lower and upper bounds and whether each is exclusive (drafts 4 and 6+ alike)."""
    low, high = number(schema, "minimum"), number(schema, "maximum")
    low_x = schema.get("exclusiveMinimum") is True and low is not None
    high_x = schema.get("exclusiveMaximum") is True and high is not None
    if not isinstance(schema.get("exclusiveMinimum"), bool):
        bound = number(schema, "exclusiveMinimum")
        if bound is not None and (low is None or bound >= low):
            low, low_x = bound, True
    if not isinstance(schema.get("exclusiveMaximum"), bool):
        bound = number(schema, "exclusiveMaximum")
        if bound is not None and (high is None or bound <= high):
            high, high_x = bound, True
    return low, low_x, high, high_x
