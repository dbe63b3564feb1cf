"""Field checks for the Anthropic translation: each returns the value or raises WireError naming it.

``param`` is the field's path in the request (``messages[1].content[0].source``); the message
repeats it, so a client that shows only the message still learns which field was wrong.
"""

from __future__ import annotations

from typing import Any

from headwater.gateway.wire.base import WireError


def refuse(what: str, param: str) -> WireError:
    """The error for a feature the upstream cannot serve faithfully (``what`` names it)."""
    return WireError(f"{param}: {what} cannot be served by this model's provider.", param=param)


def bad(message: str, param: str) -> WireError:
    """The error for a malformed field."""
    return WireError(f"{param}: {message}", param=param)


def string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise bad("must be a string.", param)
    return value


def obj(value: object, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad("must be an object.", param)
    return value


def number(value: object, param: str, low: float, high: float) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad(f"must be a number from {low:g} to {high:g}.", param)
    return value


def integer(value: object, param: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad(f"must be an integer of at least {low}.", param)
    return value
