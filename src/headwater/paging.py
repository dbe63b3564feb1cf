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
    if not isinstance(values, list):
        raise ValueError("invalid cursor")
    return values
