"""Opaque cursors for ``{"items": [...], "next": ...}`` pages."""

from __future__ import annotations

import base64
from typing import Any

import orjson


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Raises ValueError on anything that is not a cursor we made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(values, list) or not all(_fits(value) for value in values):
        raise ValueError("invalid cursor")
    return values


def _fits(value: Any) -> bool:
    """What our cursors hold: ids and keys the database can compare (64-bit integers, short text)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= 256
